package export

import (
	"context"
	"encoding/xml"
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-webdav"

	"github.com/holdfast/holdfast"
)

// fakeFS is a folder with two files, for the PROPFIND writer.
type fakeFS struct{ webdav.FileSystem }

var (
	fakeT    = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	fakeDir  = webdav.FileInfo{Path: "/h/ann@example.com/", IsDir: true, ModTime: fakeT}
	fakeFile = webdav.FileInfo{Path: "/h/ann@example.com/Q3 & Q4 <draft>.txt", Size: 42, ModTime: fakeT, MIMEType: "text/plain", ETag: "abc"}
)

func (fakeFS) Stat(_ context.Context, name string) (*webdav.FileInfo, error) {
	switch name {
	case fakeDir.Path:
		return &fakeDir, nil
	case fakeFile.Path:
		return &fakeFile, nil
	}
	return nil, notFound(name)
}

func (fakeFS) ReadDir(context.Context, string, bool) ([]webdav.FileInfo, error) {
	return []webdav.FileInfo{fakeDir, fakeFile}, nil
}

func (fakeFS) Open(context.Context, string) (io.ReadCloser, error) { return nil, errors.New("unused") }

type multistatus struct {
	Responses []struct {
		Href      string `xml:"href"`
		Propstats []struct {
			Prop struct {
				Inner string `xml:",innerxml"`
			} `xml:"prop"`
			Status string `xml:"status"`
		} `xml:"propstat"`
	} `xml:"response"`
}

func propfind(t *testing.T, name string, depth int, body string) (int, multistatus, string) {
	t.Helper()
	w := httptest.NewRecorder()
	err := Propfind(context.Background(), w, fakeFS{}, name, depth, []byte(body))
	if err != nil {
		return 0, multistatus{}, err.Error()
	}
	var ms multistatus
	if err := xml.Unmarshal(w.Body.Bytes(), &ms); err != nil {
		t.Fatalf("not XML: %v\n%s", err, w.Body)
	}
	return w.Code, ms, w.Body.String()
}

func TestPropfind(t *testing.T) {
	code, ms, raw := propfind(t, fakeDir.Path, 1, "")
	if code != 207 || len(ms.Responses) != 2 {
		t.Fatalf("allprop depth 1: %d %s", code, raw)
	}
	if ms.Responses[0].Href != "/h/ann%40example.com/" || ms.Responses[1].Href != "/h/ann%40example.com/Q3%20%26%20Q4%20%3Cdraft%3E.txt" {
		t.Errorf("hrefs = %q, %q", ms.Responses[0].Href, ms.Responses[1].Href)
	}
	dir, file := ms.Responses[0].Propstats[0].Prop.Inner, ms.Responses[1].Propstats[0].Prop.Inner
	for _, want := range []string{"<D:collection/>", "<D:getlastmodified>Fri, 02 Jan 2026 03:04:05 GMT</D:getlastmodified>", "<D:displayname>ann@example.com</D:displayname>"} {
		if !strings.Contains(dir, want) {
			t.Errorf("folder props lack %s: %s", want, dir)
		}
	}
	for _, want := range []string{"<D:resourcetype/>", `<D:getetag>"abc"</D:getetag>`, "<D:getcontentlength>42</D:getcontentlength>", "<D:displayname>Q3 &amp; Q4 &lt;draft&gt;.txt</D:displayname>"} {
		if !strings.Contains(file, want) {
			t.Errorf("file props lack %s: %s", want, file)
		}
	}
	if strings.Contains(dir, "getcontentlength") {
		t.Errorf("a folder has a length: %s", dir)
	}

	// Named properties: the unknown ones come back 404, in their namespace.
	code, ms, raw = propfind(t, fakeFile.Path, 0, `<?xml version="1.0"?><propfind xmlns="DAV:" xmlns:x="urn:example"><prop><getcontentlength/><x:color/><lockdiscovery/></prop></propfind>`)
	if code != 207 || len(ms.Responses) != 1 || len(ms.Responses[0].Propstats) != 2 {
		t.Fatalf("prop: %d %s", code, raw)
	}
	ok, missing := ms.Responses[0].Propstats[0], ms.Responses[0].Propstats[1]
	if ok.Status != "HTTP/1.1 200 OK" || ok.Prop.Inner != "<D:getcontentlength>42</D:getcontentlength>" {
		t.Errorf("200 propstat = %+v", ok)
	}
	if missing.Status != "HTTP/1.1 404 Not Found" || !strings.Contains(missing.Prop.Inner, `xmlns:x0="urn:example"`) || !strings.Contains(missing.Prop.Inner, "<D:lockdiscovery/>") {
		t.Errorf("404 propstat = %+v", missing)
	}

	// propname lists names only; a file at depth 1 is itself.
	_, ms, raw = propfind(t, fakeFile.Path, 1, `<propfind xmlns="DAV:"><propname/></propfind>`)
	if len(ms.Responses) != 1 || !strings.Contains(raw, "<D:getetag/>") || strings.Contains(raw, "42") {
		t.Errorf("propname: %s", raw)
	}

	// Bad bodies and missing resources are errors, nothing written.
	for _, body := range []string{`<propfind xmlns="DAV:"></propfind>`, `<other xmlns="DAV:"/>`, `<propfind xmlns="DAV:"><prop></prop></propfind>`} {
		w := httptest.NewRecorder()
		if err := Propfind(context.Background(), w, fakeFS{}, fakeDir.Path, 0, []byte(body)); !errors.Is(err, ErrBadPropfind) || w.Body.Len() != 0 {
			t.Errorf("%s: %v", body, err)
		}
	}
	if err := Propfind(context.Background(), httptest.NewRecorder(), fakeFS{}, "/nope", 0, nil); !errors.Is(err, holdfast.ErrNotFound) {
		t.Errorf("missing: %v", err)
	}
}

// FuzzPropfind: any body is refused with ErrBadPropfind or answered with
// well-formed XML holding one response per resource.
func FuzzPropfind(f *testing.F) {
	f.Add(``)
	f.Add(`<propfind xmlns="DAV:"><allprop/></propfind>`)
	f.Add(`<propfind xmlns="DAV:" xmlns:x="urn:&amp;&lt;"><prop><x:a/><getetag/></prop></propfind>`)
	f.Add(`<propfind xmlns="DAV:"><propname/></propfind>`)
	f.Fuzz(func(t *testing.T, body string) {
		w := httptest.NewRecorder()
		err := Propfind(context.Background(), w, fakeFS{}, fakeDir.Path, 1, []byte(body))
		if err != nil {
			if !errors.Is(err, ErrBadPropfind) {
				t.Fatalf("error %v", err)
			}
			return
		}
		var ms multistatus
		if err := xml.Unmarshal(w.Body.Bytes(), &ms); err != nil {
			t.Fatalf("not XML: %v\n%s", err, w.Body)
		}
		if len(ms.Responses) != 2 {
			t.Fatalf("%d responses", len(ms.Responses))
		}
	})
}
