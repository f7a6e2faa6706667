package server

import (
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/holdfast/holdfast/signin"
	"github.com/holdfast/holdfast/storage/storagetest"
)

// This file is the "browser" of the real-IdP tests: it follows
// redirects by hand (keeping cookies) and fills in and submits the HTML
// forms the identity providers serve, as a person's browser would.

// follow GETs u and follows redirects until a page answers; stop, when it
// returns true for a redirect target, ends there and returns that target
// as the answer's Location.
func (b *browser) follow(u string, stop func(string) bool) (answer, string) {
	b.tb.Helper()
	for range 25 {
		a := b.do("GET", u, nil)
		if a.status < 300 || a.status > 399 {
			return a, u
		}
		next := resolve(b.tb, u, a.header.Get("Location"))
		if stop != nil && stop(next) {
			return a, next
		}
		u = next
	}
	b.tb.Fatalf("too many redirects from %s", u)
	return answer{}, ""
}

// submit finds the first form of page (at pageURL) that has an input
// named key, fills in fields over its own values, posts it and follows
// the redirects like follow.
func (b *browser) submit(page answer, pageURL, key string, fields map[string]string, stop func(string) bool) (answer, string) {
	b.tb.Helper()
	action, values := findForm(b.tb, page.body, key)
	for k, v := range fields {
		values.Set(k, v)
	}
	target := resolve(b.tb, pageURL, action)
	if action == "" || action == "#" {
		target = pageURL
	}
	a := b.do("POST", target, values)
	if a.status < 300 || a.status > 399 {
		return a, target
	}
	next := resolve(b.tb, target, a.header.Get("Location"))
	if stop != nil && stop(next) {
		return a, next
	}
	return b.follow(next, stop)
}

func resolve(tb testing.TB, base, ref string) string {
	tb.Helper()
	bu, err := url.Parse(base)
	if err != nil {
		tb.Fatal(err)
	}
	ru, err := url.Parse(ref)
	if err != nil {
		tb.Fatalf("bad URL %q: %v", ref, err)
	}
	return bu.ResolveReference(ru).String()
}

// findForm returns the action and the input values of the first form in
// body that has an input named key.
func findForm(tb testing.TB, body, key string) (string, url.Values) {
	tb.Helper()
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	var found *html.Node
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if found != nil {
			return
		}
		if n.Type == html.ElementNode && n.Data == "form" && hasInput(n, key) {
			found = n
			return
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	if found == nil {
		tb.Fatalf("no form with an input %q in:\n%.3000s", key, body)
	}
	values := url.Values{}
	var inputs func(n *html.Node)
	inputs = func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == "input" {
			if name := attr(n, "name"); name != "" {
				values.Set(name, attr(n, "value"))
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			inputs(c)
		}
	}
	inputs(found)
	return attr(found, "action"), values
}

func hasInput(n *html.Node, key string) bool {
	if n.Type == html.ElementNode && n.Data == "input" && attr(n, "name") == key {
		return true
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if hasInput(c, key) {
			return true
		}
	}
	return false
}

func attr(n *html.Node, name string) string {
	for _, a := range n.Attr {
		if a.Key == name {
			return a.Val
		}
	}
	return ""
}

// peerScript returns the path of a script of the shared peers, or skips
// (fails when name is required).
func peerScript(tb testing.TB, name, rel string) string {
	tb.Helper()
	dirs := []string{os.Getenv("HOLDFAST_SHARED"), "../../shared", "/work/shared"}
	for _, d := range dirs {
		if d == "" {
			continue
		}
		p := filepath.Join(d, "peers", rel)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	storagetest.SkipOrFail(tb, name, "cannot find peers/"+rel+" (set HOLDFAST_SHARED)")
	return ""
}

// runPeerScript runs a peer script with args.
func runPeerScript(tb testing.TB, path string, args ...string) {
	tb.Helper()
	out, err := exec.Command(path, args...).CombinedOutput()
	if err != nil {
		tb.Fatalf("%s %v: %v\n%s", path, args, err, out)
	}
}

// sessionEmail returns the email of the browser's session, "" when it
// has none.
func (b *browser) sessionEmail() string {
	b.tb.Helper()
	a := b.session()
	if a.status != http.StatusOK {
		return ""
	}
	var si signin.Info
	a.json(b.tb, &si)
	return si.Email
}
