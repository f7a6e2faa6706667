package scim

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/httpapi"
)

// fakeEdge maps the errors these tests use like the server's table does;
// the other methods of the edge are not used here.
type fakeEdge struct {
	httpapi.Edge
	wrote []error
}

func (e *fakeEdge) Describe(_ *http.Request, err error) (int, string) {
	switch {
	case errors.Is(err, httpapi.ErrBadRequest):
		return http.StatusBadRequest, err.Error()
	case errors.Is(err, holdfast.ErrInvalid):
		return http.StatusUnprocessableEntity, err.Error()
	case errors.Is(err, holdfast.ErrConflict):
		return http.StatusConflict, err.Error()
	}
	return http.StatusInternalServerError, "internal error"
}

func (e *fakeEdge) WriteError(w http.ResponseWriter, _ *http.Request, err error) {
	e.wrote = append(e.wrote, err)
	w.WriteHeader(http.StatusInternalServerError)
}

// TestWriteError: a SCIM refusal carries its scimType, a domain
// validation error is invalidValue, the status comes from the edge's
// table, and a failure is left to the edge's envelope (logged once there).
func TestWriteError(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		wantStatus int
		wantType   string
	}{
		{"bad filter", scimInvalid("invalidFilter", "cannot filter on %q", "x"), 400, "invalidFilter"},
		{"invalid field", fmt.Errorf("user: %w", holdfast.ErrInvalid), 422, "invalidValue"},
		{"conflict", holdfast.ErrConflict, 409, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := New(nil, &fakeEdge{})
			w := httptest.NewRecorder()
			h.WriteError(w, httptest.NewRequest("GET", "/scim/v2/Users", nil), tt.err)
			var body map[string]any
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
				t.Fatal(err)
			}
			if w.Code != tt.wantStatus || body["status"] != fmt.Sprint(tt.wantStatus) || w.Header().Get("Content-Type") != MediaType {
				t.Errorf("status %d, body %v, content type %q", w.Code, body, w.Header().Get("Content-Type"))
			}
			if got, _ := body["scimType"].(string); got != tt.wantType {
				t.Errorf("scimType = %q, want %q", got, tt.wantType)
			}
		})
	}
	edge := &fakeEdge{}
	w := httptest.NewRecorder()
	New(nil, edge).WriteError(w, httptest.NewRequest("GET", "/scim/v2/Users", nil), errors.New("disk on fire"))
	if w.Code != 500 || len(edge.wrote) != 1 || w.Body.Len() != 0 {
		t.Errorf("a failure: status %d, body %q, edge wrote %v; want the edge's envelope only", w.Code, w.Body, edge.wrote)
	}
}

func TestFilter(t *testing.T) {
	tests := []struct {
		filter, attr, value string
		ok                  bool
	}{
		{``, "", "", true},
		{`userName eq "Ann@Example.com"`, "username", "Ann@Example.com", true},
		{`externalId EQ "00u1"`, "externalid", "00u1", true},
		{`userName co "ann"`, "", "", false},
		{`displayName eq "Ann"`, "", "", false},
		{`userName eq ann`, "", "", false},
	}
	for _, tt := range tests {
		attr, value, err := scimFilter(tt.filter)
		if (err == nil) != tt.ok || attr != tt.attr || value != tt.value {
			t.Errorf("scimFilter(%q) = %q, %q, %v", tt.filter, attr, value, err)
		}
		var se *scimError
		if err != nil && (!errors.As(err, &se) || se.scimType != "invalidFilter" || !errors.Is(err, httpapi.ErrBadRequest)) {
			t.Errorf("scimFilter(%q) error %v is not an invalidFilter bad request", tt.filter, err)
		}
	}
}
