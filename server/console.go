package server

import (
	"embed"
	"net/http"
	"net/url"
	"path"
)

// consoleFiles is the web console: one HTML page, its script and its
// style sheet, served as they are (no build step).
//
//go:embed console/index.html console/app.js console/app.css
var consoleFiles embed.FS

// consoleAssets are the files under /console/ and their content types.
var consoleAssets = map[string]string{
	"app.js":  "text/javascript; charset=utf-8",
	"app.css": "text/css; charset=utf-8",
}

// consoleCSP allows the console's own script, style, images and API calls
// and nothing else: no inline script or style, no other origin, no frames.
const consoleCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
	"object-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// registerConsole adds the web console's routes. It runs with sign-in:
// the console signs in through /login and calls the API with the
// session cookie.
func (s *Server) registerConsole() {
	s.public("GET /console", http.HandlerFunc(s.consolePage))
	s.public("GET /console/{asset}", http.HandlerFunc(s.consoleAsset))
}

// consoleHeaders are the headers of every console response.
func consoleHeaders(w http.ResponseWriter, contentType string) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Security-Policy", consoleCSP)
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
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
	b, err := consoleFiles.ReadFile("console/index.html")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	consoleHeaders(w, "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(b)
}

// consoleAsset serves the console's script and style sheet. They hold no
// data, so they need no session.
func (s *Server) consoleAsset(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("asset")
	ct, ok := consoleAssets[name]
	if !ok {
		s.writeError(w, r, errNoRoute)
		return
	}
	b, err := consoleFiles.ReadFile(path.Join("console", name))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	consoleHeaders(w, ct)
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(b)
}
