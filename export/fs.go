// Package export serves held data to legal counsel: a read-only WebDAV
// file system per legal hold over the dedup store, and the .eml, .ics and
// .vcf renderers (RFC 5322, 5545, 6350).
//
// # Layout
//
//	/{custodian email}/manifest.csv                      path, size, SHA-256, times
//	/{custodian email}/{device}/{original path}          endpoint and cloud files
//	/{custodian email}/Mail/{yyyy}/{mm}/{dd}/{id}.eml    the backed-up bytes, unchanged
//	/{custodian email}/Calendar/{folder}/{uid}.ics
//	/{custodian email}/Contacts/{folder}/{uid}.vcf
//
// Only the hold's custodians appear, only data sources the hold includes,
// and only items its data access rule exposes (all data, the last
// snapshot, or a date range; deleted files only). Files stream from the
// store a chunk at a time; nothing is copied to disk.
package export

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-webdav"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/legalhold"
	"github.com/holdfast/holdfast/storage"
	"github.com/holdfast/holdfast/storage/pim"
)

// Data is the part of the dedup store (*storage.Store) the export reads.
type Data interface {
	Snapshots(ctx context.Context, f storage.SnapshotFilter) ([]storage.Snapshot, error)
	Snapshot(ctx context.Context, account, id string) (storage.Snapshot, error)
	OpenItem(ctx context.Context, account, snapID, path string) (*storage.ItemReader, error)
}

// Options configure an Exporter.
type Options struct {
	Data Data               // required
	Meta holdfast.MetaStore // required: custodians, users, devices
	// Parent returns a workload's parent workload ("microsoft_365" for
	// "exchange_online"), for holds that name a parent; nil: none.
	Parent func(workload string) string
}

// Exporter builds hold file systems. It caches the tree of each custodian
// per hold revision and snapshot set (both immutable), and the SHA-256 of
// items. It is safe for concurrent use.
type Exporter struct {
	opts Options

	mu    sync.Mutex
	trees map[string]*tree // guarded by mu
}

// maxTrees bounds the cached custodian trees.
const maxTrees = 64

// New returns an exporter.
func New(opts Options) *Exporter {
	if opts.Parent == nil {
		opts.Parent = func(string) string { return "" }
	}
	return &Exporter{opts: opts, trees: map[string]*tree{}}
}

// FS returns the read-only file system of the hold as it is now, mounted
// at prefix (for example /dav/holds/{id}): names passed to it start with
// prefix, and so do the paths it reports. Its write methods fail with 403.
func (e *Exporter) FS(h holdfast.LegalHold, prefix string) webdav.FileSystem {
	return &holdFS{e: e, hold: h, prefix: strings.TrimSuffix(prefix, "/")}
}

// node is a file or folder of a custodian's tree. Immutable once built,
// except for the lazy manifest (guarded by once).
type node struct {
	name     string
	dir      bool
	children map[string]*node
	sorted   []*node
	size     int64
	mod      time.Time
	etag     string
	mime     string
	// A stored item: snapID and itemPath. A rendered one: data.
	snapID, itemPath string
	item             storage.Item
	data             []byte
	// contact is set on rendered contacts, for the CardDAV view.
	contact *storage.Contact
	uid     string // of a rendered event or contact
	// lazy computes data on first use (the manifest).
	lazy func() ([]byte, error)
	once sync.Once
	err  error
}

type tree struct {
	root *node
}

// errReadOnly answers every write; it matches holdfast.ErrDenied.
var errReadOnly = webdav.NewHTTPError(http.StatusForbidden, fmt.Errorf("%w: the legal hold export is read-only", holdfast.ErrDenied))

func notFound(name string) error {
	return webdav.NewHTTPError(http.StatusNotFound, fmt.Errorf("%s: %w", name, holdfast.ErrNotFound))
}

type holdFS struct {
	e      *Exporter
	hold   holdfast.LegalHold
	prefix string
}

func (f *holdFS) Create(context.Context, string, io.ReadCloser, *webdav.CreateOptions) (*webdav.FileInfo, bool, error) {
	return nil, false, errReadOnly
}
func (f *holdFS) RemoveAll(context.Context, string, *webdav.RemoveAllOptions) error {
	return errReadOnly
}
func (f *holdFS) Mkdir(context.Context, string) error { return errReadOnly }
func (f *holdFS) Copy(context.Context, string, string, *webdav.CopyOptions) (bool, error) {
	return false, errReadOnly
}
func (f *holdFS) Move(context.Context, string, string, *webdav.MoveOptions) (bool, error) {
	return false, errReadOnly
}

