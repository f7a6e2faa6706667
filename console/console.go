// Package console is the web console's static files: one HTML page, its
// style sheet and its scripts (plain ES modules under js/), embedded in
// the binary and served as they are: no build step, no framework, nothing
// from another origin. Each file is compressed once, at first use, with
// brotli and gzip, and served in the encoding the browser asks for with a
// strong ETag, so a reload costs a 304. The server serves them under
// /console; the console is one more client of the API and holds no rule
// of its own.
package console

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"

	"github.com/andybalholm/brotli"
)

//go:embed index.html app.css auth.css js/*.js
var files embed.FS

// PageName is the console's HTML page among the assets.
const PageName = "index.html"

// contentTypes are the served files' content types by extension.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
}

// CSP allows the console's own script, style, images and API calls and
// nothing else: no inline script or style, no other origin, no frames.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
	"object-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// Asset is one served file in its three encodings.
type Asset struct {
	Name        string
	ContentType string
	// Raw, Gzip and Brotli are the file as it is and compressed.
	Raw, Gzip, Brotli []byte
	// etag is the strong validator of the raw content; each encoding
	// gets its own suffix (a different representation, RFC 9110 8.8.3).
	etag string
}

// assets are every embedded file by its path under /console/.
var assets = sync.OnceValue(func() map[string]*Asset {
	out := map[string]*Asset{}
	_ = fs.WalkDir(files, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		ct, ok := contentTypes[path.Ext(name)]
		if !ok {
			return nil
		}
		raw, err := files.ReadFile(name)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(raw)
		out[name] = &Asset{Name: name, ContentType: ct, Raw: raw, Gzip: gzipped(raw), Brotli: brotlied(raw),
			etag: base64.RawURLEncoding.EncodeToString(sum[:18])}
		return nil
	})
	return out
})

func gzipped(b []byte) []byte {
	var buf bytes.Buffer
	w, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	_, _ = w.Write(b)
	_ = w.Close()
	return buf.Bytes()
}

func brotlied(b []byte) []byte {
	var buf bytes.Buffer
	w := brotli.NewWriterLevel(&buf, brotli.BestCompression)
	_, _ = w.Write(b)
	_ = w.Close()
	return buf.Bytes()
}

// Lookup returns the asset at name (a path under /console/, like
// "js/app.js"); ok is false for any other name.
func Lookup(name string) (*Asset, bool) {
	a, ok := assets()[name]
	return a, ok
}

// Names lists every asset's name.
func Names() []string {
	out := make([]string, 0, len(assets()))
	for n := range assets() {
		out = append(out, n)
	}
	return out
}

// Serve writes the asset in the best encoding r accepts (brotli, gzip,
// else as it is) with its ETag, or 304 when r already holds it. The
// caller sets the cache policy.
func (a *Asset) Serve(w http.ResponseWriter, r *http.Request) {
	body, enc := a.Raw, ""
	switch accepts := acceptedEncodings(r.Header.Get("Accept-Encoding")); {
	case accepts["br"]:
		body, enc = a.Brotli, "br"
	case accepts["gzip"]:
		body, enc = a.Gzip, "gzip"
	}
	etag := `"` + a.etag + strings.TrimSuffix("-"+enc, "-") + `"`
	h := w.Header()
	Headers(h, a.ContentType)
	h.Set("Vary", "Accept-Encoding")
	h.Set("ETag", etag)
	if matches(r.Header.Get("If-None-Match"), etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	if enc != "" {
		h.Set("Content-Encoding", enc)
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(body)
}

// acceptedEncodings reads an Accept-Encoding header: the codings it
// names without q=0.
func acceptedEncodings(header string) map[string]bool {
	out := map[string]bool{}
	for part := range strings.SplitSeq(header, ",") {
		name, params, _ := strings.Cut(part, ";")
		name = strings.ToLower(strings.TrimSpace(name))
		q := 1.0
		for p := range strings.SplitSeq(params, ";") {
			k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
			if strings.EqualFold(k, "q") {
				if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
					q = f
				}
			}
		}
		if name != "" && q > 0 {
			out[name] = true
		}
	}
	return out
}

// matches reports whether an If-None-Match header names etag (or is *).
func matches(header, etag string) bool {
	for part := range strings.SplitSeq(header, ",") {
		p := strings.TrimPrefix(strings.TrimSpace(part), "W/")
		if p == "*" || p == etag {
			return true
		}
	}
	return false
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
