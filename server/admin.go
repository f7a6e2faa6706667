package server

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/admins"
)

// listAdmins serves GET /api/v1/administrators (admins.view): one page,
// filtered by role, product, last_login_before (7, 30, 60 or 90 days),
// never_logged_in, q and state.
func (s *Server) listAdmins(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	query, err := adminQuery(q)
	if err != nil {
		return err
	}
	page, err := pageOf(q)
	if err != nil {
		return err
	}
	out, err := s.admins.List(r.Context(), principal(r.Context()), query, page)
	if err != nil {
		return err
	}
	return writePage(w, "administrators", out)
}

// adminQuery decodes the administrator list's filters.
func adminQuery(q url.Values) (admins.Query, error) {
	out := admins.Query{RoleID: q.Get("role"), Product: q.Get("product"), Search: q.Get("q"),
		State: holdfast.AdminState(q.Get("state"))}
	var v holdfast.ValidationError
	if d := q.Get("last_login_before"); d != "" {
		n, err := strconv.Atoi(d)
		if err != nil || n == 0 {
			v.Add("last_login_before", "must be 7, 30, 60 or 90 (days)")
		}
		out.LastLoginDays = n
	}
	var err error
	if out.NeverLoggedIn, err = boolParam(q, "never_logged_in"); err != nil {
		return out, err
	}
	return out, v.Err()
}

// getAdmin serves GET /api/v1/administrators/{id} (admins.view).
func (s *Server) getAdmin(w http.ResponseWriter, r *http.Request) error {
	a, err := s.admins.Get(r.Context(), principal(r.Context()), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, a)
}

// createAdmin serves POST /api/v1/administrators (admins.create) and sends
// the new administrator's invitation.
func (s *Server) createAdmin(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	var in admins.NewAdmin
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	a, err := s.admins.Create(ctx, principal(ctx), in)
	if err != nil {
		return err
	}
	if err := s.inviteNewAdmin(ctx, r, a); err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, a)
}

// updateAdmin serves PATCH /api/v1/administrators/{id} (admins.edit).
func (s *Server) updateAdmin(w http.ResponseWriter, r *http.Request) error {
	var in admins.AdminPatch
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	a, err := s.admins.Update(r.Context(), principal(r.Context()), r.PathValue("id"), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, a)
}

// deleteAdmin serves DELETE /api/v1/administrators/{id} (admins.delete).
func (s *Server) deleteAdmin(w http.ResponseWriter, r *http.Request) error {
	if err := s.admins.Delete(r.Context(), principal(r.Context()), r.PathValue("id")); err != nil {
		return err
	}
	return noContent(w)
}

// nonNilSlice makes a nil list encode as [].
func nonNilSlice[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