// split cleans name and returns its segments ("/" has none).
func split(name string) []string {
	name = strings.Trim(path.Clean("/"+name), "/")
	if name == "" {
		return nil
	}
	return strings.Split(name, "/")
}

// lookup resolves name to its node; the root is a synthetic folder of the
// custodians.
func (f *holdFS) lookup(ctx context.Context, name string) (*node, string, error) {
	name = path.Clean("/" + name)
	if name != f.prefix && !strings.HasPrefix(name, f.prefix+"/") {
		return nil, "", notFound(name)
	}
	segs := split(strings.TrimPrefix(name, f.prefix))
	if len(segs) == 0 {
		root, err := f.custodianRoot(ctx)
		return root, f.prefix + "/", err
	}
	t, err := f.custodianTree(ctx, segs[0])
	if err != nil {
		return nil, "", err
	}
	n := t.root
	for _, s := range segs[1:] {
		c, ok := n.children[s]
		if !ok {
			return nil, "", notFound(name)
		}
		n = c
	}
	p := f.prefix + "/" + strings.Join(segs, "/")
	if n.dir {
		p += "/"
	}
	return n, p, nil
}

func (f *holdFS) custodianRoot(ctx context.Context) (*node, error) {
	cs, err := f.custodians(ctx)
	if err != nil {
		return nil, err
	}
	root := &node{dir: true, children: map[string]*node{}, mod: f.hold.UpdatedAt}
	for email := range cs {
		root.children[email] = &node{name: email, dir: true, mod: f.hold.UpdatedAt}
	}
	finish(root)
	return root, nil
}

// custodians maps the hold's custodians' emails to their users.
func (f *holdFS) custodians(ctx context.Context) (map[string]holdfast.User, error) {
	meta := f.e.opts.Meta
	cs, err := meta.ListCustodians(ctx, f.hold.AccountID, f.hold.ID)
	if err != nil {
		return nil, err
	}
	out := make(map[string]holdfast.User, len(cs))
	for _, c := range cs {
		u, err := meta.GetUser(ctx, f.hold.AccountID, c.UserID)
		if err != nil {
			return nil, fmt.Errorf("export: custodian %s: %w", c.UserID, err)
		}
		out[u.Email] = u
	}
	return out, nil
}

func (f *holdFS) Stat(ctx context.Context, name string) (*webdav.FileInfo, error) {
	n, p, err := f.lookup(ctx, name)
	if err != nil {
		return nil, err
	}
	return n.info(p)
}

func (f *holdFS) ReadDir(ctx context.Context, name string, recursive bool) ([]webdav.FileInfo, error) {
	if recursive {
		// The server refuses Depth: infinity before it gets here.
		return nil, webdav.NewHTTPError(http.StatusForbidden, errors.New("depth infinity is not served"))
	}
	n, p, err := f.lookup(ctx, name)
	if err != nil {
		return nil, err
	}
	if !n.dir {
		return nil, webdav.NewHTTPError(http.StatusBadRequest, fmt.Errorf("%s is not a folder", name))
	}
	self, err := n.info(p)
	if err != nil {
		return nil, err
	}
	out := make([]webdav.FileInfo, 0, len(n.sorted)+1)
	out = append(out, *self)
	for _, c := range n.sorted {
		cp := p + c.name
		if c.dir {
			cp += "/"
		}
		fi, err := c.info(cp)
		if err != nil {
			return nil, err
		}
		out = append(out, *fi)
	}
	return out, nil
}

func (f *holdFS) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	n, _, err := f.lookup(ctx, name)
	if err != nil {
		return nil, err
	}
	if n.dir {
		return nil, webdav.NewHTTPError(http.StatusMethodNotAllowed, errors.New("a folder has no content"))
	}
	if data, err := n.content(); err != nil || data != nil {
		return nopCloser{bytes.NewReader(data)}, err
	}
	r, err := f.e.opts.Data.OpenItem(ctx, f.hold.AccountID, n.snapID, n.itemPath)
	if err != nil {
		return nil, err
	}
	if r.Size() <= prefetchBlock {
		return r, nil // one block: nothing to overlap
	}
	return newPrefetchReader(ctx, r), nil
}

type nopCloser struct{ *bytes.Reader }

