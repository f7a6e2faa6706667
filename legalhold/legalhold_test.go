package legalhold_test

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/legalhold"
)

func TestParseDataAccess(t *testing.T) {
	tests := []struct{ label, want string }{
		{"", holdfast.AccessAllData},
		{"all", holdfast.AccessAllData},
		{"All Collected Data", holdfast.AccessAllData},
		{"all backup data", holdfast.AccessAllData},
		{"Last Collected Data", holdfast.AccessLastData},
		{"Last Backup Data", holdfast.AccessLastData},
		{"Data within a Date Range", holdfast.AccessDateRange},
		{"Data within a Data Range", holdfast.AccessDateRange}, // the misspelled schema (C24)
		{"date_range", holdfast.AccessDateRange},
	}
	for _, tt := range tests {
		got, err := legalhold.ParseDataAccess(tt.label)
		if err != nil || got != tt.want {
			t.Errorf("ParseDataAccess(%q) = %q, %v; want %q", tt.label, got, err, tt.want)
		}
	}
	for _, bad := range []string{"everything", "All Data", "last-data"} {
		if _, err := legalhold.ParseDataAccess(bad); !errors.Is(err, holdfast.ErrInvalid) {
			t.Errorf("ParseDataAccess(%q) error = %v, want ErrInvalid", bad, err)
		}
	}
}

func day(s string) *time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return &t
}

func TestNormalize(t *testing.T) {
	known := func(s string) bool { return s == "endpoints" || s == "exchange_online" }
	tests := []struct {
		name   string
		in     holdfast.LegalHold
		fields []string // fields reported invalid; none: valid
	}{
		{"minimal", holdfast.LegalHold{Name: " Case 1 "}, nil},
		{"no name", holdfast.LegalHold{Name: "  "}, []string{"name"}},
		{"slash in name", holdfast.LegalHold{Name: "a/b"}, []string{"name"}},
		{"control char", holdfast.LegalHold{Name: "a\nb"}, []string{"name"}},
		{"long name", holdfast.LegalHold{Name: strings.Repeat("x", 101)}, []string{"name"}},
		{"unknown access", holdfast.LegalHold{Name: "x", DataAccess: "some"}, []string{"data_access"}},
		{"range without dates", holdfast.LegalHold{Name: "x", DataAccess: "Data within a Date Range"}, []string{"date_range"}},
		{"range reversed", holdfast.LegalHold{Name: "x", DataAccess: "date_range", From: day("2026-02-01"), To: day("2026-01-01")}, []string{"date_range"}},
		{"dates without range", holdfast.LegalHold{Name: "x", DataAccess: "all", From: day("2026-01-01")}, []string{"date_range"}},
		{"range", holdfast.LegalHold{Name: "x", DataAccess: "date_range", From: day("2026-01-01"), To: day("2026-01-01")}, nil},
		{"unknown source", holdfast.LegalHold{Name: "x", Sources: []string{"endpoints", "myspace"}}, []string{"sources"}},
		{"everything wrong", holdfast.LegalHold{Name: "", DataAccess: "?", Sources: []string{"?"}}, []string{"name", "data_access", "sources"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := tt.in
			err := legalhold.Normalize(&h, known)
			var got []string
			var v *holdfast.ValidationError
			if errors.As(err, &v) {
				for _, f := range v.Fields {
					got = append(got, f.Field)
				}
			} else if err != nil {
				t.Fatalf("error %v is not a ValidationError", err)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.fields) {
				t.Errorf("invalid fields = %v, want %v (%v)", got, tt.fields, err)
			}
		})
	}
	h := holdfast.LegalHold{Name: " Case ", DataAccess: "Last Collected Data", Sources: []string{"exchange_online", "endpoints", "exchange_online"}}
	if err := legalhold.Normalize(&h, known); err != nil {
		t.Fatal(err)
	}
	if h.Name != "Case" || h.DataAccess != holdfast.AccessLastData || fmt.Sprint(h.Sources) != "[endpoints exchange_online]" {
		t.Errorf("normalized = %+v", h)
	}
}

func TestExposes(t *testing.T) {
	rng := holdfast.LegalHold{DataAccess: holdfast.AccessDateRange, From: day("2026-01-10"), To: day("2026-01-20")}
	end, _ := legalhold.ParseBound("2026-01-20", true)
	rng.To = &end
	at := func(s string) time.Time { return *day(s) }
	var zero time.Time
	tests := []struct {
		name                       string
		h                          holdfast.LegalHold
		created, modified, deleted time.Time
		want                       bool
	}{
		{"all", holdfast.LegalHold{DataAccess: holdfast.AccessAllData}, at("2020-01-01"), zero, zero, true},
		{"created in range", rng, at("2026-01-10"), zero, zero, true},
		{"modified in range", rng, at("2025-01-01"), at("2026-01-15"), zero, true},
		{"deleted in range", rng, at("2025-01-01"), at("2025-02-01"), at("2026-01-20").Add(23 * time.Hour), true},
		{"all outside", rng, at("2025-01-01"), at("2026-01-21"), zero, false},
		{"unknown times", rng, zero, zero, zero, false},
		{"deleted only, not deleted", holdfast.LegalHold{DataAccess: holdfast.AccessAllData, DeletedFilesOnly: true}, at("2026-01-01"), zero, zero, false},
		{"deleted only, deleted", holdfast.LegalHold{DataAccess: holdfast.AccessAllData, DeletedFilesOnly: true}, at("2026-01-01"), zero, at("2026-01-02"), true},
		{"range without bounds", holdfast.LegalHold{DataAccess: holdfast.AccessDateRange}, at("2026-01-15"), zero, zero, false},
	}
	for _, tt := range tests {
		if got := legalhold.Exposes(tt.h, tt.created, tt.modified, tt.deleted); got != tt.want {
			t.Errorf("%s: Exposes = %v, want %v", tt.name, got, tt.want)
		}
	}
	if !legalhold.CoversSource(holdfast.LegalHold{}, "onedrive", "microsoft_365") ||
		!legalhold.CoversSource(holdfast.LegalHold{Sources: []string{"microsoft_365"}}, "onedrive", "microsoft_365") ||
		legalhold.CoversSource(holdfast.LegalHold{Sources: []string{"endpoints"}}, "onedrive", "microsoft_365") {
		t.Error("CoversSource")
	}
}

