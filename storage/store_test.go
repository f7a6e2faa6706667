package storage_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/storage"
	"github.com/holdfast/holdfast/storage/fs"
)

var testKey = storage.MasterKey{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}

const acct = "acct-1"

func newBlobs(tb testing.TB) *fs.Store {
	tb.Helper()
	b, err := fs.New(tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func openStore(tb testing.TB, blobs holdfast.BlobStore, opts storage.Options) *storage.Store {
	tb.Helper()
	if opts.MasterKey == (storage.MasterKey{}) {
		opts.MasterKey = testKey
	}
	s, err := storage.Open(context.Background(), blobs, opts)
	if err != nil {
		tb.Fatalf("Open = %v", err)
	}
	return s
}

// genData returns n pseudo-random bytes: text-like when text is set (so
// zstd has something to do), else incompressible.
func genData(seed uint64, n int, text bool) []byte {
	r := rand.New(rand.NewPCG(seed, 7))
	b := make([]byte, n)
	if !text {
		for i := 0; i < n; i += 8 {
			v := r.Uint64()
			for j := i; j < min(i+8, n); j++ {
				b[j] = byte(v)
				v >>= 8
			}
		}
		return b
	}
	words := []string{"the ", "custodian ", "mail ", "hold ", "report ", "Q3 ", "budget ", "meeting\n", "of ", "and "}
	i := 0
	for i < n {
		i += copy(b[i:], words[r.IntN(len(words))])
	}
	return b
}

type files map[string][]byte

// backup does what the client does: chunk, ask, upload the missing, commit.
// It returns the snapshot and how many chunks it uploaded.
func backup(tb testing.TB, s *storage.Store, account, user string, fl files) (storage.Snapshot, int) {
	tb.Helper()
	snap, n, err := tryBackup(context.Background(), s, account, user, "laptop", fl)
	if err != nil {
		tb.Fatalf("backup: %v", err)
	}
	return snap, n
}

func tryBackup(ctx context.Context, s *storage.Store, account, user, device string, fl files) (storage.Snapshot, int, error) {
	key, err := s.ChunkerKey(ctx, account)
	if err != nil {
		return storage.Snapshot{}, 0, err
	}
	c := storage.NewChunker(key)
	chunks := map[holdfast.ChunkRef][]byte{}
	var items []storage.Item
	for _, path := range slices.Sorted(maps.Keys(fl)) {
		it := storage.Item{Path: path, Size: int64(len(fl[path])), ContentType: "application/octet-stream", Modified: time.Unix(1700000000, 0)}
		err := c.Split(bytes.NewReader(fl[path]), func(ref holdfast.ChunkRef, data []byte) error {
			it.Chunks = append(it.Chunks, ref)
			chunks[ref] = bytes.Clone(data)
			return nil
		})
		if err != nil {
			return storage.Snapshot{}, 0, err
		}
		items = append(items, it)
	}
	uploaded := 0
	refs := slices.Collect(maps.Keys(chunks))
	for attempt := 0; ; attempt++ {
		missing, err := s.MissingChunks(ctx, account, refs)
		if err != nil {
			return storage.Snapshot{}, 0, err
		}
		if err := putParallel(ctx, s, account, missing, chunks); err != nil {
			return storage.Snapshot{}, 0, err
		}
		uploaded += len(missing)
		snap, err := s.CommitSnapshot(ctx, storage.Snapshot{AccountID: account, UserID: user, Source: storage.SourceDevice, Device: device, Items: items})
		var me *storage.MissingChunksError
		if errors.As(err, &me) && attempt < 5 {
			refs = me.Refs // a Prune took them between upload and commit
			continue
		}
		return snap, uploaded, err
	}
}

// uploadWorkers is how many uploads putParallel runs at once, like the
// backup client's default Workers: each upload waits for its pack's write.
const uploadWorkers = 16

// putParallel uploads refs with uploadWorkers at once and returns the first
// error.
func putParallel(ctx context.Context, s *storage.Store, account string, refs []holdfast.ChunkRef, chunks map[holdfast.ChunkRef][]byte) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	work := make(chan holdfast.ChunkRef)
	var wg sync.WaitGroup
	for range uploadWorkers {
		wg.Go(func() {
			for r := range work {
				if err := s.PutChunk(ctx, account, r, chunks[r]); err != nil {
					cancel(err)
				}
			}
		})
	}
	for _, r := range refs {
		if ctx.Err() != nil {
			break
		}
		work <- r
	}
	close(work)
	wg.Wait()
	return context.Cause(ctx)
}

func restore(tb testing.TB, s *storage.Store, account, id string) files {
	tb.Helper()
	snap, err := s.Snapshot(context.Background(), account, id)
	if err != nil {
		tb.Fatalf("Snapshot(%s) = %v", id, err)
	}
	out := files{}
	for _, it := range snap.Items {
		r, err := s.OpenItem(context.Background(), account, id, it.Path)
		if err != nil {
			tb.Fatalf("OpenItem(%s, %s) = %v", id, it.Path, err)
		}
		b, err := io.ReadAll(r)
		r.Close()
		if err != nil {
			tb.Fatalf("read %s/%s: %v", id, it.Path, err)
		}
		out[it.Path] = b
	}
	return out
}

func sameFiles(tb testing.TB, what string, got, want files) {
	tb.Helper()
	if len(got) != len(want) {
		tb.Errorf("%s: %d files, want %d", what, len(got), len(want))
	}
	for p, w := range want {
		if g, ok := got[p]; !ok || !bytes.Equal(g, w) {
			tb.Errorf("%s: %s: %d bytes restored, want %d (equal %v)", what, p, len(g), len(w), bytes.Equal(g, w))
		}
	}
}

func corpus(seed uint64) files {
	return files{
		"docs/report.txt":  genData(seed, 3<<20+123, true),
		"docs/small.txt":   genData(seed+1, 1000, true),
		"bin/image.raw":    genData(seed+2, 2<<20+77, false),
		"mail/inbox/1.eml": []byte("From: a@example.com\r\nSubject: hi\r\n\r\nhello\r\n"),
		"empty":            nil,
	}
}

func mustCheck(tb testing.TB, s *storage.Store) storage.Report {
	tb.Helper()
	rep, err := s.Check(context.Background(), true)
	if err != nil {
		tb.Fatalf("Check = %v", err)
	}
	if !rep.OK() {
		tb.Errorf("Check found damage: %v (damaged %v)", rep.Problems, rep.Damaged)
	}
	return rep
}

func TestRoundTrip(t *testing.T) {
	blobs := newBlobs(t)
	s := openStore(t, blobs, storage.Options{})
	fl := corpus(1)
	snap, _ := backup(t, s, acct, "u1", fl)
	if snap.ID == "" || snap.ItemCount != len(fl) || snap.Time.IsZero() {
		t.Errorf("CommitSnapshot returned %+v", snap)
	}
	var size int64
	for _, b := range fl {
		size += int64(len(b))
	}
	if snap.Size != size {
		t.Errorf("snapshot size %d, want %d", snap.Size, size)
	}
	sameFiles(t, "same store", restore(t, s, acct, snap.ID), fl)

	// A fresh process sees the same.
	s2 := openStore(t, blobs, storage.Options{})
	list, err := s2.Snapshots(context.Background(), storage.SnapshotFilter{AccountID: acct})
	if err != nil || len(list) != 1 || list[0].ID != snap.ID || list[0].UserID != "u1" || list[0].Items != nil {
		t.Fatalf("Snapshots after reopen = %+v, %v", list, err)
	}
	sameFiles(t, "reopened", restore(t, s2, acct, snap.ID), fl)
	mustCheck(t, s2)

	// Nothing in the blob store is plaintext.
	needle := fl["docs/report.txt"][1000:1064]
	_ = filepath.WalkDir(blobs.Dir(), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if b, _ := os.ReadFile(p); bytes.Contains(b, needle) || bytes.Contains(b, []byte("docs/report")) || bytes.Contains(b, []byte("hello\r\n")) {
				t.Errorf("%s holds plaintext", p)
			}
		}
		return nil
	})

	// Wrong master key: refused at Open.
	if _, err := storage.Open(context.Background(), blobs, storage.Options{MasterKey: storage.MasterKey{9}}); !errors.Is(err, storage.ErrWrongMasterKey) {
		t.Errorf("Open with the wrong master key = %v, want ErrWrongMasterKey", err)
	}
	// Missing things.
	if _, err := s2.Snapshot(context.Background(), acct, "nope"); !errors.Is(err, holdfast.ErrNotFound) {
		t.Errorf("Snapshot(missing) = %v", err)
	}
	if _, err := s2.OpenItem(context.Background(), acct, snap.ID, "nope"); !errors.Is(err, holdfast.ErrNotFound) {
		t.Errorf("OpenItem(missing path) = %v", err)
	}
	if _, err := s2.Snapshot(context.Background(), "other", snap.ID); !errors.Is(err, holdfast.ErrNotFound) {
		t.Errorf("Snapshot of another account = %v, want ErrNotFound", err)
	}
}

