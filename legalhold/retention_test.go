package legalhold_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/legalhold"
	"github.com/holdfast/holdfast/storage"
	"github.com/holdfast/holdfast/storage/fs"
	"github.com/holdfast/holdfast/storage/sqlite"
)

// TestRetentionSkipsHeldData runs the dedup store's retention with the
// Service as its hold checker: a custodian's snapshots survive a policy
// that keeps nothing while any hold covers them (two holds: removal from
// one is not enough), and go once the last hold releases them.
func TestRetentionSkipsHeldData(t *testing.T) {
	ctx := context.Background()
	meta, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "meta.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer meta.Close()
	blobs, err := fs.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	data, err := storage.Open(ctx, blobs, storage.Options{MasterKey: storage.GenerateMasterKey()})
	if err != nil {
		t.Fatal(err)
	}
	defer data.Close()
	a := holdfast.Account{Name: "Acme", Edition: holdfast.EditionElite, Settings: holdfast.DefaultAccountSettings()}
	must(t, meta.CreateAccount(ctx, &a))
	p := holdfast.Profile{AccountID: a.ID, Name: "Default", Default: true}
	must(t, meta.CreateProfile(ctx, &p))
	u := holdfast.User{AccountID: a.ID, Email: "ann@example.com", ProfileID: p.ID, State: holdfast.UserActive}
	must(t, meta.CreateUser(ctx, &u))
	var holds []holdfast.LegalHold
	for _, name := range []string{"One", "Two"} {
		h := holdfast.LegalHold{AccountID: a.ID, Name: name, DataAccess: holdfast.AccessAllData}
		must(t, meta.CreateHold(ctx, &h))
		must(t, meta.AddCustodian(ctx, a.ID, &holdfast.Custodian{HoldID: h.ID, UserID: u.ID}))
		holds = append(holds, h)
	}
	key, err := data.ChunkerKey(ctx, a.ID)
	must(t, err)
	c := storage.NewChunker(key)
	for i := range 3 {
		body := strings.Repeat("held ", 100+i)
		it := storage.Item{Path: "f.txt", Size: int64(len(body))}
		must(t, c.Split(strings.NewReader(body), func(ref holdfast.ChunkRef, b []byte) error {
			it.Chunks = append(it.Chunks, ref)
			return data.PutChunk(ctx, a.ID, ref, b)
		}))
		_, err := data.CommitSnapshot(ctx, storage.Snapshot{AccountID: a.ID, UserID: u.ID, Source: storage.SourceDevice, Device: "laptop",
			Time: time.Date(2020, 1, 1+i, 0, 0, 0, 0, time.UTC), Items: []storage.Item{it}})
		must(t, err)
	}
	svc := legalhold.New(meta, legalhold.Options{})
	keepOne := holdfast.Retention{KeepLast: 1}
	count := func() int {
		s, err := data.Snapshots(ctx, storage.SnapshotFilter{AccountID: a.ID, UserID: u.ID})
		must(t, err)
		return len(s)
	}
	forget := func() {
		t.Helper()
		if _, err := data.Forget(ctx, storage.SnapshotFilter{AccountID: a.ID, UserID: u.ID}, keepOne, svc); err != nil {
			t.Fatal(err)
		}
	}
	forget()
	if n := count(); n != 3 {
		t.Fatalf("held on two holds: %d snapshots left, want 3", n)
	}
	must(t, meta.RemoveCustodian(ctx, a.ID, holds[0].ID, u.ID))
	forget()
	if n := count(); n != 3 {
		t.Fatalf("still held on one hold: %d snapshots left, want 3", n)
	}
	must(t, meta.DeleteHold(ctx, a.ID, holds[1].ID))
	forget()
	if n := count(); n != 1 {
		t.Fatalf("released: %d snapshots left, want 1 (the policy keeps the last)", n)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
