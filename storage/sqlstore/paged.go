package sqlstore

import (
	"context"
	"slices"
	"strconv"

	"github.com/holdfast/holdfast"
)

// pageQuery is one keyset-paged list: the rows of from (a table and its
// WHERE clause, with args) in order, after the cursor's key.
type pageQuery[T any] struct {
	what    string // names the list in errors
	columns string
	from    string
	args    []any
	order   string
	// after is the condition, with its arguments, that keeps the rows
	// after key in order; a key of the wrong shape is ErrInvalid.
	after func(key []string) (string, []any, error)
	// key is the cursor key of an item.
	key  func(T) []string
	scan func(scanner) (T, error)
}

// pageBy returns the page p of q with the total of rows q matches. The
// cursor of the next page is the key of its last item; the last page has
// none.
func pageBy[T any](ctx context.Context, s *Store, q pageQuery[T], p holdfast.Page) (holdfast.Paged[T], error) {
	out := holdfast.Paged[T]{Items: []T{}}
	if err := p.Validate(); err != nil {
		return out, err
	}
	if err := s.queryRow(ctx, `SELECT COUNT(*) FROM `+q.from, q.args...).Scan(&out.Total); err != nil {
		return out, s.fail(q.what, err)
	}
	where, args := q.from, slices.Clip(q.args)
	if p.Cursor != "" {
		key, err := holdfast.DecodeCursor(p.Cursor)
		if err != nil {
			return out, err
		}
		cond, keyArgs, err := q.after(key)
		if err != nil {
			return out, err
		}
		where += ` AND ` + cond
		args = append(args, keyArgs...)
	}
	size := p.Size()
	items, err := list(ctx, s, q.what, q.scan,
		`SELECT `+q.columns+` FROM `+where+` ORDER BY `+q.order+` LIMIT ?`, append(args, int64(size+1))...)
	if err != nil {
		return out, err
	}
	if len(items) > size {
		items = items[:size]
		out.Next = holdfast.EncodeCursor(q.key(items[size-1])...)
	}
	out.Items = items
	return out, nil
}

// badCursor is the error of a cursor whose key does not fit its list.
func badCursor() error {
	var v holdfast.ValidationError
	v.Add("cursor", "is not a cursor this list returned")
	return v.Err()
}

// timeKeyed is a table paged by a time column (microseconds) then an id
// column, oldest first: the order things were added or queued.
type timeKeyed[T any] struct {
	table, columns string
	at, id         string // the sort columns
	scan           func(scanner) (T, error)
	key            func(T) (at int64, id string)
}

// pageByTime returns one page of the rows of k matching c, by (at, id)
// after the page's cursor, and the total matching c.
func pageByTime[T any](ctx context.Context, s *Store, k timeKeyed[T], c conds, p holdfast.Page) (holdfast.Paged[T], error) {
	at, id := k.table+"."+k.at, k.table+"."+k.id
	return pageBy(ctx, s, pageQuery[T]{
		what: k.table, columns: k.columns, from: k.table + c.where(), args: c.args,
		order: at + ", " + id,
		after: func(key []string) (string, []any, error) {
			if len(key) != 2 {
				return "", nil, badCursor()
			}
			t, err := strconv.ParseInt(key[0], 10, 64)
			if err != nil {
				return "", nil, badCursor()
			}
			return "(" + at + " > ? OR (" + at + " = ? AND " + id + " > ?))", []any{t, t, key[1]}, nil
		},
		key: func(v T) []string {
			t, id := k.key(v)
			return []string{strconv.FormatInt(t, 10), id}
		},
		scan: k.scan,
	}, p)
}