func TestItemSeek(t *testing.T) {
	s := openStore(t, newBlobs(t), storage.Options{})
	data := genData(5, 6<<20+999, false)
	snap, _ := backup(t, s, acct, "u1", files{"f": data})
	r, err := s.OpenItem(context.Background(), acct, snap.ID, "f")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	tests := []struct{ off, n int64 }{{0, 10}, {5 << 20, 100}, {1<<20 - 3, 2 << 20}, {int64(len(data)) - 5, 5}, {123, 0}}
	for _, tt := range tests {
		if _, err := r.Seek(tt.off, io.SeekStart); err != nil {
			t.Fatal(err)
		}
		got := make([]byte, tt.n)
		if _, err := io.ReadFull(r, got); err != nil || !bytes.Equal(got, data[tt.off:tt.off+tt.n]) {
			t.Errorf("read %d at %d: %v, equal %v", tt.n, tt.off, err, bytes.Equal(got, data[tt.off:tt.off+tt.n]))
		}
	}
	if pos, _ := r.Seek(-10, io.SeekEnd); pos != int64(len(data))-10 {
		t.Errorf("Seek(-10, end) = %d", pos)
	}
	if _, err := r.Seek(-1, io.SeekStart); !errors.Is(err, holdfast.ErrInvalid) {
		t.Errorf("Seek(-1) = %v", err)
	}
	r.Seek(0, io.SeekEnd)
	if n, err := r.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		t.Errorf("Read at end = %d, %v", n, err)
	}
}

