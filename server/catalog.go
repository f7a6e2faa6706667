package server

import (
	"net/http"
	"slices"

	"github.com/holdfast/holdfast/policies"
)

// rightView is one right of the catalog as the API shows it. Allotted is
// set when the right is shown as part of a role.
type rightView struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Allotted *bool  `json:"allotted,omitempty"`
}

// categoryView is one right category with its rights, in catalog order.
type categoryView struct {
	Category string      `json:"category"`
	Name     string      `json:"name"`
	Rights   []rightView `json:"rights"`
}

// catalogCategories returns every category of cat with its rights. When
// held is not nil each right says whether it is in held.
func catalogCategories(cat *policies.Catalog, held []string) []categoryView {
	var out []categoryView
	for _, c := range cat.Categories {
		cv := categoryView{Category: c.ID, Name: c.Name, Rights: []rightView{}}
		for _, r := range cat.Rights {
			if r.Category != c.ID {
				continue
			}
			rv := rightView{ID: r.ID, Name: r.Name}
			if held != nil {
				allotted := slices.Contains(held, r.ID)
				rv.Allotted = &allotted
			}
			cv.Rights = append(cv.Rights, rv)
		}
		out = append(out, cv)
	}
	return nonNilSlice(out)
}

// categoryRights returns the ids of the rights of category id; ok is false
// for an unknown category.
func categoryRights(cat *policies.Catalog, id string) (rights []string, ok bool) {
	for _, c := range cat.Categories {
		if c.ID == id {
			ok = true
		}
	}
	for _, r := range cat.Rights {
		if r.Category == id {
			rights = append(rights, r.ID)
		}
	}
	return rights, ok
}

// knownRight reports whether id is a right of the catalog.
func knownRight(cat *policies.Catalog, id string) bool {
	return slices.ContainsFunc(cat.Rights, func(r policies.Right) bool { return r.ID == id })
}

// rightsList is the body of GET /api/v1/rights.
type rightsList struct {
	Categories []categoryView `json:"categories"`
}

// listRights serves GET /api/v1/rights: the catalog, to any authenticated
// administrator (it is the same for every account and names no data).
func (s *Server) listRights(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, http.StatusOK, rightsList{Categories: catalogCategories(s.engine.Catalog(), nil)})
}
