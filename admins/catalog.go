package admins

import (
	"slices"

	"github.com/holdfast/holdfast/policies"
)

// RightView is one right of the catalog as the API shows it. Allotted is
// set when the right is shown as part of a role.
type RightView struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Allotted *bool  `json:"allotted,omitempty"`
}

// CategoryView is one right category with its rights, in catalog order.
type CategoryView struct {
	Category string      `json:"category"`
	Name     string      `json:"name"`
	Rights   []RightView `json:"rights"`
}

// Categories returns every category of cat with its rights. When held is
// not nil each right says whether it is in held.
func Categories(cat *policies.Catalog, held []string) []CategoryView {
	var out []CategoryView
	for _, c := range cat.Categories {
		cv := CategoryView{Category: c.ID, Name: c.Name, Rights: []RightView{}}
		for _, r := range cat.Rights {
			if r.Category != c.ID {
				continue
			}
			rv := RightView{ID: r.ID, Name: r.Name}
			if held != nil {
				allotted := slices.Contains(held, r.ID)
				rv.Allotted = &allotted
			}
			cv.Rights = append(cv.Rights, rv)
		}
		out = append(out, cv)
	}
	return nonNil(out)
}

// Rights is the catalog by category. It is the same for every account and
// names no data, so any authenticated administrator may read it.
func (s *Service) Rights() []CategoryView {
	return Categories(s.engine.Catalog(), nil)
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
