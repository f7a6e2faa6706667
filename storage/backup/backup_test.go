package backup_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/authz"
	"github.com/holdfast/holdfast/idp"
	"github.com/holdfast/holdfast/server"
	"github.com/holdfast/holdfast/setup"
	"github.com/holdfast/holdfast/storage"
	"github.com/holdfast/holdfast/storage/backup"
	"github.com/holdfast/holdfast/storage/fs"
	"github.com/holdfast/holdfast/storage/sqlite"
)

const token = "hf_backup-test-token-0123456789abcdef"

// realServer runs the real server (SQLite, the real engine, a filesystem
// chunk store) with one user who has an endpoint "laptop".
func realServer(tb testing.TB) (*httptest.Server, *storage.Store) {
	hs, data, _ := realServerDir(tb)
	return hs, data
}

// realServerDir is realServer that also returns the chunk store's
// directory.
func realServerDir(tb testing.TB) (*httptest.Server, *storage.Store, string) {
	rs := newRealServer(tb)
	return rs.hs, rs.data, rs.blobDir
}

// realSrv is a running real server and what it was built from.
type realSrv struct {
	hs      *httptest.Server
	data    *storage.Store
	blobDir string
	meta    holdfast.MetaStore
	account string
	profile string // the Default profile, Ann's
}

