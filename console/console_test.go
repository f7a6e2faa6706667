package console

import (
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
				if n.FirstChild != nil || attr(n, "src") != "/console/app.js" {
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
		t.Errorf("index.html has %d scripts, want app.js only", scripts)
	}

	script, err := files.ReadFile("app.js")
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "localStorage.",
		"sessionStorage.", "eval(", "new Function", "http://", "https://", "indexedDB"} {
		if strings.Contains(string(script), bad) {
			t.Errorf("app.js uses %s", bad)
		}
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
