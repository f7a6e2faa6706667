package storagetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/holdfast/holdfast"
)

// TestBlobStore runs the BlobStore conformance suite: the contract in the
// doc comment of holdfast.BlobStore. open returns an empty store for each
// subtest (a fresh directory, a fresh key prefix in a bucket) and registers
// its cleanup with t.
func TestBlobStore(t *testing.T, open func(t *testing.T) holdfast.BlobStore) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s holdfast.BlobStore)
	}{
		{"PutGet", testBlobPutGet},
		{"Empty", testBlobEmpty},
		{"UnknownSize", testBlobUnknownSize},
		{"Missing", testBlobMissing},
		{"InvalidNames", testBlobInvalidNames},
		{"PutIdempotent", testBlobPutIdempotent},
		{"PutConflict", testBlobPutConflict},
		{"TruncatedUpload", testBlobTruncatedUpload},
		{"ReaderError", testBlobReaderError},
		{"GetRange", testBlobGetRange},
		{"List", testBlobList},
		{"ListStop", testBlobListStop},
		{"Delete", testBlobDelete},
		{"Canceled", testBlobCanceled},
		{"Concurrent", testBlobConcurrent},
		{"RacingPuts", testBlobRacingPuts},
		{"Large", testBlobLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fn(t, open(t))
		})
	}
}

func blobRandomBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := 0; i+8 <= n; i += 8 {
		v := r.Uint64()
		for j := range 8 {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	for i := n &^ 7; i < n; i++ {
		b[i] = byte(r.Uint32())
	}
	return b
}

func blobPut(tb testing.TB, s holdfast.BlobStore, name string, data []byte) {
	tb.Helper()
	if err := s.Put(context.Background(), name, bytes.NewReader(data), int64(len(data))); err != nil {
		tb.Fatalf("Put(%q, %d bytes) = %v", name, len(data), err)
	}
}

func blobGet(tb testing.TB, s holdfast.BlobStore, name string) []byte {
	tb.Helper()
	rc, err := s.Get(context.Background(), name)
	if err != nil {
		tb.Fatalf("Get(%q) = %v", name, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		tb.Fatalf("Get(%q): read: %v", name, err)
	}
	return b
}

func blobGetRange(tb testing.TB, s holdfast.BlobStore, name string, off, n int64) ([]byte, error) {
	tb.Helper()
	rc, err := s.GetRange(context.Background(), name, off, n)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

func blobWantErr(tb testing.TB, what string, err, want error) {
	tb.Helper()
	if !errors.Is(err, want) {
		tb.Errorf("%s = %v, want an error matching %v", what, err, want)
	}
}

func testBlobPutGet(t *testing.T, s holdfast.BlobStore) {
	data := blobRandomBytes(1, 100_000)
	blobPut(t, s, "packs/acct/ab/abcdef", data)
	if got := blobGet(t, s, "packs/acct/ab/abcdef"); !bytes.Equal(got, data) {
		t.Errorf("Get returned %d bytes differing from the %d blobPut", len(got), len(data))
	}
	size, err := s.Stat(context.Background(), "packs/acct/ab/abcdef")
	if err != nil || size != int64(len(data)) {
		t.Errorf("Stat = %d, %v; want %d, nil", size, err, len(data))
	}
}

func testBlobEmpty(t *testing.T, s holdfast.BlobStore) {
	blobPut(t, s, "empty", nil)
	if got := blobGet(t, s, "empty"); len(got) != 0 {
		t.Errorf("Get(empty) = %d bytes, want 0", len(got))
	}
	if size, err := s.Stat(context.Background(), "empty"); err != nil || size != 0 {
		t.Errorf("Stat(empty) = %d, %v; want 0, nil", size, err)
	}
}

func testBlobUnknownSize(t *testing.T, s holdfast.BlobStore) {
	data := blobRandomBytes(2, 70_000)
	if err := s.Put(context.Background(), "u", io.MultiReader(bytes.NewReader(data)), -1); err != nil {
		t.Fatalf("Put(size -1) = %v", err)
	}
	if got := blobGet(t, s, "u"); !bytes.Equal(got, data) {
		t.Errorf("Get after Put(size -1) differs")
	}
}

func testBlobMissing(t *testing.T, s holdfast.BlobStore) {
	ctx := context.Background()
	_, err := s.Get(ctx, "no/such")
	blobWantErr(t, "Get(missing)", err, holdfast.ErrNotFound)
	_, err = s.GetRange(ctx, "no/such", 0, 10)
	blobWantErr(t, "GetRange(missing)", err, holdfast.ErrNotFound)
	_, err = s.Stat(ctx, "no/such")
	blobWantErr(t, "Stat(missing)", err, holdfast.ErrNotFound)
	if err := s.Delete(ctx, "no/such"); err != nil {
		t.Errorf("Delete(missing) = %v, want nil", err)
	}
	// A "directory" that holds objects is not an object.
	blobPut(t, s, "dir/obj", []byte("x"))
	_, err = s.Get(ctx, "dir")
	blobWantErr(t, "Get(prefix of an object)", err, holdfast.ErrNotFound)
	_, err = s.Stat(ctx, "dir")
	blobWantErr(t, "Stat(prefix of an object)", err, holdfast.ErrNotFound)
}

func testBlobInvalidNames(t *testing.T, s holdfast.BlobStore) {
	ctx := context.Background()
	for _, name := range []string{"", "/abs", "trail/", "a//b", "../up", "a/../b", "./a", "a/.", "back\\slash", "nul\x00", strings.Repeat("x", 513)} {
		err := s.Put(ctx, name, strings.NewReader("x"), 1)
		blobWantErr(t, fmt.Sprintf("Put(%q)", name), err, holdfast.ErrInvalid)
		_, err = s.Get(ctx, name)
		blobWantErr(t, fmt.Sprintf("Get(%q)", name), err, holdfast.ErrInvalid)
		_, err = s.Stat(ctx, name)
		blobWantErr(t, fmt.Sprintf("Stat(%q)", name), err, holdfast.ErrInvalid)
		err = s.Delete(ctx, name)
		blobWantErr(t, fmt.Sprintf("Delete(%q)", name), err, holdfast.ErrInvalid)
	}
}

func testBlobPutIdempotent(t *testing.T, s holdfast.BlobStore) {
	data := blobRandomBytes(3, 5000)
	blobPut(t, s, "same", data)
	blobPut(t, s, "same", data)
	if got := blobGet(t, s, "same"); !bytes.Equal(got, data) {
		t.Errorf("Get after a repeated Put differs")
	}
}

func testBlobPutConflict(t *testing.T, s holdfast.BlobStore) {
	ctx := context.Background()
	data := blobRandomBytes(4, 5000)
	blobPut(t, s, "x", data)
	for _, other := range [][]byte{blobRandomBytes(5, 5000), data[:4999], append(bytes.Clone(data), 1), nil} {
		err := s.Put(ctx, "x", bytes.NewReader(other), int64(len(other)))
		blobWantErr(t, fmt.Sprintf("Put(existing, %d different bytes)", len(other)), err, holdfast.ErrConflict)
	}
	if got := blobGet(t, s, "x"); !bytes.Equal(got, data) {
		t.Errorf("a refused Put changed the object")
	}
}

func testBlobTruncatedUpload(t *testing.T, s holdfast.BlobStore) {
	ctx := context.Background()
	data := blobRandomBytes(6, 3000)
	err := s.Put(ctx, "short", bytes.NewReader(data[:1000]), 3000)
	blobWantErr(t, "Put(1000 of 3000 bytes)", err, holdfast.ErrInvalid)
	_, err = s.Stat(ctx, "short")
	blobWantErr(t, "Stat after a truncated Put", err, holdfast.ErrNotFound)
	err = s.Put(ctx, "long", bytes.NewReader(data), 1000)
	blobWantErr(t, "Put(3000 bytes declared as 1000)", err, holdfast.ErrInvalid)
	_, err = s.Stat(ctx, "long")
	blobWantErr(t, "Stat after an oversized Put", err, holdfast.ErrNotFound)
}

type blobFailingReader struct {
	data []byte
	err  error
}

func (f *blobFailingReader) Read(p []byte) (int, error) {
	if len(f.data) == 0 {
		return 0, f.err
	}
	n := copy(p, f.data)
	f.data = f.data[n:]
	return n, nil
}

func testBlobReaderError(t *testing.T, s holdfast.BlobStore) {
	ctx := context.Background()
	boom := errors.New("connection reset")
	err := s.Put(ctx, "broken", &blobFailingReader{blobRandomBytes(7, 2000), boom}, 4000)
	if err == nil {
		t.Fatalf("Put with a failing reader = nil")
	}
	_, err = s.Stat(ctx, "broken")
	blobWantErr(t, "Stat after a failed Put", err, holdfast.ErrNotFound)
}

func testBlobGetRange(t *testing.T, s holdfast.BlobStore) {
	data := blobRandomBytes(8, 10_000)
	blobPut(t, s, "r", data)
	tests := []struct {
		off, n int64
		want   []byte
	}{
		{0, 10_000, data},
		{0, 1, data[:1]},
		{1234, 100, data[1234:1334]},
		{9_999, 1, data[9_999:]},
		{9_000, 5_000, data[9_000:]},
		{10_000, 10, nil},
		{500, 0, nil},
	}
	for _, tt := range tests {
		got, err := blobGetRange(t, s, "r", tt.off, tt.n)
		if err != nil {
			t.Errorf("GetRange(%d, %d) = %v", tt.off, tt.n, err)
			continue
		}
		if !bytes.Equal(got, tt.want) {
			t.Errorf("GetRange(%d, %d) = %d bytes, want %d (equal: %v)", tt.off, tt.n, len(got), len(tt.want), bytes.Equal(got, tt.want))
		}
	}
	for _, r := range [][2]int64{{10_001, 1}, {-1, 10}, {0, -1}} {
		_, err := blobGetRange(t, s, "r", r[0], r[1])
		blobWantErr(t, fmt.Sprintf("GetRange(%d, %d)", r[0], r[1]), err, holdfast.ErrInvalid)
	}
}

func testBlobList(t *testing.T, s holdfast.BlobStore) {
	names := []string{"a/b", "a.x", "a/c/d", "ab", "b/a", "a/b2", "a0"}
	for i, n := range names {
		blobPut(t, s, n, make([]byte, i))
	}
	sizes := map[string]int64{}
	for i, n := range names {
		sizes[n] = int64(i)
	}
	tests := []struct {
		prefix string
		want   []string
	}{
		{"", []string{"a.x", "a/b", "a/b2", "a/c/d", "a0", "ab", "b/a"}},
		{"a/", []string{"a/b", "a/b2", "a/c/d"}},
		{"a/b", []string{"a/b", "a/b2"}},
		{"a", []string{"a.x", "a/b", "a/b2", "a/c/d", "a0", "ab"}},
		{"a/c/", []string{"a/c/d"}},
		{"zz", nil},
		{"nope/", nil},
	}
	for _, tt := range tests {
		var got []string
		err := s.List(context.Background(), tt.prefix, func(name string, size int64) error {
			if size != sizes[name] {
				t.Errorf("List(%q): %s has size %d, want %d", tt.prefix, name, size, sizes[name])
			}
			got = append(got, name)
			return nil
		})
		if err != nil {
			t.Errorf("List(%q) = %v", tt.prefix, err)
		}
		if fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("List(%q) = %q, want %q", tt.prefix, got, tt.want)
		}
	}
}

func testBlobListStop(t *testing.T, s holdfast.BlobStore) {
	for i := range 5 {
		blobPut(t, s, fmt.Sprintf("l/%d", i), []byte{byte(i)})
	}
	stop := errors.New("stop")
	calls := 0
	err := s.List(context.Background(), "l/", func(string, int64) error {
		calls++
		if calls == 2 {
			return stop
		}
		return nil
	})
	if err != stop { // the contract: returned unchanged, so compare identity
		t.Errorf("List with fn failing = %v, want the fn's error unchanged", err)
	}
	if calls != 2 {
		t.Errorf("List called fn %d times after it failed on call 2", calls)
	}
}

func testBlobDelete(t *testing.T, s holdfast.BlobStore) {
	ctx := context.Background()
	blobPut(t, s, "d/1", []byte("one"))
	blobPut(t, s, "d/2", []byte("two"))
	if err := s.Delete(ctx, "d/1"); err != nil {
		t.Fatalf("Delete = %v", err)
	}
	_, err := s.Get(ctx, "d/1")
	blobWantErr(t, "Get after Delete", err, holdfast.ErrNotFound)
	if err := s.Delete(ctx, "d/1"); err != nil {
		t.Errorf("second Delete = %v, want nil", err)
	}
	var listed []string
	_ = s.List(ctx, "d/", func(n string, _ int64) error { listed = append(listed, n); return nil })
	if fmt.Sprint(listed) != "[d/2]" {
		t.Errorf("List after Delete = %q, want [d/2]", listed)
	}
	// A deleted name can be created again, with other content.
	blobPut(t, s, "d/1", []byte("uno"))
	if got := blobGet(t, s, "d/1"); string(got) != "uno" {
		t.Errorf("Get after re-Put = %q", got)
	}
}

func testBlobCanceled(t *testing.T, s holdfast.BlobStore) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Put(ctx, "c", strings.NewReader("x"), 1); err == nil {
		t.Errorf("Put with a canceled context = nil")
	}
	if _, err := s.Stat(context.Background(), "c"); !errors.Is(err, holdfast.ErrNotFound) {
		t.Errorf("Put with a canceled context stored the object (Stat = %v)", err)
	}
}

func testBlobConcurrent(t *testing.T, s holdfast.BlobStore) {
	const workers, each = 8, 6
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				name := fmt.Sprintf("c/%d/%d", w, i)
				data := blobRandomBytes(uint64(w*100+i), 1000+w*i)
				if err := s.Put(context.Background(), name, bytes.NewReader(data), int64(len(data))); err != nil {
					errs <- err
					return
				}
				rc, err := s.Get(context.Background(), name)
				if err != nil {
					errs <- err
					return
				}
				got, err := io.ReadAll(rc)
				rc.Close()
				if err != nil || !bytes.Equal(got, data) {
					errs <- fmt.Errorf("%s: read back differs (%v)", name, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	n := 0
	_ = s.List(context.Background(), "c/", func(string, int64) error { n++; return nil })
	if n != workers*each {
		t.Errorf("List after concurrent puts found %d objects, want %d", n, workers*each)
	}
}

// testBlobRacingPuts has writers race to create one name with different contents
// while readers poll it: exactly one writer wins, the others blobGet ErrConflict,
// and no reader ever sees anything but nothing or the winner's whole content.
func testBlobRacingPuts(t *testing.T, s holdfast.BlobStore) {
	const writers = 4
	contents := make([][]byte, writers)
	for i := range contents {
		contents[i] = blobRandomBytes(uint64(1000+i), 300_000)
	}
	var wg sync.WaitGroup
	results := make([]error, writers)
	done := make(chan struct{})
	var readerErr error
	var rwg sync.WaitGroup
	rwg.Go(func() {
		for {
			select {
			case <-done:
				return
			default:
			}
			rc, err := s.Get(context.Background(), "race")
			if errors.Is(err, holdfast.ErrNotFound) {
				continue
			}
			if err != nil {
				readerErr = err
				return
			}
			got, err := io.ReadAll(rc)
			rc.Close()
			if err != nil {
				readerErr = err
				return
			}
			whole := false
			for _, c := range contents {
				whole = whole || bytes.Equal(got, c)
			}
			if !whole {
				readerErr = fmt.Errorf("reader saw %d bytes that are no writer's whole content", len(got))
				return
			}
		}
	})
	for i := range writers {
		wg.Go(func() {
			results[i] = s.Put(context.Background(), "race", bytes.NewReader(contents[i]), int64(len(contents[i])))
		})
	}
	wg.Wait()
	close(done)
	rwg.Wait()
	if readerErr != nil {
		t.Error(readerErr)
	}
	winner := -1
	for i, err := range results {
		switch {
		case err == nil && winner >= 0:
			t.Errorf("writers %d and %d both created the name", winner, i)
		case err == nil:
			winner = i
		case !errors.Is(err, holdfast.ErrConflict):
			t.Errorf("losing writer %d: %v, want ErrConflict", i, err)
		}
	}
	if winner < 0 {
		t.Fatalf("no writer won: %v", results)
	}
	if got := blobGet(t, s, "race"); !bytes.Equal(got, contents[winner]) {
		t.Errorf("stored content is not the winner's")
	}
}

func testBlobLarge(t *testing.T, s holdfast.BlobStore) {
	if testing.Short() {
		t.Skip("large object: skipped with -short")
	}
	data := blobRandomBytes(9, 20<<20+12345)
	blobPut(t, s, "big", data)
	if got := blobGet(t, s, "big"); !bytes.Equal(got, data) {
		t.Errorf("20 MiB object read back differs")
	}
	got, err := blobGetRange(t, s, "big", int64(len(data))-100_000, 200_000)
	if err != nil || !bytes.Equal(got, data[len(data)-100_000:]) {
		t.Errorf("GetRange of the tail: %d bytes, %v", len(got), err)
	}
}
