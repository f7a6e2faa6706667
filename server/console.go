package server

import (
	"net/http"
	"net/url"

	"github.com/holdfast/holdfast/console"
)

// registerConsole adds the web console's routes. It runs with sign-in:
// the console signs in through /login and calls the API with the
// session cookie.
func (s *Server) registerConsole() {
	s.public("GET /console", http.HandlerFunc(s.consolePage))
	s.public("GET /console/{asset}", http.HandlerFunc(s.consoleAsset))
}

// consolePage serves GET /console: the console's page for a signed-in
// browser; without a finished session, a redirect to the sign-in page,
// which sends the browser back here afterwards.
func (s *Server) consolePage(w http.ResponseWriter, r *http.Request) {
	if se, err := s.currentSession(r); err != nil || se.Pending != "" {
		back := "/console"
		if r.URL.RawQuery != "" {
			back += "?" + r.URL.RawQuery
		}
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, "/login?return_to="+url.QueryEscape(back), http.StatusSeeOther)
		return
	}
	b, err := console.Page()
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	console.Headers(w.Header(), "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(b)
}

// consoleAsset serves the console's script and style sheet. They hold no
// data, so they need no session.
func (s *Server) consoleAsset(w http.ResponseWriter, r *http.Request) {
	b, ct, ok := console.Asset(r.PathValue("asset"))
	if !ok {
		s.writeError(w, r, errNoRoute)
		return
	}
	console.Headers(w.Header(), ct)
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(b)
}
