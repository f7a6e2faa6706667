package storage_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"testing"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/storage"
)

type cut struct {
	ref  holdfast.ChunkRef
	size int
}

func split(tb testing.TB, c *storage.Chunker, data []byte) ([]cut, []byte) {
	tb.Helper()
	var cuts []cut
	var joined []byte
	err := c.Split(bytes.NewReader(data), func(ref holdfast.ChunkRef, chunk []byte) error {
		cuts = append(cuts, cut{ref, len(chunk)})
		joined = append(joined, chunk...)
		if c.Ref(chunk) != ref {
			tb.Errorf("chunk %d: ref is not the chunk's keyed hash", len(cuts)-1)
		}
		return nil
	})
	if err != nil {
		tb.Fatalf("Split = %v", err)
	}
	return cuts, joined
}

// FuzzChunkRoundTrip: split then join equals the input, every chunk is
// within the bounds, and splitting is deterministic.
func FuzzChunkRoundTrip(f *testing.F) {
	f.Add([]byte("hello"), uint64(1), uint32(0))
	f.Add([]byte{}, uint64(2), uint32(storage.MinChunk))
	f.Add([]byte("x"), uint64(3), uint32(storage.MaxChunk+1))
	f.Add(bytes.Repeat([]byte{0}, 1000), uint64(4), uint32(9<<20))
	c := storage.NewChunker(storage.ChunkerKey{42})
	f.Fuzz(func(t *testing.T, prefix []byte, seed uint64, n uint32) {
		data := append(bytes.Clone(prefix), genData(seed, int(n%(storage.MaxChunk+storage.MaxChunk/2)), seed%2 == 0)...)
		cuts, joined := split(t, c, data)
		if !bytes.Equal(joined, data) {
			t.Fatalf("join of %d chunks differs from the %d-byte input", len(cuts), len(data))
		}
		for i, ct := range cuts {
			if ct.size > storage.MaxChunk || ct.size == 0 || (i < len(cuts)-1 && ct.size < storage.MinChunk) {
				t.Errorf("chunk %d of %d: %d bytes", i, len(cuts), ct.size)
			}
		}
		again, _ := split(t, c, data)
		if fmt.Sprint(again) != fmt.Sprint(cuts) {
			t.Errorf("a second split differs")
		}
	})
}

func TestChunkerProperties(t *testing.T) {
	data := genData(1, 48<<20, false)
	c := storage.NewChunker(storage.ChunkerKey{1})
	cuts, _ := split(t, c, data)
	avg := len(data) / len(cuts)
	if avg < 3*storage.AvgChunk/4 || avg > 3*storage.AvgChunk/2 {
		t.Errorf("average chunk %d bytes over %d chunks, want near %d", avg, len(cuts), storage.AvgChunk)
	}

	// An insertion near the start moves only nearby boundaries.
	shifted := append([]byte("inserted line\n"), data...)
	after, _ := split(t, c, shifted)
	old := map[holdfast.ChunkRef]bool{}
	for _, ct := range cuts {
		old[ct.ref] = true
	}
	same := 0
	for _, ct := range after {
		if old[ct.ref] {
			same++
		}
	}
	if same < len(cuts)-3 {
		t.Errorf("after a 14-byte insertion %d of %d chunks are unchanged", same, len(cuts))
	}

	// Another key cuts elsewhere: boundaries reveal nothing across accounts.
	other, _ := split(t, storage.NewChunker(storage.ChunkerKey{2}), data)
	sizes := func(cs []cut) string {
		var b bytes.Buffer
		for _, c := range cs {
			fmt.Fprint(&b, c.size, " ")
		}
		return b.String()
	}
	if sizes(other) == sizes(cuts) {
		t.Errorf("two keys cut the same boundaries")
	}
}

func BenchmarkChunker(b *testing.B) {
	data := genData(1, 64<<20, false)
	c := storage.NewChunker(storage.ChunkerKey{1})
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		for rest := data; len(rest) > 0; {
			rest = rest[c.Cut(rest):]
		}
	}
}

// BenchmarkSplit is the client's whole local step: cut and keyed-hash.
func BenchmarkSplit(b *testing.B) {
	data := genData(1, 64<<20, false)
	c := storage.NewChunker(storage.ChunkerKey{1})
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if err := c.Split(bytes.NewReader(data), func(holdfast.ChunkRef, []byte) error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
}

// benchCorpus is text, mail and binary files, about 64 MiB.
func benchCorpus() (files, int64) {
	fl := files{}
	var n int64
	for i := range 8 {
		fl[fmt.Sprintf("docs/%d.txt", i)] = genData(uint64(i), 2<<20+i*1000, true)
		fl[fmt.Sprintf("bin/%d.bin", i)] = genData(uint64(100+i), 4<<20+i*777, false)
	}
	for i := range 400 {
		fl[fmt.Sprintf("mail/inbox/%d.eml", i)] = append([]byte(fmt.Sprintf("From: a%d@example.com\r\nSubject: item %d\r\n\r\n", i, i)), genData(uint64(1000+i), 6000+i*13, true)...)
	}
	for _, b := range fl {
		n += int64(len(b))
	}
	return fl, n
}

func BenchmarkBackup(b *testing.B) {
	fl, n := benchCorpus()
	s := openStore(b, newBlobs(b), storage.Options{})
	b.SetBytes(n)
	i := 0
	for b.Loop() {
		i++
		// A new account each time: a first backup, nothing to dedup.
		backup(b, s, fmt.Sprintf("bench-%d", i), "u1", fl)
	}
}

func BenchmarkBackupUnchanged(b *testing.B) {
	fl, n := benchCorpus()
	s := openStore(b, newBlobs(b), storage.Options{})
	backup(b, s, acct, "u1", fl)
	b.SetBytes(n)
	for b.Loop() {
		if _, up := backup(b, s, acct, "u1", fl); up != 0 {
			b.Fatalf("unchanged backup uploaded %d chunks", up)
		}
	}
}

func BenchmarkRestore(b *testing.B) {
	fl, n := benchCorpus()
	s := openStore(b, newBlobs(b), storage.Options{})
	snap, _ := backup(b, s, acct, "u1", fl)
	b.SetBytes(n)
	for b.Loop() {
		for path := range fl {
			r, err := s.OpenItem(context.Background(), acct, snap.ID, path)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := io.Copy(io.Discard, r); err != nil {
				b.Fatal(err)
			}
			r.Close()
		}
	}
}
