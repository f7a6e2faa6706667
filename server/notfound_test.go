package server

import (
	"encoding/json"
	"net/http/httptest"
	"testing"
)

// TestMissesUseTheEnvelope: unknown paths and wrong methods get the JSON
// error envelope (404, 405 with Allow), not the mux's plain text.
func TestMissesUseTheEnvelope(t *testing.T) {
	h := newFixture(t).handler
	for _, tc := range []struct {
		method, path string
		status       int
		code, allow  string
	}{
		{"GET", "/api/v1/nothing", 404, "not_found", ""},
		{"GET", "/nowhere", 404, "not_found", ""},
		{"PUT", "/api/v1/administrators", 405, "method_not_allowed", "GET, POST, HEAD"},
		{"GET", "/access/v1/evaluation", 405, "method_not_allowed", "POST"},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
		if rec.Code != tc.status {
			t.Errorf("%s %s: status %d, want %d", tc.method, tc.path, rec.Code, tc.status)
		}
		var env struct {
			Error struct{ Code, RequestID string }
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil || env.Error.Code != tc.code {
			t.Errorf("%s %s: body %q (%v), want code %s", tc.method, tc.path, rec.Body, err, tc.code)
		}
		if got := rec.Header().Get("Allow"); got != tc.allow {
			t.Errorf("%s %s: Allow %q, want %q", tc.method, tc.path, got, tc.allow)
		}
		if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
			t.Errorf("%s %s: content type %q", tc.method, tc.path, ct)
		}
	}
}