func TestItemReadAtAndMetadata(t *testing.T) {
	s := openStore(t, newBlobs(t), storage.Options{})
	ctx := context.Background()
	data := genData(6, 5<<20+17, true)
	snap, _ := backup(t, s, acct, "u1", files{"dir/f.txt": data})
	it, err := s.Item(ctx, acct, snap.ID, "dir/f.txt")
	if err != nil || it.Size != int64(len(data)) || it.ContentType != "application/octet-stream" {
		t.Fatalf("Item = %+v, %v", it, err)
	}
	if _, err := s.Item(ctx, acct, snap.ID, "nope"); !errors.Is(err, holdfast.ErrNotFound) {
		t.Errorf("Item(nope) = %v, want ErrNotFound", err)
	}
	r, err := s.OpenItem(ctx, acct, snap.ID, "dir/f.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if !r.ModTime().Equal(time.Unix(1700000000, 0)) || r.ContentType() != "application/octet-stream" || r.Size() != int64(len(data)) {
		t.Errorf("ModTime %v, ContentType %q, Size %d", r.ModTime(), r.ContentType(), r.Size())
	}
	// Parallel ReadAt calls, some spanning chunk boundaries, leave Read's
	// position alone.
	var wg sync.WaitGroup
	for _, off := range []int64{0, 1<<20 - 7, 3 << 20, int64(len(data)) - 100} {
		wg.Go(func() {
			got := make([]byte, 2<<20)
			n, err := r.ReadAt(got, off)
			want := data[off:min(off+int64(len(got)), int64(len(data)))]
			if n != len(want) || !bytes.Equal(got[:n], want) {
				t.Errorf("ReadAt(%d) = %d bytes, want %d (equal %v)", off, n, len(want), bytes.Equal(got[:n], want))
			}
			if short := n < len(got); short != (err == io.EOF) {
				t.Errorf("ReadAt(%d) short %v, err %v", off, short, err)
			}
		})
	}
	wg.Wait()
	head := make([]byte, 10)
	if _, err := io.ReadFull(r, head); err != nil || !bytes.Equal(head, data[:10]) {
		t.Errorf("Read after ReadAt: %v", err)
	}
	if _, err := r.ReadAt(head, -1); !errors.Is(err, holdfast.ErrInvalid) {
		t.Errorf("ReadAt(-1) = %v, want ErrInvalid", err)
	}
}

func countBlobs(tb testing.TB, b holdfast.BlobStore, prefix string) int {
	tb.Helper()
	n := 0
	if err := b.List(context.Background(), prefix, func(string, int64) error { n++; return nil }); err != nil {
		tb.Fatal(err)
	}
	return n
}

