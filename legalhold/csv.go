package legalhold

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/holdfast/holdfast"
)

// Limits of one custodian CSV file: at most MaxCSVRows custodians (S001,
// W14, W16: more users need several files) and MaxCSVBytes bytes. A file
// over either limit is refused whole.
const (
	MaxCSVRows  = 500
	MaxCSVBytes = 256 << 10
)

// RowStatus is what happened to one row of a custodian CSV file.
type RowStatus string

// Row statuses.
const (
	StatusAdded         RowStatus = "added"
	StatusAlreadyOnHold RowStatus = "already_on_hold"
	StatusUnknownUser   RowStatus = "unknown_user"
	StatusMalformed     RowStatus = "malformed"
	StatusDuplicate     RowStatus = "duplicate"
)

// CSVRow is one data row of a custodian file.
type CSVRow struct {
	Line  int    // line of the file the row starts on, from 1
	Email string // the cell as written, trimmed
	// Problem is set when the row cannot be read (bad quoting); Email is
	// then empty.
	Problem string
}

// RowResult is the report of one row. Email is the cell as written,
// neutralized (see SafeCell): it is echoed back and may be opened in a
// spreadsheet.
type RowResult struct {
	Line    int       `json:"line"`
	Email   string    `json:"email"`
	Status  RowStatus `json:"status"`
	Message string    `json:"message,omitempty"`
}

// ParseCSV reads a custodian file: one email per row, in the column headed
// "email" (or "email address") when the first row is such a header, else
// in the first column. Blank rows are skipped. A file over MaxCSVBytes or
// with more than MaxCSVRows rows, or without any row, is ErrInvalid and
// nothing of it is used.
func ParseCSV(r io.Reader) ([]CSVRow, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxCSVBytes+1))
	if err != nil {
		return nil, fmt.Errorf("legalhold: read CSV: %w", err)
	}
	if len(data) > MaxCSVBytes {
		return nil, fmt.Errorf("%w: the CSV file is over %d bytes; split it into files of at most %d custodians", holdfast.ErrInvalid, MaxCSVBytes, MaxCSVRows)
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // a spreadsheet's UTF-8 byte order mark
	cr := csv.NewReader(bytes.NewReader(data))
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	// A bare quote in a cell is data (an echoed formula must still be
	// reported), not a reason to lose the row.
	cr.LazyQuotes = true
	var (
		rows   []CSVRow
		column = 0
		first  = true
	)
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		var perr *csv.ParseError
		if errors.As(err, &perr) {
			// The reader resumes after a bad record; the row is reported
			// and the others are still read.
			rows = append(rows, CSVRow{Line: perr.StartLine, Problem: "the row is not valid CSV: " + perr.Err.Error()})
			first = false
		} else if err != nil {
			return nil, fmt.Errorf("legalhold: read CSV: %w", err)
		} else {
			if first {
				first = false
				if i := headerColumn(rec); i >= 0 {
					column = i
					continue
				}
			}
			cell := ""
			if column < len(rec) {
				cell = strings.TrimSpace(rec[column])
			}
			if cell == "" && blank(rec) {
				continue
			}
			line, _ := cr.FieldPos(0)
			rows = append(rows, CSVRow{Line: line, Email: cell})
		}
		if len(rows) > MaxCSVRows {
			return nil, fmt.Errorf("%w: the CSV file has more than %d custodians; split it into several files", holdfast.ErrInvalid, MaxCSVRows)
		}
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("%w: the CSV file holds no custodians", holdfast.ErrInvalid)
	}
	return rows, nil
}

// headerColumn returns the index of the email column when rec is a header
// row, else -1.
func headerColumn(rec []string) int {
	for i, c := range rec {
		switch strings.ToLower(strings.TrimSpace(c)) {
		case "email", "email address", "e-mail", "emails":
			return i
		}
	}
	return -1
}

func blank(rec []string) bool {
	for _, c := range rec {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}

// ImportCustodians adds the rows' users to the hold through tx and reports
// each row, in file order: added, already on this hold, unknown user
// (including deleted users), malformed (not a plain email address, or not
// readable as CSV), or a duplicate of an earlier row. The hold must exist
// (ErrNotFound).
func ImportCustodians(ctx context.Context, tx holdfast.MetaStore, accountID, holdID string, rows []CSVRow, by string, at time.Time) ([]RowResult, error) {
	if _, err := tx.GetHold(ctx, accountID, holdID); err != nil {
		return nil, err
	}
	on, err := custodianSet(ctx, tx, accountID, holdID)
	if err != nil {
		return nil, err
	}
	out := make([]RowResult, 0, len(rows))
	firstLine := map[string]int{}
	for _, row := range rows {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		res := RowResult{Line: row.Line, Email: SafeCell(row.Email)}
		email, ok := NormalizeEmail(row.Email)
		switch {
		case row.Problem != "":
			res.Status, res.Message = StatusMalformed, row.Problem
		case !ok:
			res.Status, res.Message = StatusMalformed, "not a plain email address like jane@example.com"
		case firstLine[email] != 0:
			res.Status, res.Message = StatusDuplicate, fmt.Sprintf("the same email as line %d", firstLine[email])
		default:
			firstLine[email] = row.Line
			st, err := addOne(ctx, tx, accountID, holdID, email, on, by, at)
			if err != nil {
				return nil, err
			}
			res.Status = st
			if st == StatusUnknownUser {
				res.Message = "no user of the account has this email"
			}
		}
		out = append(out, res)
	}
	return out, nil
}

// SafeCell neutralizes a value echoed back in a report that may be opened
// in a spreadsheet: a cell starting with = + - @ (or a tab or carriage
// return, which some spreadsheets skip before one) is prefixed with an
// apostrophe, so it is shown as text and never evaluated as a formula.
func SafeCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// WriteReport writes the row results as CSV (line, email, status,
// message), every echoed cell neutralized.
func WriteReport(w io.Writer, results []RowResult) error {
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	if err := cw.Write([]string{"line", "email", "status", "message"}); err != nil {
		return err
	}
	for _, r := range results {
		if err := cw.Write([]string{fmt.Sprint(r.Line), SafeCell(r.Email), string(r.Status), SafeCell(r.Message)}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
