package server

import (
	"net/http"

	"github.com/holdfast/holdfast/console"
)

// registerConsole adds the web console's routes. The page and its files
// hold no data, so they need no session: the page asks /auth/session and
// sends a browser without one to /login with the whole address, fragment
// included, to come back to (the server never sees the fragment).
func (s *Server) registerConsole() {
	s.public("GET /console", http.HandlerFunc(s.consolePage))
	s.public("GET /console/{asset}", http.HandlerFunc(s.consoleAsset))
	s.public("GET /console/js/{module}", http.HandlerFunc(s.consoleAsset))
}

// consolePage serves GET /console: the console's page.
func (s *Server) consolePage(w http.ResponseWriter, r *http.Request) {
	a, _ := console.Lookup(console.PageName)
	w.Header().Set("Cache-Control", "no-cache")
	a.Serve(w, r)
}

// consoleAsset serves the console's scripts and style sheet, compressed,
// revalidated by ETag on every use.
func (s *Server) consoleAsset(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("asset")
	if m := r.PathValue("module"); m != "" {
		name = "js/" + m
	}
	a, ok := console.Lookup(name)
	if !ok || a.Name == console.PageName {
		s.writeError(w, r, errNoRoute)
		return
	}
	w.Header().Set("Cache-Control", "no-cache")
	a.Serve(w, r)
}