func TestDedup(t *testing.T) {
	blobs := newBlobs(t)
	s := openStore(t, blobs, storage.Options{})
	fl := corpus(2)
	_, first := backup(t, s, acct, "u1", fl)
	packs := countBlobs(t, blobs, "packs/")
	if first == 0 {
		t.Fatal("first backup uploaded nothing")
	}
	_, second := backup(t, s, acct, "u1", fl)
	if second != 0 {
		t.Errorf("second backup of the same data uploaded %d chunks, want 0", second)
	}
	if got := countBlobs(t, blobs, "packs/"); got != packs {
		t.Errorf("second backup wrote %d packs, want none (manifests deduplicate too)", got-packs)
	}
	// Another user's copy of the same files in the same account dedups.
	if _, n := backup(t, s, acct, "u2", fl); n != 0 {
		t.Errorf("same data for another user uploaded %d chunks", n)
	}
	// Another account shares nothing: its chunk ids differ.
	if _, n := backup(t, s, "acct-2", "u1", fl); n == 0 {
		t.Errorf("another account uploaded nothing: it deduplicated against acct-1")
	}
}

func TestPutChunkRefusesWrongHash(t *testing.T) {
	blobs := newBlobs(t)
	s := openStore(t, blobs, storage.Options{})
	key, _ := s.ChunkerKey(context.Background(), acct)
	c := storage.NewChunker(key)
	data := []byte("some chunk")
	wrong := c.Ref([]byte("other chunk"))
	tests := []struct {
		name string
		ref  holdfast.ChunkRef
		data []byte
	}{
		{"wrong hash", wrong, data},
		{"unkeyed hash", holdfast.ChunkRef{}, data},
		{"empty", c.Ref(nil), nil},
		{"too big", c.Ref(make([]byte, storage.MaxChunk+1)), make([]byte, storage.MaxChunk+1)},
	}
	for _, tt := range tests {
		if err := s.PutChunk(context.Background(), acct, tt.ref, tt.data); !errors.Is(err, holdfast.ErrInvalid) {
			t.Errorf("%s: PutChunk = %v, want ErrInvalid", tt.name, err)
		}
	}
	if err := s.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := countBlobs(t, blobs, "packs/"); n != 0 {
		t.Errorf("refused chunks left %d packs", n)
	}
	if m, _ := s.MissingChunks(context.Background(), acct, []holdfast.ChunkRef{wrong}); len(m) != 1 {
		t.Errorf("MissingChunks after a refused put = %v, want it missing", m)
	}
	if err := s.PutChunk(context.Background(), "bad/id", c.Ref(data), data); !errors.Is(err, holdfast.ErrInvalid) {
		t.Errorf("PutChunk(account %q) = %v, want ErrInvalid", "bad/id", err)
	}
}

func TestCommitRefusesBadSnapshots(t *testing.T) {
	blobs := newBlobs(t)
	s := openStore(t, blobs, storage.Options{})
	ctx := context.Background()
	key, _ := s.ChunkerKey(ctx, acct)
	c := storage.NewChunker(key)
	data := []byte("stored chunk")
	if err := s.PutChunk(ctx, acct, c.Ref(data), data); err != nil {
		t.Fatal(err)
	}
	absent := c.Ref([]byte("never uploaded"))
	base := storage.Snapshot{AccountID: acct, UserID: "u1", Source: storage.SourceMail, Device: "Exchange Online"}
	with := func(f func(*storage.Snapshot)) storage.Snapshot { s := base; f(&s); return s }
	item := func(size int64, refs ...holdfast.ChunkRef) storage.Item {
		return storage.Item{Path: "inbox/1.eml", Size: size, Chunks: refs}
	}
	tests := []struct {
		name string
		snap storage.Snapshot
	}{
		{"missing chunk", with(func(s *storage.Snapshot) { s.Items = []storage.Item{item(int64(len(data))+14, c.Ref(data), absent)} })},
		{"size differs", with(func(s *storage.Snapshot) { s.Items = []storage.Item{item(5, c.Ref(data))} })},
		{"bad source", with(func(s *storage.Snapshot) { s.Source = "floppy" })},
		{"no user", with(func(s *storage.Snapshot) { s.UserID = "" })},
		{"no device", with(func(s *storage.Snapshot) { s.Device = "" })},
		{"bad account", with(func(s *storage.Snapshot) { s.AccountID = "../x" })},
		{"duplicate path", with(func(s *storage.Snapshot) {
			s.Items = []storage.Item{item(int64(len(data)), c.Ref(data)), item(int64(len(data)), c.Ref(data))}
		})},
		{"empty path", with(func(s *storage.Snapshot) { s.Items = []storage.Item{{Path: ""}} })},
		{"size without chunks", with(func(s *storage.Snapshot) { s.Items = []storage.Item{{Path: "x", Size: 3}} })},
	}
	for _, tt := range tests {
		_, err := s.CommitSnapshot(ctx, tt.snap)
		if !errors.Is(err, holdfast.ErrInvalid) {
			t.Errorf("%s: CommitSnapshot = %v, want ErrInvalid", tt.name, err)
		}
		if tt.name == "missing chunk" {
			var me *storage.MissingChunksError
			if !errors.As(err, &me) || len(me.Refs) != 1 || me.Refs[0] != absent || !strings.Contains(err.Error(), absent.String()) {
				t.Errorf("missing chunk: error %v does not name exactly %s", err, absent)
			}
		}
	}
	if n := countBlobs(t, blobs, "snapshots/"); n != 0 {
		t.Errorf("refused commits stored %d snapshots", n)
	}
	// An empty snapshot (an empty mailbox) is fine.
	if _, err := s.CommitSnapshot(ctx, base); err != nil {
		t.Errorf("empty snapshot: %v", err)
	}
}

