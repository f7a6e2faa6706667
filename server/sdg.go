package server

import (
	"context"
	"net/http"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/sdg"
)

// registerSDGRoutes mounts Sensitive Data Governance (sdg.Service): the
// sensitive data types and their test, the policy templates, the
// compliance policies and the settings. The engine refuses every one where
// the account lacks the add-on, with the reason.
func (s *Server) registerSDGRoutes() {
	svc := s.sdg
	s.authed("GET /api/v1/sdg/types/predefined", readAll(svc.PredefinedTypes, "types"))
	s.authed("GET /api/v1/sdg/types", listPage("types", svc.ListTypes))
	s.authed("POST /api/v1/sdg/types", create(svc.CreateType))
	s.authed("POST /api/v1/sdg/types/test", s.testSDGType)
	s.authed("GET /api/v1/sdg/types/{id}", readOne(svc.GetType))
	s.authed("PUT /api/v1/sdg/types/{id}", replace(svc.UpdateType))
	s.authed("DELETE /api/v1/sdg/types/{id}", remove(svc.DeleteType))

	s.authed("GET /api/v1/sdg/templates/predefined", readAll(svc.ListPredefinedTemplates, "templates"))
	s.authed("GET /api/v1/sdg/templates", listPage("templates", svc.ListTemplates))
	s.authed("POST /api/v1/sdg/templates", create(svc.CreateTemplate))
	s.authed("GET /api/v1/sdg/templates/{id}", readOne(svc.GetTemplate))
	s.authed("PUT /api/v1/sdg/templates/{id}", replace(svc.UpdateTemplate))
	s.authed("DELETE /api/v1/sdg/templates/{id}", remove(svc.DeleteTemplate))

	s.authed("GET /api/v1/sdg/policies", listPage("policies", svc.ListPolicies))
	s.authed("POST /api/v1/sdg/policies", create(svc.CreatePolicy))
	s.authed("GET /api/v1/sdg/policies/{id}", readOne(svc.GetPolicy))
	s.authed("PUT /api/v1/sdg/policies/{id}", replace(svc.UpdatePolicy))
	s.authed("DELETE /api/v1/sdg/policies/{id}", remove(svc.DeletePolicy))

	s.authed("GET /api/v1/sdg/settings", func(w http.ResponseWriter, r *http.Request) error {
		got, err := svc.GetSettings(r.Context(), principal(r.Context()))
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, got)
	})
	s.authed("PUT /api/v1/sdg/settings", func(w http.ResponseWriter, r *http.Request) error {
		var in sdg.Settings
		if err := decodeJSON(w, r, &in); err != nil {
			return err
		}
		got, err := svc.PutSettings(r.Context(), principal(r.Context()), in)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, got)
	})
}

// testSDGType serves POST /api/v1/sdg/types/test: a type run over sample
// text (sdg.sensitive_data.manage); nothing is stored.
func (s *Server) testSDGType(w http.ResponseWriter, r *http.Request) error {
	var in sdg.TypeTest
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	got, err := s.sdg.TestType(r.Context(), principal(r.Context()), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"matches": got})
}

// The handlers of a domain service's uniform calls: each decodes, calls
// the one method and encodes.

func readAll[T any](fn func(context.Context, holdfast.Principal) ([]T, error), key string) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		got, err := fn(r.Context(), principal(r.Context()))
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, map[string]any{key: nonNilSlice(got)})
	}
}

func listPage[T any](key string, fn func(context.Context, holdfast.Principal, holdfast.Page) (holdfast.Paged[T], error)) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		page, err := pageOf(r.URL.Query())
		if err != nil {
			return err
		}
		got, err := fn(r.Context(), principal(r.Context()), page)
		if err != nil {
			return err
		}
		return writePage(w, key, got)
	}
}

func readOne[T any](fn func(context.Context, holdfast.Principal, string) (T, error)) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		got, err := fn(r.Context(), principal(r.Context()), r.PathValue("id"))
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, got)
	}
}

func create[In, Out any](fn func(context.Context, holdfast.Principal, In) (Out, error)) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		var in In
		if err := decodeJSON(w, r, &in); err != nil {
			return err
		}
		got, err := fn(r.Context(), principal(r.Context()), in)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusCreated, got)
	}
}

func replace[In, Out any](fn func(context.Context, holdfast.Principal, string, In) (Out, error)) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		var in In
		if err := decodeJSON(w, r, &in); err != nil {
			return err
		}
		got, err := fn(r.Context(), principal(r.Context()), r.PathValue("id"), in)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, got)
	}
}

func remove(fn func(context.Context, holdfast.Principal, string) error) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := fn(r.Context(), principal(r.Context()), r.PathValue("id")); err != nil {
			return err
		}
		return noContent(w)
	}
}
