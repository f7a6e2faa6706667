package console

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/andybalholm/brotli"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// TestConsoleSourcesStayStrict reads the embedded files: no inline script
// or style (the CSP would block them), nothing from another origin, no
// HTML built from strings, nothing kept in web storage.
func TestConsoleSourcesStayStrict(t *testing.T) {
	page, err := files.ReadFile("index.html")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := html.Parse(strings.NewReader(string(page)))
	if err != nil {
		t.Fatal(err)
	}
	scripts := 0
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			switch n.Data {
			case "style":
				t.Error("index.html has a <style> element")
			case "script":
				scripts++
				if n.FirstChild != nil || attr(n, "src") != "/console/js/app.js" || attr(n, "type") != "module" {
					t.Errorf("index.html has an inline or foreign script (src %q)", attr(n, "src"))
				}
			}
			for _, a := range n.Attr {
				if a.Key == "style" || strings.HasPrefix(a.Key, "on") {
					t.Errorf("<%s %s=%q> is inline style or script", n.Data, a.Key, a.Val)
				}
				if (a.Key == "src" || a.Key == "href") && !strings.HasPrefix(a.Val, "/") && !strings.HasPrefix(a.Val, "#") {
					t.Errorf("<%s %s=%q> points elsewhere", n.Data, a.Key, a.Val)
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	if scripts != 1 {
		t.Errorf("index.html has %d scripts, want js/app.js only", scripts)
	}

	scripts = 0
	for _, name := range Names() {
		if !strings.HasSuffix(name, ".js") {
			continue
		}
		scripts++
		a, _ := Lookup(name)
		for _, bad := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "localStorage.",
			"sessionStorage.", "eval(", "new Function", "http://", "https://", "indexedDB", "import("} {
			if strings.Contains(string(a.Raw), bad) {
				t.Errorf("%s uses %s", name, bad)
			}
		}
	}
	if scripts < 2 {
		t.Errorf("%d scripts embedded, want the modules under js/", scripts)
	}
	style, err := files.ReadFile("app.css")
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"@import", "url(", "expression("} {
		if strings.Contains(string(style), bad) {
			t.Errorf("app.css uses %s", bad)
		}
	}
}

func attr(n *html.Node, name string) string {
	for _, a := range n.Attr {
		if a.Key == name {
			return a.Val
		}
	}
	return ""
}

// TestAssetsServedCompressed: each file is served in brotli or gzip as
// the browser asks, decompresses to the file, carries a strong ETag per
// encoding and answers 304 to it; the first load (the page and every
// file it needs) stays within 150 KB compressed.
func TestAssetsServedCompressed(t *testing.T) {
	a, ok := Lookup("js/app.js")
	if !ok {
		t.Fatal("js/app.js is not served")
	}
	get := func(enc, inm string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", "/console/js/app.js", nil)
		if enc != "" {
			r.Header.Set("Accept-Encoding", enc)
		}
		if inm != "" {
			r.Header.Set("If-None-Match", inm)
		}
		w := httptest.NewRecorder()
		a.Serve(w, r)
		return w
	}
	tags := map[string]bool{}
	for _, c := range []struct{ accept, want string }{
		{"gzip, deflate, br, zstd", "br"}, {"gzip", "gzip"}, {"br;q=0, gzip;q=0.5", "gzip"}, {"", ""}, {"identity", ""},
	} {
		w := get(c.accept, "")
		if got := w.Header().Get("Content-Encoding"); got != c.want {
			t.Errorf("Accept-Encoding %q: Content-Encoding %q, want %q", c.accept, got, c.want)
		}
		var body []byte
		var err error
		switch c.want {
		case "br":
			body, err = io.ReadAll(brotli.NewReader(w.Body))
		case "gzip":
			var zr *gzip.Reader
			if zr, err = gzip.NewReader(w.Body); err == nil {
				body, err = io.ReadAll(zr)
			}
		default:
			body = w.Body.Bytes()
		}
		if err != nil || !bytes.Equal(body, a.Raw) {
			t.Errorf("Accept-Encoding %q: the body is not the file (%v)", c.accept, err)
		}
		tag := w.Header().Get("ETag")
		if !strings.HasPrefix(tag, `"`) || w.Header().Get("Vary") != "Accept-Encoding" || w.Header().Get("Content-Security-Policy") == "" {
			t.Errorf("Accept-Encoding %q: headers %v", c.accept, w.Header())
		}
		tags[c.want+tag] = true
		if w := get(c.accept, tag); w.Code != http.StatusNotModified || w.Body.Len() != 0 {
			t.Errorf("If-None-Match %s: %d with %d bytes, want 304 and nothing", tag, w.Code, w.Body.Len())
		}
	}
	if w := get("br", `"other"`); w.Code != http.StatusOK {
		t.Errorf("a stale ETag: %d, want 200", w.Code)
	}
	if len(tags) != 3 {
		t.Errorf("ETags %v, want one per encoding", tags)
	}

	total := 0
	for _, name := range Names() {
		x, _ := Lookup(name)
		if len(x.Gzip) >= len(x.Raw) && len(x.Raw) > 200 {
			t.Errorf("%s: gzip %d bytes of %d", name, len(x.Gzip), len(x.Raw))
		}
		total += len(x.Gzip)
	}
	t.Logf("first load: %d bytes gzip over %d files", total, len(Names()))
	if total > 150*1024 {
		t.Errorf("first load is %d bytes gzip, over the 150 KB budget", total)
	}
}