func TestRotateKey(t *testing.T) {
	blobs := newBlobs(t)
	s := openStore(t, blobs, storage.Options{})
	ctx := context.Background()
	a := corpus(3)
	sa, _ := backup(t, s, acct, "u1", a)
	id, err := s.RotateKey(ctx, acct)
	if err != nil || id != 2 {
		t.Fatalf("RotateKey = %d, %v; want 2", id, err)
	}
	b := files{"new": genData(33, 2<<20, false)}
	sb, n := backup(t, s, acct, "u1", b)
	if n == 0 {
		t.Fatal("nothing uploaded after rotation")
	}
	s2 := openStore(t, blobs, storage.Options{})
	sameFiles(t, "sealed with key 1", restore(t, s2, acct, sa.ID), a)
	sameFiles(t, "sealed with key 2", restore(t, s2, acct, sb.ID), b)
	if k := countBlobs(t, blobs, "keys/"+acct+"/data-"); k != 2 {
		t.Errorf("%d data keys stored, want 2", k)
	}
	// The chunker key survives rotation: old data still deduplicates.
	if _, n := backup(t, s2, acct, "u1", a); n != 0 {
		t.Errorf("after rotation, unchanged data uploaded %d chunks", n)
	}
	mustCheck(t, s2)
}

func TestCheckFindsCorruption(t *testing.T) {
	blobs := newBlobs(t)
	s := openStore(t, blobs, storage.Options{})
	ctx := context.Background()
	a, _ := backup(t, s, acct, "u1", files{"a": genData(10, 3<<20, false)})
	b, _ := backup(t, s, acct, "u2", files{"b": genData(11, 3<<20, false)})
	rep := mustCheck(t, s)
	if rep.Snapshots != 2 || rep.Packs < 2 {
		t.Fatalf("Check counted %d snapshots, %d packs", rep.Snapshots, rep.Packs)
	}
	// Find the pack holding a's data chunk and flip a byte in it.
	snapA, _ := s.Snapshot(ctx, acct, a.ID)
	target := ""
	var packs []string
	_ = blobs.List(ctx, "packs/", func(name string, size int64) error { packs = append(packs, name); return nil })
	for _, p := range packs {
		// a's file is the largest blob in its pack; the pack of b's file
		// does not contain a's first chunk's bytes, so try each: corrupt,
		// check, keep the one that damages a.
		path := filepath.Join(blobs.Dir(), p)
		orig, _ := os.ReadFile(path)
		bad := bytes.Clone(orig)
		bad[len(bad)/3] ^= 0x40
		os.WriteFile(path, bad, 0o600)
		rep, err := openStore(t, blobs, storage.Options{}).Check(ctx, true)
		if err != nil {
			t.Fatal(err)
		}
		if slices.Contains(rep.Damaged, acct+"/"+a.ID) {
			target = p
			if slices.Contains(rep.Damaged, acct+"/"+b.ID) {
				t.Errorf("a byte flipped in %s damages both snapshots: %v", p, rep.Problems)
			}
			named := false
			for _, pr := range rep.Problems {
				named = named || strings.Contains(pr.Name, packIDOf(p)) || strings.Contains(pr.Detail, packIDOf(p))
			}
			if !named {
				t.Errorf("Check did not name pack %s: %v", p, rep.Problems)
			}
			// Reading the damaged item fails loudly (in a fresh process:
			// this one has the manifest cached).
			r, err := openStore(t, blobs, storage.Options{}).OpenItem(ctx, acct, a.ID, snapA.Items[0].Path)
			if err == nil {
				_, err = io.ReadAll(r)
			}
			if !errors.Is(err, storage.ErrDamaged) {
				t.Errorf("reading a damaged item = %v, want ErrDamaged", err)
			}
		}
		os.WriteFile(path, orig, 0o600)
		if target != "" {
			break
		}
	}
	if target == "" {
		t.Fatal("no single-byte corruption was reported as damaging snapshot a")
	}
	// A deleted pack is found without reading data.
	os.Remove(filepath.Join(blobs.Dir(), target))
	rep, err := openStore(t, blobs, storage.Options{}).Check(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(rep.Damaged, acct+"/"+a.ID) || slices.Contains(rep.Damaged, acct+"/"+b.ID) {
		t.Errorf("after deleting %s, Check damaged = %v, want only %s", target, rep.Damaged, a.ID)
	}
}

func packIDOf(name string) string { return name[strings.LastIndexByte(name, '/')+1:] }

// holdSet is a HoldChecker over a set of held users.
type holdSet struct {
	mu   sync.Mutex
	held map[string]bool
	fail bool
}

func (h *holdSet) set(user string, held bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.held == nil {
		h.held = map[string]bool{}
	}
	h.held[user] = held
}

func (h *holdSet) HoldsFor(_ context.Context, _, user string) ([]holdfast.LegalHold, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.fail {
		return nil, errors.New("metadata store down")
	}
	if h.held[user] {
		return []holdfast.LegalHold{{ID: "h1", Name: "Litigation"}}, nil
	}
	return nil, nil
}

func TestForgetAndPruneKeepHeldData(t *testing.T) {
	blobs := newBlobs(t)
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	s := openStore(t, blobs, storage.Options{PruneGrace: -1, Clock: clockFunc(clock), PackSize: 1 << 20})
	ctx := context.Background()
	holds := &holdSet{}
	holds.set("held", true)
	content := map[string]files{}
	for day := range 4 {
		now = now.Add(24 * time.Hour)
		for ui, u := range []string{"held", "free"} {
			fl := files{"f": genData(uint64(100+day*10+ui), 1<<20+day, false)}
			snap, _ := backup(t, s, acct, u, fl)
			content[snap.ID] = fl
		}
	}
	if _, err := s.Forget(ctx, storage.SnapshotFilter{AccountID: acct}, holdfast.Retention{}, holds); !errors.Is(err, holdfast.ErrInvalid) {
		t.Errorf("Forget with an empty policy = %v, want ErrInvalid", err)
	}
	res, err := s.Forget(ctx, storage.SnapshotFilter{AccountID: acct}, holdfast.Retention{KeepLast: 1}, holds)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Removed) != 3 || len(res.Held) != 3 {
		t.Errorf("Forget removed %d, held %d; want 3 and 3", len(res.Removed), len(res.Held))
	}
	for _, r := range res.Removed {
		if r.UserID != "free" {
			t.Errorf("Forget removed %s of user %s", r.ID, r.UserID)
		}
	}
	pr, err := s.Prune(ctx, holds)
	if err != nil {
		t.Fatal(err)
	}
	if pr.PacksDeleted == 0 || pr.BytesFreed <= 0 || pr.ChunksRemoved == 0 {
		t.Errorf("Prune after Forget freed nothing: %+v", pr)
	}
	left, _ := s.Snapshots(ctx, storage.SnapshotFilter{AccountID: acct})
	if len(left) != 5 {
		t.Errorf("%d snapshots left, want 4 held + 1 free", len(left))
	}
	s2 := openStore(t, blobs, storage.Options{PruneGrace: -1, Clock: clockFunc(clock)})
	for _, sn := range left {
		sameFiles(t, sn.UserID+"/"+sn.ID, restore(t, s2, acct, sn.ID), content[sn.ID])
	}
	mustCheck(t, s2)

	// A failing hold check counts as held: nothing is removed.
	holds.fail = true
	res, err = s2.Forget(ctx, storage.SnapshotFilter{AccountID: acct}, holdfast.Retention{KeepLast: 1}, holds)
	if err != nil || len(res.Removed) != 0 {
		t.Errorf("Forget with a failing hold checker removed %d (%v)", len(res.Removed), err)
	}
}

