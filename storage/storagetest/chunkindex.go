package storagetest

import (
	"context"
	"crypto/rand"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/holdfast/holdfast"
)

// TestChunkIndex runs the [holdfast.ChunkIndex] conformance suite: every
// clause of its contract in the root package's chunkindex.go. open returns
// the index under test, empty or not (each case uses accounts of its own),
// and closes it when the test ends; it is called once per subtest. When
// the index is a [holdfast.MetaStore] too, the suite checks that its
// writes leave the account's revision alone.
func TestChunkIndex(t *testing.T, open func(t *testing.T) holdfast.ChunkIndex) {
	tests := []struct {
		name string
		fn   func(t *testing.T, x holdfast.ChunkIndex)
	}{
		{"AddHave", testChunkIndexAddHave},
		{"AddTwice", testChunkIndexAddTwice},
		{"DropPacks", testChunkIndexDropPacks},
		{"TenantIsolation", testChunkIndexTenants},
		{"ManyRefs", testChunkIndexMany},
		{"Concurrent", testChunkIndexConcurrent},
		{"Revision", testChunkIndexRevision},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, open(t)) })
	}
}

// chunkRefs returns n random refs.
func chunkRefs(n int) []holdfast.ChunkRef {
	out := make([]holdfast.ChunkRef, n)
	for i := range out {
		_, _ = rand.Read(out[i][:])
	}
	return out
}

// have asserts that HaveChunks(refs) answers want.
func chunkIndexHave(tb testing.TB, x holdfast.ChunkIndex, acct string, refs, want []holdfast.ChunkRef) {
	tb.Helper()
	got, err := x.HaveChunks(context.Background(), acct, refs)
	if err != nil {
		tb.Fatalf("HaveChunks = %v", err)
	}
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !slices.Equal(got, want) {
		tb.Errorf("HaveChunks = %v, want %v", got, want)
	}
}

func testChunkIndexAddHave(t *testing.T, x holdfast.ChunkIndex) {
	ctx := t.Context()
	acct := metaUniq("acct")
	r := chunkRefs(3)
	chunkIndexHave(t, x, acct, r, nil)
	metaMust(t, x.AddChunks(ctx, acct, "pack1", r[:2]))
	// In the order asked, once each, only the held ones.
	chunkIndexHave(t, x, acct, []holdfast.ChunkRef{r[2], r[1], r[0], r[1]}, []holdfast.ChunkRef{r[1], r[0]})
	chunkIndexHave(t, x, acct, nil, nil)
	metaMust(t, x.AddChunks(ctx, acct, "pack2", nil))
}

func testChunkIndexAddTwice(t *testing.T, x holdfast.ChunkIndex) {
	ctx := t.Context()
	acct := metaUniq("acct")
	r := chunkRefs(2)
	metaMust(t, x.AddChunks(ctx, acct, "pack1", r))
	// A retried write, and a pack listing a ref twice.
	metaMust(t, x.AddChunks(ctx, acct, "pack1", []holdfast.ChunkRef{r[0], r[0], r[1]}))
	chunkIndexHave(t, x, acct, r, r)
}

func testChunkIndexDropPacks(t *testing.T, x holdfast.ChunkIndex) {
	ctx := t.Context()
	acct := metaUniq("acct")
	r := chunkRefs(3)
	metaMust(t, x.AddChunks(ctx, acct, "old", r[:2]))
	metaMust(t, x.AddChunks(ctx, acct, "new", r[1:]))
	metaMust(t, x.DropPacks(ctx, acct, []string{"old", "never-recorded"}))
	// r[1] is still in "new"; r[0] was only in "old".
	chunkIndexHave(t, x, acct, r, r[1:])
	metaMust(t, x.DropPacks(ctx, acct, []string{"new", "new"}))
	chunkIndexHave(t, x, acct, r, nil)
	metaMust(t, x.DropPacks(ctx, acct, nil))
}

func testChunkIndexTenants(t *testing.T, x holdfast.ChunkIndex) {
	ctx := t.Context()
	a, b := metaUniq("acct"), metaUniq("acct")
	r := chunkRefs(2)
	metaMust(t, x.AddChunks(ctx, a, "pack1", r))
	chunkIndexHave(t, x, b, r, nil)
	// Dropping b's pack of the same name leaves a's rows.
	metaMust(t, x.DropPacks(ctx, b, []string{"pack1"}))
	chunkIndexHave(t, x, a, r, r)
}

func testChunkIndexMany(t *testing.T, x holdfast.ChunkIndex) {
	ctx := t.Context()
	acct := metaUniq("acct")
	// More than one statement's worth of rows and of an IN list.
	r := chunkRefs(3000)
	metaMust(t, x.AddChunks(ctx, acct, "big", r[:2500]))
	got, err := x.HaveChunks(ctx, acct, r)
	metaMust(t, err)
	if !slices.Equal(got, r[:2500]) {
		t.Errorf("HaveChunks of 3000 refs, 2500 held: %d returned, want the 2500 in order", len(got))
	}
	metaMust(t, x.DropPacks(ctx, acct, []string{"big"}))
	chunkIndexHave(t, x, acct, r, nil)
}

func testChunkIndexConcurrent(t *testing.T, x holdfast.ChunkIndex) {
	ctx := t.Context()
	acct := metaUniq("acct")
	// Replicas storing the same chunks in packs of their own at once.
	r := chunkRefs(200)
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() {
			refs := slices.Clone(r)
			if i%2 == 1 {
				slices.Reverse(refs)
			}
			errs[i] = x.AddChunks(ctx, acct, fmt.Sprintf("pack%d", i), refs)
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("AddChunks %d = %v", i, err)
		}
	}
	chunkIndexHave(t, x, acct, r, r)
}

func testChunkIndexRevision(t *testing.T, x holdfast.ChunkIndex) {
	m, ok := x.(holdfast.MetaStore)
	if !ok {
		t.Skip("the index is not a metadata store")
	}
	ctx := t.Context()
	acct := metaNewAccount(t, m).ID
	rev := metaRevision(t, m, acct)
	r := chunkRefs(2)
	metaMust(t, x.AddChunks(ctx, acct, "pack1", r))
	metaMust(t, x.DropPacks(ctx, acct, []string{"pack1"}))
	if got := metaRevision(t, m, acct); got != rev {
		t.Errorf("revision %d after chunk index writes, want %d (chunks are not decision data)", got, rev)
	}
}
