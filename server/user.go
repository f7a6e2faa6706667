package server

import (
	"context"
	"net/http"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/directory"
)

// The users, devices and profiles routes decode, call one method of the
// directory service, and encode; the rules are in package directory.

// userList is the body of GET /api/v1/users: one page.
type userList struct {
	Users      []holdfast.User `json:"users"`
	NextCursor string          `json:"next_cursor,omitempty"`
	Total      int             `json:"total"`
}

// listUsers serves GET /api/v1/users (users.view): filters profile_id,
// state, q; pages with limit and cursor.
func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) error {
	ctx, q := r.Context(), r.URL.Query()
	page, err := holdfast.ParsePage(q.Get("limit"), q.Get("cursor"))
	if err != nil {
		return err
	}
	uq := directory.UserQuery{ProfileID: q.Get("profile_id"), State: holdfast.UserState(q.Get("state")), Search: q.Get("q")}
	got, err := s.directory.ListUsers(ctx, principal(ctx), uq, page)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, userList{Users: got.Items, NextCursor: got.Next, Total: got.Total})
}

// defaultProfile returns the caller's account's Default profile.
func (s *Server) defaultProfile(ctx context.Context) (holdfast.Profile, error) {
	return s.directory.DefaultProfile(ctx, principal(ctx).AccountID)
}

// getUser serves GET /api/v1/users/{id} (users.view).
func (s *Server) getUser(w http.ResponseWriter, r *http.Request) error {
	u, err := s.directory.GetUser(r.Context(), principal(r.Context()), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, u)
}

// userCreate is the body of POST /api/v1/users. An empty ProfileID puts
// the user in the Default profile.
type userCreate struct {
	Email      string `json:"email"`
	Name       string `json:"name"`
	ProfileID  string `json:"profile_id"`
	ExternalID string `json:"external_id"`
}

// createUser serves POST /api/v1/users (users.create_import).
func (s *Server) createUser(w http.ResponseWriter, r *http.Request) error {
	var in userCreate
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	u, err := s.directory.CreateUser(r.Context(), principal(r.Context()), directory.NewUser{Email: in.Email, Name: in.Name, ProfileID: in.ProfileID, ExternalID: in.ExternalID})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, u)
}

// userPatch is the body of PATCH /api/v1/users/{id}.
type userPatch struct {
	Name       *string `json:"name"`
	ProfileID  *string `json:"profile_id"`
	ExternalID *string `json:"external_id"`
}

// updateUser serves PATCH /api/v1/users/{id} (users.manage; moving the
// user also needs users.manage in the destination profile).
func (s *Server) updateUser(w http.ResponseWriter, r *http.Request) error {
	var in userPatch
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	u, err := s.directory.UpdateUser(r.Context(), principal(r.Context()), r.PathValue("id"), directory.UserPatch(in))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, u)
}

// userMove is a state change of one user by the directory service.
type userMove func(ctx context.Context, p holdfast.Principal, id string) (holdfast.User, error)

// moveUser serves a state change of user {id}.
func (s *Server) moveUser(move userMove) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		u, err := move(r.Context(), principal(r.Context()), r.PathValue("id"))
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, u)
	}
}

// preserveUser serves POST /api/v1/users/{id}/preserve (users.manage).
func (s *Server) preserveUser(w http.ResponseWriter, r *http.Request) error {
	return s.moveUser(s.directory.PreserveUser)(w, r)
}

// activateUser serves POST /api/v1/users/{id}/activate (users.manage).
func (s *Server) activateUser(w http.ResponseWriter, r *http.Request) error {
	return s.moveUser(s.directory.ActivateUser)(w, r)
}

// deleteUser serves DELETE /api/v1/users/{id} (users.delete): the user is
// marked deleted and can be restored for the account's rollback days.
func (s *Server) deleteUser(w http.ResponseWriter, r *http.Request) error {
	return s.moveUser(s.directory.DeleteUser)(w, r)
}

// restoreUser serves POST /api/v1/users/{id}/restore (users.manage).
func (s *Server) restoreUser(w http.ResponseWriter, r *http.Request) error {
	return s.moveUser(s.directory.RestoreUser)(w, r)
}