func TestRetentionPolicy(t *testing.T) {
	blobs := newBlobs(t)
	now := time.Date(2026, 3, 31, 23, 0, 0, 0, time.UTC)
	s := openStore(t, blobs, storage.Options{Clock: clockFunc(func() time.Time { return now })})
	ctx := context.Background()
	// Two snapshots a day for 60 days, newest at now.
	for i := range 120 {
		at := now.Add(-time.Duration(i) * 12 * time.Hour)
		if _, err := s.CommitSnapshot(ctx, storage.Snapshot{AccountID: acct, UserID: "u", Source: storage.SourceFiles, Device: "OneDrive", Time: at}); err != nil {
			t.Fatal(err)
		}
	}
	snaps, err := s.Snapshots(ctx, storage.SnapshotFilter{AccountID: acct})
	if err != nil || len(snaps) != 120 {
		t.Fatalf("Snapshots = %d, %v", len(snaps), err)
	}
	tests := []struct {
		name   string
		policy holdfast.Retention
		want   int
	}{
		{"last 3", holdfast.Retention{KeepLast: 3}, 3},
		{"daily 7", holdfast.Retention{KeepDaily: 7}, 7},
		// The last 3 are both of today and the later of yesterday; the
		// dailies add the newest of 6 more days.
		{"last 3 and daily 7", holdfast.Retention{KeepLast: 3, KeepDaily: 7}, 8},
		{"weekly 4", holdfast.Retention{KeepWeekly: 4}, 4},
		{"monthly 2", holdfast.Retention{KeepMonthly: 2}, 2},
		{"within 10 days", holdfast.Retention{KeepWithinDays: 10}, 20},
		{"monthly 12 (more than there are)", holdfast.Retention{KeepMonthly: 12}, 3},
	}
	for _, tt := range tests {
		if got := storage.KeepCount(snaps, tt.policy, now); got != tt.want {
			t.Errorf("%s: keeps %d of 120, want %d", tt.name, got, tt.want)
		}
	}
}