func (nopCloser) Close() error { return nil }

// content returns a rendered node's bytes, nil for a stored item.
func (n *node) content() ([]byte, error) {
	if n.lazy != nil {
		n.once.Do(func() {
			n.data, n.err = n.lazy()
			if n.err == nil {
				n.size, n.etag = int64(len(n.data)), contentTag(n.data)
			}
		})
		return n.data, n.err
	}
	return n.data, nil
}

func (n *node) info(p string) (*webdav.FileInfo, error) {
	if n.dir {
		return &webdav.FileInfo{Path: p, IsDir: true, ModTime: n.mod}, nil
	}
	if _, err := n.content(); err != nil {
		return nil, err
	}
	return &webdav.FileInfo{Path: p, Size: n.size, ModTime: n.mod, MIMEType: n.mime, ETag: n.etag}, nil
}

func contentTag(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:16])
}

// finish sorts every folder's children by name.
func finish(n *node) {
	if !n.dir {
		return
	}
	n.sorted = n.sorted[:0]
	for _, c := range n.children {
		finish(c)
		n.sorted = append(n.sorted, c)
	}
	slices.SortFunc(n.sorted, func(a, b *node) int { return strings.Compare(a.name, b.name) })
}

// series is the snapshots of one data source of a user, oldest first.
type series struct {
	source storage.Source
	device string
	snaps  []storage.Snapshot
}

// custodianTree returns the tree of the custodian with the email, from the
// cache when the hold and the snapshots are as they were.
func (f *holdFS) custodianTree(ctx context.Context, email string) (*tree, error) {
	cs, err := f.custodians(ctx)
	if err != nil {
		return nil, err
	}
	u, ok := cs[email]
	if !ok {
		return nil, notFound(email)
	}
	snaps, err := f.e.opts.Data.Snapshots(ctx, storage.SnapshotFilter{AccountID: f.hold.AccountID, UserID: u.ID})
	if err != nil {
		return nil, err
	}
	var key strings.Builder
	fmt.Fprintf(&key, "%s|%s|%d|%s", f.hold.AccountID, f.hold.ID, f.hold.UpdatedAt.UnixMicro(), u.ID)
	for _, s := range snaps {
		key.WriteString("|" + s.ID)
	}
	f.e.mu.Lock()
	t, ok := f.e.trees[key.String()]
	f.e.mu.Unlock()
	if ok {
		return t, nil
	}
	t, err = f.build(ctx, u, snaps)
	if err != nil {
		return nil, err
	}
	f.e.mu.Lock()
	if len(f.e.trees) >= maxTrees {
		for k := range f.e.trees { // evict one at random
			delete(f.e.trees, k)
			break
		}
	}
	f.e.trees[key.String()] = t
	f.e.mu.Unlock()
	return t, nil
}

// defaultWorkload is the workload of a source whose device is unknown.
var defaultWorkload = map[storage.Source]string{
	storage.SourceDevice: "endpoints", storage.SourceMail: "exchange_online", storage.SourceCalendar: "exchange_online",
	storage.SourceContacts: "exchange_online", storage.SourceFiles: "onedrive",
}

// kindFolder names the folder of mail, calendars and contacts.
var kindFolder = map[storage.Source]string{storage.SourceMail: "Mail", storage.SourceCalendar: "Calendar", storage.SourceContacts: "Contacts"}

