package server

import (
	"errors"
	"net/http"
	"slices"
	"strings"
)

var (
	// errNoRoute is a path no route serves.
	errNoRoute = errors.New("no such endpoint")
	// errMethod is a path served, but not with this method.
	errMethod = errors.New("method not allowed")
)

// routeMethods are the methods probed to tell a wrong method from a
// missing route.
var routeMethods = []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

// jsonMisses serves mux, but answers requests no route matches with the
// JSON error envelope instead of the mux's plain text: 404 for an unknown
// path, 405 with an Allow header for a known path and another method.
func (s *Server) jsonMisses(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := mux.Handler(r); pattern != "" {
			mux.ServeHTTP(w, r)
			return
		}
		var allowed []string
		for _, m := range routeMethods {
			probe := r.Clone(r.Context())
			probe.Method = m
			if _, pattern := mux.Handler(probe); pattern != "" {
				allowed = append(allowed, m)
			}
		}
		if len(allowed) == 0 {
			s.writeError(w, r, errNoRoute)
			return
		}
		if slices.Contains(allowed, http.MethodGet) {
			allowed = append(allowed, http.MethodHead)
		}
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		s.writeError(w, r, errMethod)
	})
}
