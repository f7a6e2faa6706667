package server

import (
	"net/http"
	"net/url"

	"github.com/holdfast/holdfast"
)

// pageOf reads a list request's limit and cursor. The list endpoints page
// by cursor only: an offset is refused, naming the field.
func pageOf(q url.Values) (holdfast.Page, error) {
	if q.Has("offset") {
		var v holdfast.ValidationError
		v.Add("offset", "is not supported; follow next_cursor instead")
		return holdfast.Page{}, v.Err()
	}
	return holdfast.ParsePage(q.Get("limit"), q.Get("cursor"))
}

// writePage writes one page of a list: its items under key (as before
// paging), the total in the caller's scope, and next_cursor unless it is
// the last page.
func writePage[T any](w http.ResponseWriter, key string, p holdfast.Paged[T]) error {
	body := map[string]any{key: nonNilSlice(p.Items), "total": p.Total}
	if p.Next != "" {
		body["next_cursor"] = p.Next
	}
	return writeJSON(w, http.StatusOK, body)
}

// writePageAs writes one page of a list as writePage does, each item shown
// through view.
func writePageAs[T, V any](w http.ResponseWriter, key string, p holdfast.Paged[T], view func(T) V) error {
	out := holdfast.Paged[V]{Items: make([]V, 0, len(p.Items)), Next: p.Next, Total: p.Total}
	for _, v := range p.Items {
		out.Items = append(out.Items, view(v))
	}
	return writePage(w, key, out)
}