func TestParseCSV(t *testing.T) {
	in := "Name,Email\r\nAnn,ann@example.com\r\n\r\nBob,\"bob@example.com\"\nEve,\"=HYPERLINK(\"\"x\"\")\nZed,zed@example.com\n"
	rows, err := legalhold.ParseCSV(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rows {
		got = append(got, fmt.Sprintf("%d:%s:%v", r.Line, r.Email, r.Problem != ""))
	}
	// The bare quote after HYPERLINK swallows the rest: csv reports it.
	if len(rows) < 3 || got[0] != "2:ann@example.com:false" || got[1] != "4:bob@example.com:false" {
		t.Errorf("rows = %v", got)
	}
	// No header: the first column.
	rows, err = legalhold.ParseCSV(strings.NewReader("a@example.com\nb@example.com,extra\n"))
	if err != nil || len(rows) != 2 || rows[1].Email != "b@example.com" || rows[0].Line != 1 {
		t.Errorf("headerless rows = %+v, %v", rows, err)
	}
	// A byte order mark does not hide the header.
	rows, err = legalhold.ParseCSV(strings.NewReader("\ufeffemail\nc@example.com\n"))
	if err != nil || len(rows) != 1 || rows[0].Email != "c@example.com" {
		t.Errorf("BOM rows = %+v, %v", rows, err)
	}
}

func TestParseCSVLimits(t *testing.T) {
	var b strings.Builder
	b.WriteString("email\n")
	for i := range legalhold.MaxCSVRows {
		fmt.Fprintf(&b, "u%d@example.com\n", i)
	}
	if rows, err := legalhold.ParseCSV(strings.NewReader(b.String())); err != nil || len(rows) != legalhold.MaxCSVRows {
		t.Fatalf("%d rows: %d, %v", legalhold.MaxCSVRows, len(rows), err)
	}
	b.WriteString("one-more@example.com\n")
	if _, err := legalhold.ParseCSV(strings.NewReader(b.String())); !errors.Is(err, holdfast.ErrInvalid) || !strings.Contains(err.Error(), "more than 500") {
		t.Errorf("501 rows: %v, want ErrInvalid naming the limit", err)
	}
	big := strings.Repeat("x", legalhold.MaxCSVBytes+1)
	if _, err := legalhold.ParseCSV(strings.NewReader(big)); !errors.Is(err, holdfast.ErrInvalid) || !strings.Contains(err.Error(), "bytes") {
		t.Errorf("oversized file: %v", err)
	}
	if _, err := legalhold.ParseCSV(strings.NewReader("email\n\n")); !errors.Is(err, holdfast.ErrInvalid) {
		t.Errorf("empty file: %v", err)
	}
}

func TestSafeCell(t *testing.T) {
	tests := []struct{ in, want string }{
		{"=1+2", "'=1+2"}, {"+1", "'+1"}, {"-1", "'-1"}, {"@SUM(A1)", "'@SUM(A1)"},
		{"\t=1", "'\t=1"}, {"ann@example.com", "ann@example.com"}, {"", ""},
	}
	for _, tt := range tests {
		if got := legalhold.SafeCell(tt.in); got != tt.want {
			t.Errorf("SafeCell(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	var buf bytes.Buffer
	if err := legalhold.WriteReport(&buf, []legalhold.RowResult{{Line: 2, Email: "=cmd|' /C calc'!A0", Status: legalhold.StatusMalformed}}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "\r\n2,'=cmd|' /C calc'!A0,malformed,\r\n") {
		t.Errorf("report = %q", buf.String())
	}
}

func TestCredential(t *testing.T) {
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	exp := now.Add(time.Hour)
	c, pw, err := legalhold.NewCredential("acct", "hold", "admin", now, &exp)
	if err != nil {
		t.Fatal(err)
	}
	if !legalhold.IsHoldUser(c.UserName) || len(pw.Reveal()) != 43 || bytes.Contains(c.Hash, []byte(pw.Reveal())) {
		t.Errorf("credential %+v, password length %d", c, len(pw.Reveal()))
	}
	if fmt.Sprint(pw) != "REDACTED" {
		t.Error("the password prints")
	}
	if !legalhold.CheckPassword(c, pw.Reveal(), now) {
		t.Error("the right password is refused")
	}
	if legalhold.CheckPassword(c, pw.Reveal()+"x", now) || legalhold.CheckPassword(c, "", now) {
		t.Error("a wrong password opens it")
	}
	if legalhold.CheckPassword(c, pw.Reveal(), exp) {
		t.Error("an expired credential opens it")
	}
	c2, pw2, _ := legalhold.NewCredential("acct", "hold", "admin", now, nil)
	if c2.UserName == c.UserName || pw2 == pw || !legalhold.CheckPassword(c2, pw2.Reveal(), now.AddDate(10, 0, 0)) {
		t.Error("credentials repeat, or one without expiry expires")
	}
	// No password reads as a command-line option (1 in 64 would).
	for range 1000 {
		_, pw, err := legalhold.NewCredential("acct", "hold", "admin", now, nil)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(pw.Reveal(), "-") || len(pw.Reveal()) != 43 {
			t.Fatalf("password %q", pw.Reveal())
		}
	}
}
