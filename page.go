package holdfast

import (
	"encoding/base64"
	"encoding/json"
	"strconv"
)

// Page sizes every list endpoint honours: a caller may ask for fewer, never
// for more, and a list never returns everything at once.
const (
	DefaultPageSize = 100
	MaxPageSize     = 1000
)

// Page asks for one page of a list: at most Limit items after Cursor, in the
// list's stable order. The zero Page is the first page of DefaultPageSize.
type Page struct {
	// Cursor is opaque to callers: the Next of the previous page, or "".
	Cursor string
	Limit  int
}

// Size is the page size to use: Limit bounded to [1, MaxPageSize],
// DefaultPageSize when unset.
func (p Page) Size() int {
	switch {
	case p.Limit <= 0:
		return DefaultPageSize
	case p.Limit > MaxPageSize:
		return MaxPageSize
	}
	return p.Limit
}

// Validate refuses a limit outside [0, MaxPageSize] and a cursor that does
// not decode, naming the field.
func (p Page) Validate() error {
	var v ValidationError
	if p.Limit < 0 || p.Limit > MaxPageSize {
		v.Add("limit", "must be between 1 and %d", MaxPageSize)
	}
	if p.Cursor != "" {
		if _, err := DecodeCursor(p.Cursor); err != nil {
			v.Add("cursor", "is not a cursor this list returned")
		}
	}
	return v.Err()
}

// Paged is one page of a list: its items, the cursor of the next page ("" on
// the last page) and the total number of items matching the filter in the
// caller's scope (not only on this page).
type Paged[T any] struct {
	Items []T
	Next  string
	Total int
}

// EncodeCursor makes an opaque cursor from the sort key of the last item of
// a page (for example its name and id, so that ties break by id).
func EncodeCursor(key ...string) string {
	b, _ := json.Marshal(key) // a []string always marshals
	return base64.RawURLEncoding.EncodeToString(b)
}

// DecodeCursor returns the sort key EncodeCursor was given. A cursor that
// was not made by EncodeCursor is ErrInvalid.
func DecodeCursor(c string) ([]string, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return nil, invalidCursor()
	}
	var key []string
	if err := json.Unmarshal(b, &key); err != nil || len(key) == 0 {
		return nil, invalidCursor()
	}
	return key, nil
}

func invalidCursor() error {
	var v ValidationError
	v.Add("cursor", "is not a cursor this list returned")
	return &v
}

// ParsePage reads the limit and cursor query values of a list request.
// A limit that is not a number in [1, MaxPageSize] names the field.
func ParsePage(limit, cursor string) (Page, error) {
	p := Page{Cursor: cursor}
	if limit != "" {
		n, err := strconv.Atoi(limit)
		if err != nil || n < 1 {
			var v ValidationError
			v.Add("limit", "must be a number between 1 and %d", MaxPageSize)
			return Page{}, &v
		}
		p.Limit = n
	}
	return p, p.Validate()
}