func (f *holdFS) build(ctx context.Context, u holdfast.User, snaps []storage.Snapshot) (*tree, error) {
	devices, err := f.e.opts.Meta.ListDevices(ctx, f.hold.AccountID, u.ID)
	if err != nil {
		return nil, err
	}
	workload := map[string]string{}
	for _, d := range devices {
		workload[d.Name] = d.Workload
	}
	var all []*series
	idx := map[[2]string]*series{}
	for _, s := range snaps {
		k := [2]string{string(s.Source), s.Device}
		if idx[k] == nil {
			idx[k] = &series{source: s.Source, device: s.Device}
			all = append(all, idx[k])
		}
		idx[k].snaps = append(idx[k].snaps, s)
	}
	kinds := map[storage.Source]int{}
	for _, s := range all {
		kinds[s.source]++
	}
	root := &node{name: u.Email, dir: true, children: map[string]*node{}, mod: f.hold.UpdatedAt}
	for _, s := range all {
		w := workload[s.device]
		if w == "" {
			w = defaultWorkload[s.source]
		}
		if !legalhold.CoversSource(f.hold, w, f.e.opts.Parent(w)) {
			continue
		}
		top := segment(s.device)
		if k, ok := kindFolder[s.source]; ok {
			top = k
			if kinds[s.source] > 1 {
				top = k + " (" + segment(s.device) + ")"
			}
		}
		chosen := s.snaps
		if legalhold.LastOnly(f.hold) {
			chosen = chosen[len(chosen)-1:]
		}
		// Newest version of each path wins; items seen only in older
		// snapshots are kept (held data is all collected data).
		type version struct {
			snap storage.Snapshot
			item storage.Item
		}
		latest := map[string]version{}
		var order []string
		for _, sn := range chosen {
			full, err := f.e.opts.Data.Snapshot(ctx, f.hold.AccountID, sn.ID)
			if err != nil {
				return nil, err
			}
			for _, it := range full.Items {
				if _, ok := latest[it.Path]; !ok {
					order = append(order, it.Path)
				}
				latest[it.Path] = version{full, it}
			}
		}
		for _, p := range order {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			v := latest[p]
			it := v.item
			if !it.IsFile() || !legalhold.Exposes(f.hold, it.Created, it.Modified, it.Deleted) {
				continue // directories and links are not held data; folders come from paths
			}
			n, segs, err := f.itemNode(ctx, s.source, v.snap, it)
			if err != nil {
				return nil, err
			}
			place(root, append([]string{top}, segs...), n)
		}
	}
	manifest := &node{name: "manifest.csv", mime: "text/csv; charset=utf-8", mod: f.hold.UpdatedAt}
	manifest.lazy = func() ([]byte, error) { return f.manifest(context.WithoutCancel(ctx), root) }
	if _, taken := root.children[manifest.name]; !taken {
		root.children[manifest.name] = manifest
	}
	finish(root)
	return &tree{root: root}, nil
}

// itemNode makes the node of one item and the path segments it goes at.
func (f *holdFS) itemNode(ctx context.Context, src storage.Source, snap storage.Snapshot, it storage.Item) (*node, []string, error) {
	mod := stamp(it.Modified, it.Created, snap.Time)
	n := &node{snapID: snap.ID, itemPath: it.Path, item: it, size: it.Size, mod: mod, mime: it.ContentType}
	h := sha256.New()
	for _, c := range it.Chunks {
		h.Write(c[:])
	}
	n.etag = hex.EncodeToString(h.Sum(nil)[:16])
	base := segment(path.Base("/" + it.Path))
	switch src {
	case storage.SourceMail:
		t := stamp(it.Created, it.Modified, snap.Time)
		n.mime = "message/rfc822"
		return n, []string{t.Format("2006"), t.Format("01"), t.Format("02"), withExt(base, ".eml")}, nil
	case storage.SourceCalendar, storage.SourceContacts:
		if err := f.render(ctx, src, snap, it, n); err != nil {
			return nil, nil, err
		}
		ext := map[storage.Source]string{storage.SourceCalendar: ".ics", storage.SourceContacts: ".vcf"}[src]
		segs := folderSegments(it.Folder)
		if n.uid != "" {
			return n, append(segs, pim.FileName(n.uid)+ext), nil // <uid>.ics, <uid>.vcf
		}
		return n, append(segs, withExt(base, ext)), nil
	}
	var segs []string
	for _, s := range split(it.Path) {
		segs = append(segs, segment(s))
	}
	if len(segs) == 0 {
		segs = []string{"unnamed"}
	}
	if n.mime == "" || n.mime == "application/octet-stream" {
		if t := mime.TypeByExtension(path.Ext(base)); t != "" {
			n.mime = t
		}
	}
	return n, segs, nil
}

