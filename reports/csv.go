package reports

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"time"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/legalhold"
)

// WriteCSV writes the whole of report id for p as CSV (a header of column
// titles, then every row), a page at a time, so memory stays that of one
// page however long the report. Every cell is neutralized against formula
// injection (legalhold.SafeCell). Refusals and bad filters are returned
// before anything is written.
func (s *Service) WriteCSV(ctx context.Context, w io.Writer, p holdfast.Principal, id string, q Query) error {
	_, err := s.writeCSV(ctx, w, p, id, q)
	return err
}

// writeCSV is WriteCSV, counting the rows written.
func (s *Service) writeCSV(ctx context.Context, w io.Writer, p holdfast.Principal, id string, q Query) (int, error) {
	pg := holdfast.Page{Limit: holdfast.MaxPageSize}
	d, err := s.prepare(ctx, p, id, q, pg)
	if err != nil {
		return 0, err
	}
	res, err := d.page(ctx, s, p, q, pg)
	if err != nil {
		return 0, err
	}
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	header := make([]string, len(d.Columns))
	for i, c := range d.Columns {
		header[i] = c.Title
	}
	if err := cw.Write(header); err != nil {
		return 0, err
	}
	n := 0
	for {
		for _, r := range res.Rows {
			if err := cw.Write(cells(d.Columns, r)); err != nil {
				return n, err
			}
			n++
		}
		cw.Flush()
		if err := cw.Error(); err != nil || res.Next == "" {
			return n, err
		}
		if err := ctx.Err(); err != nil {
			return n, err
		}
		pg.Cursor = res.Next
		if res, err = d.page(ctx, s, p, q, pg); err != nil {
			return n, err
		}
	}
}

// cells renders a row in column order: times in RFC 3339 (UTC), nothing
// for an absent value.
func cells(cols []Column, r Row) []string {
	out := make([]string, len(cols))
	for i, c := range cols {
		switch v := r[c.ID].(type) {
		case nil:
		case time.Time:
			out[i] = v.UTC().Format(time.RFC3339)
		case string:
			out[i] = legalhold.SafeCell(v)
		default:
			out[i] = legalhold.SafeCell(fmt.Sprint(v))
		}
	}
	return out
}
