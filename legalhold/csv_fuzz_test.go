package legalhold_test

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"

	"github.com/holdfast/holdfast/legalhold"
)

// FuzzParseCSV: any file either is refused whole or gives at most 500
// rows in increasing line order, and the report written from them is CSV
// whose echoed cells never start a formula.
func FuzzParseCSV(f *testing.F) {
	f.Add("email\nann@example.com\n")
	f.Add("Name,Email\r\n\"Lee, Ann\",ann@example.com\r\nEve,=HYPERLINK(\"x\")\r\n")
	f.Add("\ufeff\"unterminated\nb@example.com\n")
	f.Add("@SUM(1),+1,-1\n\t=1\n")
	f.Fuzz(func(t *testing.T, in string) {
		rows, err := legalhold.ParseCSV(strings.NewReader(in))
		if err != nil {
			return
		}
		if len(rows) == 0 || len(rows) > legalhold.MaxCSVRows {
			t.Fatalf("%d rows", len(rows))
		}
		results := make([]legalhold.RowResult, 0, len(rows))
		last := 0
		for _, r := range rows {
			if r.Line < last {
				t.Fatalf("line %d after %d", r.Line, last)
			}
			last = r.Line
			results = append(results, legalhold.RowResult{Line: r.Line, Email: legalhold.SafeCell(r.Email), Status: legalhold.StatusMalformed, Message: r.Problem})
		}
		var buf bytes.Buffer
		if err := legalhold.WriteReport(&buf, results); err != nil {
			t.Fatal(err)
		}
		recs, err := csv.NewReader(&buf).ReadAll()
		if err != nil {
			t.Fatalf("the report is not CSV: %v", err)
		}
		for _, rec := range recs[1:] {
			for _, cell := range rec {
				if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
					t.Fatalf("cell %q starts a formula", cell)
				}
			}
		}
	})
}
