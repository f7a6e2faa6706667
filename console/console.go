// Package console is the web console's static files: one HTML page, its
// script and its style sheet, embedded in the binary and served as they
// are (no build step, nothing from another origin). The server serves them
// under /console; the console is one more client of the API and holds no
// rule of its own.
package console

import (
	"embed"
	"net/http"
)

//go:embed index.html app.js app.css
var files embed.FS

// assets are the files served under /console/ and their content types.
var assets = map[string]string{
	"app.js":  "text/javascript; charset=utf-8",
	"app.css": "text/css; charset=utf-8",
}

// CSP allows the console's own script, style, images and API calls and
// nothing else: no inline script or style, no other origin, no frames.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
	"object-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// Page returns the console's HTML page.
func Page() ([]byte, error) { return files.ReadFile("index.html") }

// Asset returns the script or style sheet called name with its content
// type; ok is false for any other name.
func Asset(name string) (b []byte, contentType string, ok bool) {
	contentType, ok = assets[name]
	if !ok {
		return nil, "", false
	}
	// Every name in assets is embedded: go:embed fails the build otherwise.
	b, err := files.ReadFile(name)
	return b, contentType, err == nil
}

// Headers sets the content type and the security headers every console
// response carries.
func Headers(h http.Header, contentType string) {
	h.Set("Content-Type", contentType)
	h.Set("Content-Security-Policy", CSP)
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
}