// render turns a stored event or contact into .ics or .vcf bytes; items
// that are not the structured JSON are served as stored.
func (f *holdFS) render(ctx context.Context, src storage.Source, snap storage.Snapshot, it storage.Item, n *node) error {
	want := map[storage.Source]string{storage.SourceCalendar: storage.ContentTypeEvent, storage.SourceContacts: storage.ContentTypeContact}[src]
	if it.ContentType != want {
		return nil
	}
	r, err := f.e.opts.Data.OpenItem(ctx, snap.AccountID, snap.ID, it.Path)
	if err != nil {
		return err
	}
	defer r.Close()
	raw, err := io.ReadAll(io.LimitReader(r, 16<<20))
	if err != nil {
		return err
	}
	var out []byte
	when := stamp(it.Modified, it.Created, snap.Time)
	if src == storage.SourceCalendar {
		var ev storage.Event
		if err = json.Unmarshal(raw, &ev); err == nil {
			if cal := pim.EventCalendar(ev, when); cal != "" {
				out, err = pim.RenderCalendar(cal, when)
			} else {
				out, err = ICS(ev, when)
			}
			n.mime, n.uid = "text/calendar; charset=utf-8", ev.UID
		}
	} else {
		var c storage.Contact
		if err = json.Unmarshal(raw, &c); err == nil {
			if c.Card = pim.ContactCard(c); c.Card != "" {
				out, err = pim.RenderCard(c.Card)
			} else {
				out, err = VCF(c)
			}
			n.mime, n.uid = "text/vcard; charset=utf-8", c.UID
			n.contact = &c
		}
	}
	if err != nil {
		return fmt.Errorf("export: render %s of snapshot %s: %w", it.Path, snap.ID, err)
	}
	n.data, n.size, n.etag = out, int64(len(out)), contentTag(out)
	return nil
}

// place puts n at segs under root, making folders, and renames it "x (2)"
// when the name is taken.
func place(root *node, segs []string, n *node) {
	dir := root
	for _, s := range segs[:len(segs)-1] {
		c, ok := dir.children[s]
		if !ok || !c.dir {
			if ok {
				s += " (folder)"
				if c2, ok2 := dir.children[s]; ok2 && c2.dir {
					dir = c2
					continue
				}
			}
			c = &node{name: s, dir: true, children: map[string]*node{}, mod: n.mod}
			dir.children[s] = c
		}
		if n.mod.After(c.mod) {
			c.mod = n.mod
		}
		dir = c
	}
	name := segs[len(segs)-1]
	ext := path.Ext(name)
	stem := strings.TrimSuffix(name, ext)
	for i := 2; ; i++ {
		if _, taken := dir.children[name]; !taken {
			break
		}
		name = stem + " (" + strconv.Itoa(i) + ")" + ext
	}
	n.name = name
	dir.children[name] = n
}

// segment makes a name safe as one path segment.
func segment(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f || r == '/' || r == '\\' {
			return '_'
		}
		return r
	}, strings.TrimSpace(s))
	switch s {
	case "", ".", "..":
		return "_" + s
	}
	return s
}

func folderSegments(folder string) []string {
	var out []string
	for _, s := range split(folder) {
		out = append(out, segment(s))
	}
	return out
}

func withExt(name, ext string) string {
	if strings.EqualFold(path.Ext(name), ext) {
		return name
	}
	return name + ext
}

// manifest renders the custodian's manifest: every file of the tree with
// its path, size, SHA-256 and times (RFC 3339, UTC). Cells are neutralized
// for spreadsheets.
func (f *holdFS) manifest(ctx context.Context, root *node) ([]byte, error) {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.UseCRLF = true
	_ = w.Write([]string{"path", "size", "sha256", "created", "modified", "deleted"})
	var walk func(prefix string, n *node) error
	walk = func(prefix string, n *node) error {
		for _, c := range n.sorted {
			p := prefix + "/" + c.name
			if c.dir {
				if err := walk(p, c); err != nil {
					return err
				}
				continue
			}
			if c.lazy != nil {
				continue // the manifest itself
			}
			sum, err := f.sum(ctx, c)
			if err != nil {
				return err
			}
			ts := func(t time.Time) string {
				if t.IsZero() {
					return ""
				}
				return t.UTC().Format(time.RFC3339)
			}
			_ = w.Write([]string{legalhold.SafeCell(p), strconv.FormatInt(c.size, 10), sum,
				ts(c.item.Created), ts(c.item.Modified), ts(c.item.Deleted)})
		}
		return nil
	}
	if err := walk("", root); err != nil {
		return nil, err
	}
	w.Flush()
	return buf.Bytes(), w.Error()
}

// sum is the SHA-256 of a node's content as served.
func (f *holdFS) sum(ctx context.Context, n *node) (string, error) {
	if n.data != nil {
		s := sha256.Sum256(n.data)
		return hex.EncodeToString(s[:]), nil
	}
	r, err := f.e.opts.Data.OpenItem(ctx, f.hold.AccountID, n.snapID, n.itemPath)
	if err != nil {
		return "", err
	}
	defer r.Close()
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