func TestCrashPoints(t *testing.T) {
	points := []string{
		"flush.pack-written", "flush.index-written", "commit.chunks-durable", "commit.snapshot-written",
		"forget.snapshot-deleted", "prune.packs-written", "prune.index-written", "prune.index-deleted", "prune.pack-deleted",
	}
	for _, point := range points {
		t.Run(point, func(t *testing.T) {
			blobs := newBlobs(t)
			opts := storage.Options{PruneGrace: -1, PackSize: 512 << 10, RepackBelow: 0.9}
			s := openStore(t, blobs, opts)
			ctx := context.Background()
			content := map[string]files{}
			shared := genData(7, 1<<20, false)
			var newest string
			for i := range 3 {
				fl := files{"shared": shared, "own": genData(uint64(20+i), 1<<20+i, false)}
				snap, _ := backup(t, s, acct, "u1", fl)
				content[snap.ID] = fl
				newest = snap.ID
			}

			// The interrupted run: a backup, a forget, a prune.
			crashed := errors.New("killed at " + point)
			hit := false
			storage.SetCrashHook(s, func(p string) error {
				if p == point && !hit {
					hit = true
					return crashed
				}
				return nil
			})
			fl := files{"shared": shared, "new": genData(99, 1<<20, false)}
			snap, _, err := tryBackup(ctx, s, acct, "u1", "laptop", fl)
			if err == nil {
				content[snap.ID] = fl
			}
			interrupted := fl // a commit killed after its write is durable
			if !hit {
				_, err = s.Forget(ctx, storage.SnapshotFilter{AccountID: acct}, holdfast.Retention{KeepLast: 2}, &holdSet{})
			}
			if !hit {
				_, err = s.Prune(ctx, &holdSet{})
			}
			if !hit {
				t.Fatalf("point %s was never reached (last error %v)", point, err)
			}

			// After the "kill": a new process finds every snapshot it
			// lists intact, including the never-forgotten newest one.
			for round := range 2 {
				s2 := openStore(t, blobs, opts)
				mustCheck(t, s2)
				list, err := s2.Snapshots(ctx, storage.SnapshotFilter{AccountID: acct})
				if err != nil {
					t.Fatal(err)
				}
				ids := map[string]bool{}
				for _, sn := range list {
					ids[sn.ID] = true
					want, ok := content[sn.ID]
					if !ok {
						want = interrupted
					}
					sameFiles(t, fmt.Sprintf("round %d %s", round, sn.ID), restore(t, s2, acct, sn.ID), want)
				}
				if !ids[newest] {
					t.Errorf("round %d: the newest committed snapshot is gone", round)
				}
				// Round 1 runs after a clean Prune has tidied up.
				if _, err := s2.Prune(ctx, &holdSet{}); err != nil {
					t.Fatalf("Prune after the crash: %v", err)
				}
				if rep := mustCheck(t, s2); round == 1 && len(rep.Orphans) > 0 {
					t.Errorf("orphans left after Prune: %v", rep.Orphans)
				}
			}
		})
	}
}

