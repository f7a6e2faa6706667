package export_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-webdav"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/export"
	"github.com/holdfast/holdfast/storage"
	"github.com/holdfast/holdfast/storage/fs"
	"github.com/holdfast/holdfast/storage/sqlite"
)

type item struct {
	path                       string
	data                       string
	created, modified, deleted time.Time
	typ, link                  string // storage.ItemDir or ItemSymlink and its target; "" a file
}

type env struct {
	t    *testing.T
	meta holdfast.MetaStore
	data *storage.Store
	acct string
	user holdfast.User
}

func newEnv(t *testing.T) *env {
	ctx := context.Background()
	meta, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "meta.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { meta.Close() })
	blobs, err := fs.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	data, err := storage.Open(ctx, blobs, storage.Options{MasterKey: storage.GenerateMasterKey()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { data.Close() })
	a := holdfast.Account{Name: "Acme", Edition: holdfast.EditionElite, Settings: holdfast.DefaultAccountSettings()}
	must(t, meta.CreateAccount(ctx, &a))
	p := holdfast.Profile{AccountID: a.ID, Name: "Default", Default: true}
	must(t, meta.CreateProfile(ctx, &p))
	u := holdfast.User{AccountID: a.ID, Email: "ann@example.com", Name: "Ann", ProfileID: p.ID, State: holdfast.UserActive}
	must(t, meta.CreateUser(ctx, &u))
	return &env{t: t, meta: meta, data: data, acct: a.ID, user: u}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func (e *env) backup(src storage.Source, device string, at time.Time, items ...item) {
	e.t.Helper()
	ctx := context.Background()
	key, err := e.data.ChunkerKey(ctx, e.acct)
	must(e.t, err)
	c := storage.NewChunker(key)
	var its []storage.Item
	for _, i := range items {
		it := storage.Item{Path: i.path, Size: int64(len(i.data)), Created: i.created, Modified: i.modified, Deleted: i.deleted, Type: i.typ, Link: i.link}
		if src == storage.SourceMail {
			it.ContentType = storage.ContentTypeMail
		}
		must(e.t, c.Split(strings.NewReader(i.data), func(ref holdfast.ChunkRef, data []byte) error {
			it.Chunks = append(it.Chunks, ref)
			return e.data.PutChunk(ctx, e.acct, ref, data)
		}))
		its = append(its, it)
	}
	_, err = e.data.CommitSnapshot(ctx, storage.Snapshot{AccountID: e.acct, UserID: e.user.ID, Source: src, Device: device, Time: at, Items: its})
	must(e.t, err)
}

func (e *env) hold(h holdfast.LegalHold) holdfast.LegalHold {
	e.t.Helper()
	h.AccountID, h.Name = e.acct, "Case "+time.Now().String()
	if h.DataAccess == "" {
		h.DataAccess = holdfast.AccessAllData
	}
	must(e.t, e.meta.CreateHold(context.Background(), &h))
	must(e.t, e.meta.AddCustodian(context.Background(), e.acct, &holdfast.Custodian{HoldID: h.ID, UserID: e.user.ID}))
	return h
}

// files lists every file under the custodian, walking depth-1 listings.
func files(t *testing.T, f webdav.FileSystem, prefix string) map[string]string {
	t.Helper()
	ctx := context.Background()
	out := map[string]string{}
	var walk func(dir string)
	walk = func(dir string) {
		list, err := f.ReadDir(ctx, dir, false)
		must(t, err)
		if list[0].Path != dir {
			t.Fatalf("ReadDir(%s) starts with %s, not itself", dir, list[0].Path)
		}
		for _, fi := range list[1:] {
			if fi.IsDir {
				walk(fi.Path)
				continue
			}
			if strings.HasSuffix(fi.Path, "/manifest.csv") {
				continue
			}
			r, err := f.Open(ctx, fi.Path)
			must(t, err)
			b, err := io.ReadAll(r)
			must(t, err)
			r.Close()
			if int64(len(b)) != fi.Size {
				t.Errorf("%s: %d bytes, Stat says %d", fi.Path, len(b), fi.Size)
			}
			out[strings.TrimPrefix(fi.Path, prefix)] = string(b)
		}
	}
	walk(prefix + "/")
	return out
}

func keys(m map[string]string) []string {
	return slices.Sorted(func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	})
}

func day(d int) time.Time { return time.Date(2026, 1, d, 12, 0, 0, 0, time.UTC) }

func TestDataAccessRules(t *testing.T) {
	e := newEnv(t)
	e.backup(storage.SourceDevice, "laptop", day(1),
		item{path: "a.txt", data: "a v1", modified: day(1)},
		item{path: "old.txt", data: "old", modified: day(1)})
	e.backup(storage.SourceDevice, "laptop", day(20),
		item{path: "a.txt", data: "a v2", modified: day(20)},
		item{path: "gone.txt", data: "gone", modified: day(2), deleted: day(15)},
		item{path: "../../etc/passwd", data: "x", modified: day(20)})
	e.backup(storage.SourceMail, "Exchange Online", day(21),
		item{path: "Inbox/m1", data: "Subject: a\r\n\r\nx\r\n", created: day(5)},
		item{path: "Inbox/m2", data: "Subject: b\r\n\r\ny\r\n", created: day(25)})
	exp := export.New(export.Options{Data: e.data, Meta: e.meta, Parent: func(w string) string {
		if w == "exchange_online" {
			return "microsoft_365"
		}
		return ""
	}})
	tests := []struct {
		name string
		h    holdfast.LegalHold
		want []string
	}{
		{"all data: newest version of every path", holdfast.LegalHold{}, []string{
			"/ann@example.com/Mail/2026/01/05/m1.eml", "/ann@example.com/Mail/2026/01/25/m2.eml",
			"/ann@example.com/laptop/a.txt", "/ann@example.com/laptop/etc/passwd", "/ann@example.com/laptop/gone.txt", "/ann@example.com/laptop/old.txt"}},
		{"last collected data", holdfast.LegalHold{DataAccess: holdfast.AccessLastData}, []string{
			"/ann@example.com/Mail/2026/01/05/m1.eml", "/ann@example.com/Mail/2026/01/25/m2.eml",
			"/ann@example.com/laptop/a.txt", "/ann@example.com/laptop/etc/passwd", "/ann@example.com/laptop/gone.txt"}},
		{"date range", holdfast.LegalHold{DataAccess: holdfast.AccessDateRange, From: ptr(day(3)), To: ptr(day(16))}, []string{
			"/ann@example.com/Mail/2026/01/05/m1.eml", "/ann@example.com/laptop/gone.txt"}},
		{"deleted files only", holdfast.LegalHold{DeletedFilesOnly: true}, []string{"/ann@example.com/laptop/gone.txt"}},
		{"sources: Microsoft 365 only", holdfast.LegalHold{Sources: []string{"microsoft_365"}}, []string{
			"/ann@example.com/Mail/2026/01/05/m1.eml", "/ann@example.com/Mail/2026/01/25/m2.eml"}},
		{"sources: endpoints only", holdfast.LegalHold{Sources: []string{"endpoints"}, DeletedFilesOnly: false, DataAccess: holdfast.AccessLastData}, []string{
			"/ann@example.com/laptop/a.txt", "/ann@example.com/laptop/etc/passwd", "/ann@example.com/laptop/gone.txt"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := e.hold(tt.h)
			got := files(t, exp.FS(h, "/dav/holds/"+h.ID), "/dav/holds/"+h.ID)
			if k := keys(got); !slices.Equal(k, tt.want) {
				t.Errorf("files:\n%s\nwant\n%s", strings.Join(k, "\n"), strings.Join(tt.want, "\n"))
			}
			if a, ok := got["/ann@example.com/laptop/a.txt"]; ok && a != "a v2" {
				t.Errorf("a.txt = %q, want the newest version", a)
			}
		})
	}
}

func ptr(t time.Time) *time.Time { return &t }

// TestDirectoriesAndLinksAreNotHeldFiles: a device snapshot's directory
// and symbolic link items are not exported as files; the folders come
// from the files' paths.
func TestDirectoriesAndLinksAreNotHeldFiles(t *testing.T) {
	e := newEnv(t)
	e.backup(storage.SourceDevice, "laptop", day(1),
		item{path: "home", typ: storage.ItemDir, modified: day(1)},
		item{path: "home/docs", typ: storage.ItemDir, modified: day(1)},
		item{path: "home/docs/a.txt", data: "a", modified: day(1)},
		item{path: "home/empty", typ: storage.ItemDir, modified: day(1)},
		item{path: "home/link", typ: storage.ItemSymlink, link: "docs/a.txt", modified: day(1)})
	exp := export.New(export.Options{Data: e.data, Meta: e.meta, Parent: func(string) string { return "" }})
	h := e.hold(holdfast.LegalHold{})
	got := files(t, exp.FS(h, "/dav/holds/"+h.ID), "/dav/holds/"+h.ID)
	if k := keys(got); !slices.Equal(k, []string{"/ann@example.com/laptop/home/docs/a.txt"}) {
		t.Errorf("held files:\n%s\nwant only home/docs/a.txt", strings.Join(k, "\n"))
	}
}

func TestFSRefusesWritesAndOutsiders(t *testing.T) {
	e := newEnv(t)
	e.backup(storage.SourceDevice, "laptop", day(1), item{path: "a.txt", data: "a", modified: day(1)}, item{path: "a.txt ", data: "b", modified: day(1)})
	h := e.hold(holdfast.LegalHold{})
	f := export.New(export.Options{Data: e.data, Meta: e.meta}).FS(h, "/dav/holds/"+h.ID)
	ctx := context.Background()
	for name, err := range map[string]error{
		"Mkdir":     f.Mkdir(ctx, "/dav/holds/"+h.ID+"/x"),
		"RemoveAll": f.RemoveAll(ctx, "/dav/holds/"+h.ID+"/ann@example.com/laptop/a.txt", nil),
	} {
		if !errors.Is(err, holdfast.ErrDenied) {
			t.Errorf("%s: %v, want 403", name, err)
		}
	}
	if _, _, err := f.Create(ctx, "/dav/holds/"+h.ID+"/x", io.NopCloser(bytes.NewReader(nil)), nil); !errors.Is(err, holdfast.ErrDenied) {
		t.Errorf("Create: %v", err)
	}
	for _, p := range []string{"/dav/holds/other/ann@example.com/", "/dav/holds/" + h.ID + "/bob@example.com/", "/dav/holds/" + h.ID + "/ann@example.com/nope"} {
		if _, err := f.Stat(ctx, p); !errors.Is(err, holdfast.ErrNotFound) {
			t.Errorf("Stat(%s): %v, want 404", p, err)
		}
	}
	// Names that clean to the same segment do not collide.
	got := files(t, f, "/dav/holds/"+h.ID)
	if len(got) != 2 {
		t.Errorf("files = %v", keys(got))
	}
	// Removing the custodian ends access.
	must(t, e.meta.RemoveCustodian(ctx, e.acct, h.ID, e.user.ID))
	if _, err := f.Stat(ctx, "/dav/holds/"+h.ID+"/ann@example.com/"); !errors.Is(err, holdfast.ErrNotFound) {
		t.Errorf("after removal: %v", err)
	}
}
