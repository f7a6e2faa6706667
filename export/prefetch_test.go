package export

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"testing"
)

type memItem struct {
	*bytes.Reader
	closed bool
}

func (m *memItem) Size() int64  { return m.Reader.Size() }
func (m *memItem) Close() error { m.closed = true; return nil }

func TestPrefetchReaderMatchesSource(t *testing.T) {
	src := make([]byte, 5*prefetchBlock+12345)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range src {
		src[i] = byte(r.Uint32())
	}
	item := &memItem{Reader: bytes.NewReader(src)}
	p := newPrefetchReader(context.Background(), item)
	// Whole read through WriteTo.
	var buf bytes.Buffer
	if n, err := p.WriteTo(&buf); err != nil || n != int64(len(src)) || !bytes.Equal(buf.Bytes(), src) {
		t.Fatalf("WriteTo = %d, %v; equal %v", n, err, bytes.Equal(buf.Bytes(), src))
	}
	// Random seeks and reads, as Range requests make them.
	for range 200 {
		off := r.Int64N(int64(len(src)) + 10)
		n := r.IntN(3 * prefetchBlock)
		if _, err := p.Seek(off, io.SeekStart); err != nil {
			t.Fatal(err)
		}
		got := make([]byte, n)
		k, err := io.ReadFull(p, got)
		want := src[min(off, int64(len(src))):min(off+int64(n), int64(len(src)))]
		if !bytes.Equal(got[:k], want) {
			t.Fatalf("read %d at %d: %d bytes differ (%v)", n, off, k, err)
		}
		if k < n && err == nil {
			t.Fatalf("short read without an error")
		}
	}
	if end, _ := p.Seek(0, io.SeekEnd); end != int64(len(src)) {
		t.Errorf("SeekEnd = %d", end)
	}
	if _, err := p.Seek(-1, io.SeekStart); err == nil {
		t.Error("negative seek accepted")
	}
	if err := p.Close(); err != nil || !item.closed {
		t.Errorf("Close = %v, item closed %v", err, item.closed)
	}
}
