package server

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/storage"
	"github.com/holdfast/holdfast/storage/fs"
)

// dataFixture is a fixture whose server has a data store.
func dataFixture(tb testing.TB) (*fixture, *storage.Store, seed) {
	tb.Helper()
	f := newFixture(tb)
	blobs, err := fs.New(tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	data, err := storage.Open(context.Background(), blobs, storage.Options{MasterKey: storage.GenerateMasterKey()})
	if err != nil {
		tb.Fatal(err)
	}
	f.srv, err = New(Options{Store: f.store, Engine: f.engine, Logger: slog.New(slog.NewJSONHandler(f.logs, nil)), Data: data})
	if err != nil {
		tb.Fatal(err)
	}
	f.handler = f.srv.Handler()
	return f, data, f.seedData()
}

// putRaw sends a chunk upload with an explicit body and Content-Length.
func (f *fixture) putRaw(path string, body []byte, contentLength int64) *httptest.ResponseRecorder {
	f.t.Helper()
	req := httptest.NewRequest("PUT", path, bytes.NewReader(body))
	req.ContentLength = contentLength
	req.Header.Set("Authorization", "Bearer "+testToken)
	req.Header.Set("Content-Type", "application/octet-stream")
	w := httptest.NewRecorder()
	f.handler.ServeHTTP(w, req)
	return w
}

func TestBackupAndRestoreAPI(t *testing.T) {
	f, _, sd := dataFixture(t)
	w := f.do("POST", "/api/v1/backups", map[string]any{"user": "ann@example.com", "device": "laptop"})
	if w.Code != 200 {
		t.Fatalf("start = %d %s", w.Code, w.Body)
	}
	var tgt backupTarget
	decode(t, w, &tgt)
	if tgt.DeviceID != sd.device || tgt.UserID != sd.user || len(tgt.ChunkerKey) != 32 || tgt.Source != storage.SourceDevice {
		t.Fatalf("target = %+v", tgt)
	}
	c := storage.NewChunker(storage.ChunkerKey(tgt.ChunkerKey))
	content := make([]byte, 3<<20) // several chunks
	rand.NewChaCha8([32]byte{1}).Read(content)
	var refs []holdfast.ChunkRef
	chunks := map[holdfast.ChunkRef][]byte{}
	if err := c.Split(bytes.NewReader(content), func(ref holdfast.ChunkRef, data []byte) error {
		refs = append(refs, ref)
		chunks[ref] = bytes.Clone(data)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	base := "/api/v1/backups/" + sd.device
	missing := func() []holdfast.ChunkRef {
		t.Helper()
		w := f.do("POST", base+"/missing", chunkRefs{Refs: refs})
		if w.Code != 200 {
			t.Fatalf("missing = %d %s", w.Code, w.Body)
		}
		var out chunkRefs
		decode(t, w, &out)
		return out.Refs
	}
	if got := missing(); len(got) != len(chunks) {
		t.Fatalf("missing before upload = %d refs, want %d", len(got), len(chunks))
	}
	item := storage.Item{Path: "docs/a.txt", ContentType: "text/plain", Size: int64(len(content)), Chunks: refs}
	commit := map[string]any{"items": []storage.Item{item}}

	// Bad input changes nothing.
	first := chunks[refs[0]]
	bad := []struct {
		name   string
		path   string
		body   []byte
		length int64
		status int
	}{
		{"wrong hash", base + "/chunks/" + refs[1].String(), first, int64(len(first)), 422},
		{"truncated", base + "/chunks/" + refs[0].String(), first[:100], int64(len(first)), 400},
		{"too large", base + "/chunks/" + refs[0].String(), nil, storage.MaxChunk + 1, 413},
		{"empty", base + "/chunks/" + refs[0].String(), nil, 0, 400},
		{"bad ref", base + "/chunks/xyz", first, int64(len(first)), 422},
		{"unknown device", "/api/v1/backups/nope/chunks/" + refs[0].String(), first, int64(len(first)), 404},
	}
	for _, tt := range bad {
		w := f.putRaw(tt.path, tt.body, tt.length)
		if w.Code != tt.status {
			t.Errorf("%s: status %d, want %d: %s", tt.name, w.Code, tt.status, w.Body)
		}
		errorOf(t, w)
	}
	if got := missing(); len(got) != len(chunks) {
		t.Errorf("after refused uploads %d refs missing, want all %d", len(got), len(chunks))
	}
	w = f.do("POST", base+"/snapshots", commit)
	if w.Code != 422 {
		t.Fatalf("commit without chunks = %d %s", w.Code, w.Body)
	}
	if e := errorOf(t, w); len(e.Fields) != len(chunks) || e.Fields[0].Field != "chunks" || e.Fields[0].Message != refs[0].String() {
		t.Errorf("refused commit fields = %+v", e.Fields)
	}

	// Upload only what is missing, then commit.
	for _, ref := range missing() {
		if w := f.putRaw(base+"/chunks/"+ref.String(), chunks[ref], int64(len(chunks[ref]))); w.Code != 204 {
			t.Fatalf("put = %d %s", w.Code, w.Body)
		}
	}
	if got := missing(); len(got) != 0 {
		t.Errorf("after upload %d refs missing", len(got))
	}
	w = f.do("POST", base+"/snapshots", commit)
	if w.Code != 201 {
		t.Fatalf("commit = %d %s", w.Code, w.Body)
	}
	var snap storage.Snapshot
	decode(t, w, &snap)
	if snap.DeviceID != sd.device || snap.UserID != sd.user || snap.Size != int64(len(content)) {
		t.Errorf("snapshot = %+v", snap)
	}

	w = f.do("GET", "/api/v1/snapshots?user_id="+sd.user, nil)
	var list struct {
		Snapshots []storage.Snapshot `json:"snapshots"`
		Total     int                `json:"total"`
	}
	decode(t, w, &list)
	if w.Code != 200 || len(list.Snapshots) != 1 || list.Snapshots[0].ID != snap.ID || list.Total != 1 {
		t.Fatalf("list = %d %s", w.Code, w.Body)
	}
	w = f.do("GET", "/api/v1/snapshots/"+snap.ID, nil)
	var got storage.Snapshot
	decode(t, w, &got)
	if len(got.Items) != 1 || got.Items[0].Path != "docs/a.txt" {
		t.Errorf("get = %s", w.Body)
	}
	// Chunk refs never leave the server: with one, another device could
	// commit this user's data as its own and download it from there.
	if strings.Contains(w.Body.String(), `"chunks"`) || len(got.Items[0].Chunks) != 0 {
		t.Errorf("get shows chunk refs: %s", w.Body)
	}
	req := httptest.NewRequest("GET", "/api/v1/snapshots/"+snap.ID+"/content?path=docs/a.txt", nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	req.Header.Set("Range", "bytes=300000-300099")
	rw := httptest.NewRecorder()
	f.handler.ServeHTTP(rw, req)
	if rw.Code != http.StatusPartialContent || !bytes.Equal(rw.Body.Bytes(), content[300000:300100]) || rw.Header().Get("Content-Type") != "text/plain" {
		t.Errorf("range = %d %q (%s)", rw.Code, rw.Body.Bytes()[:min(20, rw.Body.Len())], rw.Header())
	}
	w = f.do("GET", "/api/v1/snapshots/"+snap.ID+"/content?path=docs/a.txt", nil)
	if w.Code != 200 || !bytes.Equal(w.Body.Bytes(), content) {
		t.Errorf("content = %d, %d bytes", w.Code, w.Body.Len())
	}
	if w := f.do("GET", "/api/v1/snapshots/"+snap.ID+"/content?path=nope", nil); w.Code != 404 {
		t.Errorf("missing path = %d", w.Code)
	}
	if w := f.do("GET", "/api/v1/snapshots/nope", nil); w.Code != 404 {
		t.Errorf("missing snapshot = %d", w.Code)
	}
	metrics := f.do("GET", "/metrics", nil).Body.String()
	for _, want := range []string{
		"holdfast_backup_uploaded_bytes_total " + strconv.FormatFloat(float64(len(content)), 'g', -1, 64),
		"holdfast_snapshots_committed_total 1",
		fmt.Sprintf(`holdfast_backup_chunks_total{result="missing"} %d`, 3*len(chunks)), // asked three times before the upload
	} {
		if !strings.Contains(metrics, want+"\n") {
			t.Errorf("metrics lack %q", want)
		}
	}
	audit, err := f.store.ListAudit(context.Background(), f.account.ID, holdfast.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, a := range audit {
		actions = append(actions, a.Action)
	}
	if s := strings.Join(actions, ","); !strings.Contains(s, "snapshot.create") || !strings.Contains(s, "snapshot.download") {
		t.Errorf("audit actions = %s", s)
	}
}

func TestBackupAPIAsksTheEngine(t *testing.T) {
	tests := []struct {
		right, method, path string
		body                any
	}{
		{"backups.perform", "POST", "/api/v1/backups", map[string]any{"user": "ann@example.com", "device": "laptop"}},
		{"backups.perform", "POST", "/api/v1/backups/{device}/missing", chunkRefs{Refs: []holdfast.ChunkRef{{1}}}},
		{"backups.perform", "POST", "/api/v1/backups/{device}/snapshots", map[string]any{"items": []any{}}},
		{"restores.view", "GET", "/api/v1/snapshots?user_id={user}", nil},
		{"restores.view", "GET", "/api/v1/snapshots/{snap}", nil},
		{"restores.manage", "GET", "/api/v1/snapshots/{snap}/content?path=f", nil},
		{"user_data.download", "GET", "/api/v1/snapshots/{snap}/content?path=f", nil},
	}
	for _, tt := range tests {
		t.Run(tt.right+" "+tt.path, func(t *testing.T) {
			f, data, sd := dataFixture(t)
			snap, err := data.CommitSnapshot(context.Background(), storage.Snapshot{AccountID: f.account.ID, UserID: sd.user,
				Source: storage.SourceDevice, Device: "laptop", DeviceID: sd.device, Items: []storage.Item{{Path: "f"}}})
			if err != nil {
				t.Fatal(err)
			}
			path := strings.NewReplacer("{device}", sd.device, "{user}", sd.user, "{snap}", snap.ID).Replace(tt.path)
			f.engine.denyRight(tt.right, "not in your scope")
			w := f.do(tt.method, path, tt.body)
			if w.Code != 403 {
				t.Fatalf("status %d, want 403: %s", w.Code, w.Body)
			}
			if e := errorOf(t, w); e.Code != "forbidden" || len(e.Reasons) == 0 {
				t.Errorf("envelope = %+v", e)
			}
			asked := false
			for _, req := range f.engine.requests() {
				if req.Action.Name == tt.right && (req.Resource.Type == holdfast.ResourceDevice || req.Resource.Type == holdfast.ResourceUser) {
					asked = true
				}
			}
			if !asked {
				t.Errorf("the engine was not asked for %s on a user or device", tt.right)
			}
			after, _ := data.Snapshots(context.Background(), storage.SnapshotFilter{AccountID: f.account.ID})
			if len(after) != 1 {
				t.Errorf("%d snapshots after a refused call, want 1", len(after))
			}
		})
	}
}

func TestBackupStartRefusesBadTargets(t *testing.T) {
	f, _, _ := dataFixture(t)
	tests := []struct {
		name   string
		body   string
		status int
	}{
		{"no user", `{"device":"laptop"}`, 422},
		{"both device and source", `{"user":"ann@example.com","device":"laptop","source":"mail"}`, 422},
		{"unknown source", `{"user":"ann@example.com","source":"fax"}`, 422},
		{"unknown user", `{"user":"zed@example.com","device":"laptop"}`, 404},
		{"unknown device", `{"user":"ann@example.com","device":"desktop"}`, 404},
		{"no SaaS source", `{"user":"ann@example.com","source":"mail"}`, 404},
		{"unknown field", `{"user":"ann@example.com","device":"laptop","x":1}`, 400},
	}
	for _, tt := range tests {
		w := f.do("POST", "/api/v1/backups", tt.body)
		if w.Code != tt.status {
			t.Errorf("%s: status %d, want %d: %s", tt.name, w.Code, tt.status, w.Body)
		}
		errorOf(t, w)
	}
}

func TestBackupAPIWithoutDataStore(t *testing.T) {
	f := newFixture(t)
	w := f.do("POST", "/api/v1/backups", `{"user":"a@example.com","device":"x"}`)
	if w.Code != 404 || !strings.Contains(errorOf(t, w).Message, "no data store") {
		t.Errorf("status %d: %s", w.Code, w.Body)
	}
}

// TestBackupRefusesEmptySnapshots: a commit with no items is refused
// (422 naming items) and stores nothing, so the newest snapshot stays the
// last real one.
func TestBackupRefusesEmptySnapshots(t *testing.T) {
	f, data, sd := dataFixture(t)
	if w := f.do("POST", "/api/v1/backups", map[string]any{"user": "ann@example.com", "device": "laptop"}); w.Code != 200 {
		t.Fatalf("start = %d %s", w.Code, w.Body)
	}
	for _, body := range []string{`{"items":[]}`, `{}`} {
		w := f.do("POST", "/api/v1/backups/"+sd.device+"/snapshots", body)
		if w.Code != http.StatusUnprocessableEntity {
			t.Fatalf("empty commit %s = %d %s, want 422", body, w.Code, w.Body)
		}
		if e := errorOf(t, w); len(e.Fields) != 1 || e.Fields[0].Field != "items" {
			t.Errorf("empty commit error = %+v, want the field items", e)
		}
	}
	snaps, err := data.Snapshots(context.Background(), storage.SnapshotFilter{AccountID: f.account.ID})
	if err != nil || len(snaps) != 0 {
		t.Errorf("snapshots after refused commits: %d %v", len(snaps), err)
	}
}

// TestPreservedUserAcceptsNoBackups: a preserved user's device takes no
// new backup (409 saying why, at the start and at the commit), and takes
// them again once the user is activated.
func TestPreservedUserAcceptsNoBackups(t *testing.T) {
	f, _, sd := dataFixture(t)
	if w := f.do("POST", "/api/v1/users/"+sd.user+"/preserve", nil); w.Code != 200 {
		t.Fatalf("preserve = %d %s", w.Code, w.Body)
	}
	w := f.do("POST", "/api/v1/backups", map[string]any{"user": "ann@example.com", "device": "laptop"})
	if w.Code != http.StatusConflict || !strings.Contains(errorOf(t, w).Message, "preserved") {
		t.Fatalf("start for a preserved user = %d %s, want 409 naming the state", w.Code, w.Body)
	}
	item := map[string]any{"items": []map[string]any{{"path": "laptop/a.txt", "size": 0}}}
	w = f.do("POST", "/api/v1/backups/"+sd.device+"/snapshots", item)
	if w.Code != http.StatusConflict || !strings.Contains(errorOf(t, w).Message, "preserved") {
		t.Fatalf("commit for a preserved user = %d %s, want 409", w.Code, w.Body)
	}
	if w := f.do("POST", "/api/v1/users/"+sd.user+"/activate", nil); w.Code != 200 {
		t.Fatalf("activate = %d %s", w.Code, w.Body)
	}
	if w := f.do("POST", "/api/v1/backups", map[string]any{"user": "ann@example.com", "device": "laptop"}); w.Code != 200 {
		t.Fatalf("start after activation = %d %s", w.Code, w.Body)
	}
}

// TestSnapshotCommitRefusedWithoutAudit: a snapshot whose snapshot.create
// record cannot be written is not committed (503 saying why, nothing
// listed), and the same commit succeeds once the trail takes records again.
func TestSnapshotCommitRefusedWithoutAudit(t *testing.T) {
	f, data, sd := dataFixture(t)
	commit := map[string]any{"items": []map[string]any{{"path": "laptop/empty.txt", "size": 0}}}
	unblock := blockAudit(t, f.store)
	w := f.do("POST", "/api/v1/backups/"+sd.device+"/snapshots", commit)
	if w.Code != http.StatusServiceUnavailable || !strings.Contains(errorOf(t, w).Message, "audit trail cannot be written") {
		t.Fatalf("commit with the audit trail blocked = %d %s, want 503 saying why", w.Code, w.Body)
	}
	snaps, err := data.Snapshots(context.Background(), storage.SnapshotFilter{AccountID: f.account.ID})
	if err != nil || len(snaps) != 0 {
		t.Fatalf("snapshots after the refused commit: %d %v, want none", len(snaps), err)
	}
	unblock()
	w = f.do("POST", "/api/v1/backups/"+sd.device+"/snapshots", commit)
	if w.Code != http.StatusCreated {
		t.Fatalf("commit after unblocking = %d %s", w.Code, w.Body)
	}
	var snap storage.Snapshot
	decode(t, w, &snap)
	recs, err := f.store.ListAudit(context.Background(), f.account.ID, holdfast.AuditFilter{Action: "snapshot.create", ResourceID: snap.ID})
	if err != nil || len(recs) != 1 {
		t.Errorf("snapshot.create records of %s: %d %v, want 1", snap.ID, len(recs), err)
	}
}

// TestSnapshotListPages proves a user's snapshots page by next_cursor,
// oldest first, each once, with the total on every page; snapshots of a
// device the caller may not see are left out of the pages and the total;
// a bad limit or cursor is 422 naming the field.
func TestSnapshotListPages(t *testing.T) {
	f, data, sd := dataFixture(t)
	ctx := t.Context()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var want []string
	for i := range 7 {
		// Two snapshots at each time: ties break by id.
		sn, err := data.CommitSnapshot(ctx, storage.Snapshot{AccountID: f.account.ID, UserID: sd.user, Source: storage.SourceDevice,
			Device: "laptop", DeviceID: sd.device, Time: t0.Add(time.Duration(i/2) * time.Hour), Items: []storage.Item{{Path: fmt.Sprintf("a%d.txt", i)}}})
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, sn.ID)
	}
	other := holdfast.Device{AccountID: f.account.ID, UserID: sd.user, Name: "desk", Kind: holdfast.DeviceEndpoint, Workload: "endpoints", State: "enabled"}
	if err := f.store.CreateDevice(ctx, &other); err != nil {
		t.Fatal(err)
	}
	if _, err := data.CommitSnapshot(ctx, storage.Snapshot{AccountID: f.account.ID, UserID: sd.user, Source: storage.SourceDevice,
		Device: "desk", DeviceID: other.ID, Time: t0, Items: []storage.Item{{Path: "b.txt"}}}); err != nil {
		t.Fatal(err)
	}
	f.engine.denyResource(other.ID)
	var got []string
	path := "/api/v1/snapshots?limit=3&user_id=" + sd.user
	for range 10 {
		w := f.do("GET", path, nil)
		if w.Code != 200 {
			t.Fatalf("GET %s = %d %s", path, w.Code, w.Body)
		}
		var p struct {
			Snapshots  []storage.Snapshot `json:"snapshots"`
			Total      int                `json:"total"`
			NextCursor string             `json:"next_cursor"`
		}
		decode(t, w, &p)
		if p.Total != len(want) {
			t.Errorf("total = %d, want %d", p.Total, len(want))
		}
		for _, sn := range p.Snapshots {
			got = append(got, sn.ID)
		}
		if p.NextCursor == "" {
			break
		}
		path = "/api/v1/snapshots?limit=3&user_id=" + sd.user + "&cursor=" + url.QueryEscape(p.NextCursor)
	}
	if !slices.Equal(got, want) {
		t.Errorf("paged %v, want %v", got, want)
	}
	for q, field := range map[string]string{"&limit=0": "limit", "&cursor=bogus": "cursor", "&offset=3": "offset",
		"&cursor=" + holdfast.EncodeCursor("not a time", "x"): "cursor"} {
		w := f.do("GET", "/api/v1/snapshots?user_id="+sd.user+q, nil)
		if w.Code != 422 || !strings.Contains(w.Body.String(), `"field":"`+field+`"`) {
			t.Errorf("GET %s = %d %s, want 422 naming %s", q, w.Code, w.Body, field)
		}
	}
}