// TestConcurrentIngestPruneHolds runs backups, Forget+Prune and hold
// changes at once (run it with -race). Users u0 stays held throughout:
// every snapshot of it must survive. Every snapshot left must restore.
// readListed reads every snapshot the account lists, whole; a snapshot
// forgotten since the listing may be gone.
func readListed(ctx context.Context, s *storage.Store) error {
	list, err := s.Snapshots(ctx, storage.SnapshotFilter{AccountID: acct})
	if err != nil {
		return fmt.Errorf("list: %w", err)
	}
	for _, sn := range list {
		full, err := s.Snapshot(ctx, acct, sn.ID)
		if errors.Is(err, holdfast.ErrNotFound) {
			continue
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", sn.ID, err)
		}
		for _, it := range full.Items {
			r, err := s.OpenItem(ctx, acct, sn.ID, it.Path)
			if err == nil {
				_, err = io.Copy(io.Discard, r)
				r.Close()
			}
			if err != nil && !errors.Is(err, holdfast.ErrNotFound) {
				// Forgotten and pruned while being read is fine; a
				// snapshot still listed must read.
				if _, gone := s.Snapshot(ctx, acct, sn.ID); errors.Is(gone, holdfast.ErrNotFound) {
					continue
				}
				return fmt.Errorf("read %s/%s: %w", sn.ID, it.Path, err)
			}
		}
	}
	return nil
}

func TestConcurrentIngestPruneHolds(t *testing.T) {
	blobs := newBlobs(t)
	opts := storage.Options{PruneGrace: -1, PackSize: 256 << 10}
	s := openStore(t, blobs, opts)
	ctx := context.Background()
	holds := &holdSet{}
	holds.set("u0", true)
	var mu sync.Mutex
	content := map[string]files{}
	var u0 []string
	stop := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for w := range 2 {
		wg.Go(func() {
			for i := range 8 {
				user := fmt.Sprintf("u%d", (w+i)%3)
				fl := files{
					"common": genData(1, 300<<10, false),
					"mine":   genData(uint64(w*100+i), 200<<10+i, true),
				}
				snap, _, err := tryBackup(ctx, s, acct, user, "laptop", fl)
				if err != nil {
					errs <- fmt.Errorf("backup %d/%d: %w", w, i, err)
					return
				}
				mu.Lock()
				content[snap.ID] = fl
				if user == "u0" {
					u0 = append(u0, snap.ID)
				}
				mu.Unlock()
			}
		})
	}
	var bg sync.WaitGroup
	bg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			holds.set("u1", i%2 == 0)
			if _, err := s.Forget(ctx, storage.SnapshotFilter{AccountID: acct}, holdfast.Retention{KeepLast: 1}, holds); err != nil {
				errs <- fmt.Errorf("forget: %w", err)
				return
			}
			if _, err := s.Prune(ctx, holds); err != nil {
				errs <- fmt.Errorf("prune: %w", err)
				return
			}
		}
	})
	// Readers meanwhile: every snapshot listed reads back whole, or is
	// gone (forgotten since the listing).
	bg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			if err := readListed(ctx, s); err != nil {
				errs <- err
				return
			}
		}
	})
	wg.Wait()
	close(stop)
	bg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	s2 := openStore(t, blobs, opts)
	mustCheck(t, s2)
	list, err := s2.Snapshots(ctx, storage.SnapshotFilter{AccountID: acct})
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, sn := range list {
		have[sn.ID] = true
		sameFiles(t, sn.ID, restore(t, s2, acct, sn.ID), content[sn.ID])
	}
	for _, id := range u0 {
		if !have[id] {
			t.Errorf("held user's snapshot %s was removed", id)
		}
	}
}

func TestParseMasterKey(t *testing.T) {
	k := storage.GenerateMasterKey()
	for _, s := range []string{k.Encode(), k.Encode() + "\n", "  " + k.Encode()} {
		if got, err := storage.ParseMasterKey(s); err != nil || got != k {
			t.Errorf("ParseMasterKey(%q) = %v", s, err)
		}
	}
	for _, s := range []string{"", "abc", k.Encode()[:63]} {
		if _, err := storage.ParseMasterKey(s); !errors.Is(err, holdfast.ErrInvalid) {
			t.Errorf("ParseMasterKey(%q) = %v, want ErrInvalid", s, err)
		}
	}
	if fmt.Sprint(k) != "REDACTED" {
		t.Errorf("a master key prints as %v", k)
	}
}

// clockFunc is a holdfast.Clock over a function, for tests that set the
// time.
type clockFunc func() time.Time

func (f clockFunc) Now() time.Time { return f() }