func newRealServer(tb testing.TB) *realSrv {
	tb.Helper()
	ctx := context.Background()
	meta, err := sqlite.Open(ctx, filepath.Join(tb.TempDir(), "holdfast.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { meta.Close() })
	res, err := setup.Bootstrap(ctx, meta, setup.BootstrapOptions{Token: token, AdminEmail: "root@example.com", AdminPassword: "Correct horse battery 1"})
	if err != nil {
		tb.Fatal(err)
	}
	profiles, err := meta.ListProfiles(ctx, res.Account.ID)
	if err != nil || len(profiles) == 0 {
		tb.Fatalf("profiles: %v", err)
	}
	now := time.Now().UTC()
	u := holdfast.User{AccountID: res.Account.ID, Email: "ann@example.com", Name: "Ann", ProfileID: profiles[0].ID, State: holdfast.UserActive, CreatedAt: now, UpdatedAt: now}
	if err := meta.CreateUser(ctx, &u); err != nil {
		tb.Fatal(err)
	}
	d := holdfast.Device{AccountID: res.Account.ID, UserID: u.ID, Name: "laptop", Kind: holdfast.DeviceEndpoint, Workload: "endpoints", State: "enabled", CreatedAt: now, UpdatedAt: now}
	if err := meta.CreateDevice(ctx, &d); err != nil {
		tb.Fatal(err)
	}
	engine, err := authz.New(ctx, authz.Options{Store: meta})
	if err != nil {
		tb.Fatal(err)
	}
	blobDir := tb.TempDir()
	blobs, err := fs.New(blobDir)
	if err != nil {
		tb.Fatal(err)
	}
	data, err := storage.Open(ctx, blobs, storage.Options{MasterKey: storage.GenerateMasterKey()})
	if err != nil {
		tb.Fatal(err)
	}
	srv, err := server.New(server.Options{Store: meta, Engine: engine, Data: data})
	if err != nil {
		tb.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	tb.Cleanup(hs.Close)
	return &realSrv{hs: hs, data: data, blobDir: blobDir, meta: meta, account: res.Account.ID, profile: profiles[0].ID}
}

// countingTransport counts chunk uploads by ref and can cut the run off
// after a number of them, as a killed client would be.
type countingTransport struct {
	mu     sync.Mutex
	puts   map[string]int
	n      int
	cutAt  int // 0: never
	cancel context.CancelFunc
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	var body []byte
	if r.Method == "POST" && strings.HasSuffix(r.URL.Path, "/chunks") {
		body, _ = io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err == nil && body != nil && resp.StatusCode == http.StatusNoContent {
		c.mu.Lock()
		// A batch: frames of ref (32 bytes), length (4), data.
		for len(body) >= 36 {
			c.puts[hex.EncodeToString(body[:32])]++
			c.n++
			body = body[36+binary.BigEndian.Uint32(body[32:36]):]
		}
		if c.cutAt > 0 && c.n >= c.cutAt && c.cancel != nil {
			c.cancel()
			c.cancel = nil
		}
		c.mu.Unlock()
	}
	return resp, err
}

func TestResumeDoesNotUploadAgain(t *testing.T) {
	hs, _ := realServer(t)
	src := t.TempDir()
	for i := range 6 {
		b := make([]byte, 3<<20)
		rand.NewChaCha8([32]byte{byte(i)}).Read(b)
		if err := os.WriteFile(filepath.Join(src, "f"+string(rune('a'+i))), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ct := &countingTransport{puts: map[string]int{}, cutAt: 5}
	ctx, cancel := context.WithCancel(context.Background())
	ct.cancel = cancel
	c, err := backup.NewClient(hs.URL, token, &http.Client{Transport: ct})
	if err != nil {
		t.Fatal(err)
	}
	opts := backup.Options{Client: c, User: "ann@example.com", Device: "laptop", Paths: []string{src}, Workers: 1}
	if _, err := backup.Run(ctx, opts); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run = %v, want canceled", err)
	}
	if list, _ := c.Snapshots(context.Background(), "ann@example.com"); len(list) != 0 {
		t.Fatalf("an interrupted backup committed %d snapshots", len(list))
	}
	before := ct.n
	res, err := backup.Run(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if before < 5 || res.Uploaded != res.Chunks-before {
		t.Errorf("resume uploaded %d of %d chunks after %d arrived, want %d", res.Uploaded, res.Chunks, before, res.Chunks-before)
	}
	for ref, n := range ct.puts {
		if n != 1 {
			t.Errorf("chunk %s uploaded %d times", ref, n)
		}
	}
	restored := t.TempDir()
	if _, err := backup.Restore(context.Background(), backup.RestoreOptions{Client: c, SnapshotID: res.Snapshot.ID, Target: restored}); err != nil {
		t.Fatal(err)
	}
	for i := range 6 {
		name := "f" + string(rune('a'+i))
		want, _ := os.ReadFile(filepath.Join(src, name))
		got, _ := os.ReadFile(filepath.Join(restored, filepath.Base(src), name))
		if !bytes.Equal(got, want) {
			t.Errorf("%s: restored %d bytes, want %d", name, len(got), len(want))
		}
	}
}

func TestRestoreRefusesPathsOutsideTarget(t *testing.T) {
	hs, data := realServer(t)
	c, _ := backup.NewClient(hs.URL, token, nil)
	tgt, err := c.Start(context.Background(), "ann@example.com", "laptop", "")
	if err != nil {
		t.Fatal(err)
	}
	// A snapshot committed by a hostile or broken client.
	for _, p := range []string{"../escape", "/abs/path"} {
		sn, err := data.CommitSnapshot(context.Background(), storage.Snapshot{AccountID: accountOf(t, data), UserID: tgt.UserID,
			Source: storage.SourceDevice, Device: "laptop", DeviceID: tgt.DeviceID, Items: []storage.Item{{Path: p}}})
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		if _, err := backup.Restore(context.Background(), backup.RestoreOptions{Client: c, SnapshotID: sn.ID, Target: dir}); !errors.Is(err, holdfast.ErrInvalid) {
			t.Errorf("restore of %q = %v, want ErrInvalid", p, err)
		}
		if _, err := os.Stat(filepath.Join(filepath.Dir(dir), "escape")); err == nil {
			t.Errorf("restore wrote outside its target")
		}
	}
}

func accountOf(tb testing.TB, data *storage.Store) string {
	tb.Helper()
	ids, err := data.Accounts(context.Background())
	if err != nil || len(ids) != 1 {
		tb.Fatalf("accounts = %v, %v", ids, err)
	}
	return ids[0]
}

// TestRealEngineScopes runs backup and restore as a Help Desk
// Administrator scoped to Ann's profile and the endpoints workload: Ann's
// laptop is in scope, Bob's (another profile) and Ann's mailbox (another
// workload) are not, and the engine's refusal reaches the client.
func TestRealEngineScopes(t *testing.T) {
	rs := newRealServer(t)
	ctx := context.Background()
	now := time.Now().UTC()
	other := holdfast.Profile{AccountID: rs.account, Name: "Other", CreatedAt: now, UpdatedAt: now}
	if err := rs.meta.CreateProfile(ctx, &other); err != nil {
		t.Fatal(err)
	}
	ann, err := rs.meta.GetUserByEmail(ctx, rs.account, "ann@example.com")
	if err != nil {
		t.Fatal(err)
	}
	bob := holdfast.User{AccountID: rs.account, Email: "bob@example.com", Name: "Bob", ProfileID: other.ID, State: holdfast.UserActive, CreatedAt: now, UpdatedAt: now}
	if err := rs.meta.CreateUser(ctx, &bob); err != nil {
		t.Fatal(err)
	}
	for _, d := range []holdfast.Device{
		{AccountID: rs.account, UserID: bob.ID, Name: "laptop", Kind: holdfast.DeviceEndpoint, Workload: "endpoints", State: "enabled", CreatedAt: now, UpdatedAt: now},
		{AccountID: rs.account, UserID: ann.ID, Name: "Exchange", Kind: holdfast.DeviceSaaS, Workload: "exchange_online", State: "enabled", CreatedAt: now, UpdatedAt: now},
	} {
		if err := rs.meta.CreateDevice(ctx, &d); err != nil {
			t.Fatal(err)
		}
	}
	admin := holdfast.Administrator{AccountID: rs.account, Name: "Ops", Email: "ops@example.com", RoleID: "help_desk_admin",
		Scopes: holdfast.Scopes{Profiles: []string{rs.profile}, Workloads: []string{"endpoints"}}, State: holdfast.AdminActive, CreatedAt: now, UpdatedAt: now}
	if err := rs.meta.CreateAdmin(ctx, &admin); err != nil {
		t.Fatal(err)
	}
	const opsToken = "hf_ops-scoped-token-0123456789abcdefgh"
	if err := rs.meta.CreateToken(ctx, &holdfast.APIToken{AccountID: rs.account, AdminID: admin.ID, Name: "ops", Hash: idp.HashToken(opsToken),
		Prefix: opsToken[:8], CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	c, err := backup.NewClient(rs.hs.URL, opsToken, nil)
	if err != nil {
		t.Fatal(err)
	}
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "a.txt"), []byte("in scope"), 0o644); err != nil {
		t.Fatal(err)
	}
	mail := filepath.Join(src, "m.eml")
	if err := os.WriteFile(mail, []byte("From: x@example.com\r\n\r\nhi\r\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := backup.Run(ctx, backup.Options{Client: c, User: "ann@example.com", Device: "laptop", Paths: []string{src}})
	if err != nil {
		t.Fatalf("in-scope backup: %v", err)
	}
	for _, tc := range []backup.Options{
		{Client: c, User: "bob@example.com", Device: "laptop", Paths: []string{src}},
		{Client: c, User: "ann@example.com", Source: storage.SourceMail, Paths: []string{mail}},
	} {
		if _, err := backup.Run(ctx, tc); !errors.Is(err, holdfast.ErrDenied) {
			t.Errorf("backup of %s %s%s = %v, want a refusal", tc.User, tc.Device, tc.Source, err)
		}
	}
	if _, err := backup.Restore(ctx, backup.RestoreOptions{Client: c, SnapshotID: res.Snapshot.ID, Target: t.TempDir()}); err != nil {
		t.Errorf("in-scope restore: %v", err)
	}
	// Bob's data, backed up by the platform administrator, stays out of reach.
	root, _ := backup.NewClient(rs.hs.URL, token, nil)
	bobs, err := backup.Run(ctx, backup.Options{Client: root, User: "bob@example.com", Device: "laptop", Paths: []string{src}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Snapshot(ctx, bobs.Snapshot.ID); !errors.Is(err, holdfast.ErrDenied) {
		t.Errorf("out-of-scope snapshot = %v, want a refusal", err)
	}
	if _, err := c.Snapshots(ctx, "bob@example.com"); !errors.Is(err, holdfast.ErrDenied) {
		t.Errorf("out-of-scope listing = %v, want a refusal", err)
	}
	if _, err := c.Content(ctx, bobs.Snapshot.ID, filepath.Base(src)+"/a.txt"); !errors.Is(err, holdfast.ErrDenied) {
		t.Errorf("out-of-scope content = %v, want a refusal", err)
	}
}

// TestEmptySourceCommitsNothing: a source with nothing in it is refused by
// the client with a clear message, and the newest snapshot stays the last
// real one.
func TestEmptySourceCommitsNothing(t *testing.T) {
	hs, _ := realServer(t)
	c, err := backup.NewClient(hs.URL, token, nil)
	if err != nil {
		t.Fatal(err)
	}
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "report.txt"), []byte("quarterly numbers"), 0o644); err != nil {
		t.Fatal(err)
	}
	first, err := backup.Run(context.Background(), backup.Options{Client: c, User: "ann@example.com", Device: "laptop", Paths: []string{src}})
	if err != nil {
		t.Fatal(err)
	}
	empty := t.TempDir()
	if err := os.Mkdir(filepath.Join(empty, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err = backup.Run(context.Background(), backup.Options{Client: c, User: "ann@example.com", Device: "laptop", Paths: []string{empty}})
	if !errors.Is(err, holdfast.ErrInvalid) || !strings.Contains(err.Error(), "nothing to back up") {
		t.Fatalf("backup of an empty directory = %v, want a refusal saying there is nothing to back up", err)
	}
	list, err := c.Snapshots(context.Background(), "ann@example.com")
	if err != nil || len(list) != 1 || list[0].ID != first.Snapshot.ID {
		t.Fatalf("snapshots after the refused backup: %+v %v, want only the first", list, err)
	}
}

// TestRestoreKeepsModesAndTimes: restored files get their permission bits
// and modification times back; a restore over existing files refuses
// before writing anything unless Overwrite is set; the progress line goes
// to Progress only.
func TestRestoreKeepsModesAndTimes(t *testing.T) {
	hs, _ := realServer(t)
	c, err := backup.NewClient(hs.URL, token, nil)
	if err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(t.TempDir(), "home")
	files := map[string]struct {
		mode  os.FileMode
		mtime time.Time
	}{
		"run.sh":       {0o755, time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)},
		"secret.txt":   {0o600, time.Date(2023, 1, 2, 3, 4, 5, 0, time.UTC)},
		"docs/a.md":    {0o644, time.Date(2022, 12, 31, 23, 59, 58, 0, time.UTC)},
		"docs/ro.conf": {0o444, time.Date(2021, 6, 1, 0, 0, 0, 0, time.UTC)},
	}
	for name, f := range files {
		p := filepath.Join(src, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("content of "+name), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, f.mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, f.mtime, f.mtime); err != nil {
			t.Fatal(err)
		}
	}
	res, err := backup.Run(context.Background(), backup.Options{Client: c, User: "ann@example.com", Device: "laptop", Paths: []string{src}})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var progress bytes.Buffer
	if _, err := backup.Restore(context.Background(), backup.RestoreOptions{Client: c, SnapshotID: res.Snapshot.ID, Target: dir, Progress: &progress}); err != nil {
		t.Fatal(err)
	}
	for name, f := range files {
		fi, err := os.Stat(filepath.Join(dir, "home", filepath.FromSlash(name)))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != f.mode || !fi.ModTime().Equal(f.mtime) {
			t.Errorf("%s: restored with mode %v, time %v; want %v, %v", name, fi.Mode().Perm(), fi.ModTime().UTC(), f.mode, f.mtime)
		}
	}
	if !strings.Contains(progress.String(), "6/6 items") { // 4 files, 2 directories
		t.Errorf("restore progress = %q, want a line counting the items", progress.String())
	}

	// Over the same files: refused, nothing touched, until Overwrite.
	changed := filepath.Join(dir, "home", "docs", "a.md")
	if err := os.Chmod(changed, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(changed, []byte("local edit"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = backup.Restore(context.Background(), backup.RestoreOptions{Client: c, SnapshotID: res.Snapshot.ID, Target: dir})
	if !errors.Is(err, holdfast.ErrConflict) || !strings.Contains(err.Error(), "--overwrite") {
		t.Fatalf("restore over existing files = %v, want a conflict naming --overwrite", err)
	}
	if b, _ := os.ReadFile(changed); string(b) != "local edit" {
		t.Errorf("a refused restore changed %s: %q", changed, b)
	}
	if _, err := backup.Restore(context.Background(), backup.RestoreOptions{Client: c, SnapshotID: res.Snapshot.ID, Target: dir, Overwrite: true}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(changed); string(b) != "content of docs/a.md" {
		t.Errorf("restore with Overwrite left %q", b)
	}
}
