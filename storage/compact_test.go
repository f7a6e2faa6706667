package storage_test

import (
	"context"
	"errors"
	"testing"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/storage"
)

func TestCompactAppliesEachUsersRetentionAndSparesHolds(t *testing.T) {
	s := openStore(t, newBlobs(t), storage.Options{PruneGrace: -1, PinFor: -1})
	ctx := context.Background()
	users := []string{"trimmed", "held", "keep-all", "unknown"}
	for i := range 3 {
		for j, u := range users {
			backup(t, s, acct, u, files{"own": genData(uint64(100*j+i), 300<<10, false)})
		}
	}
	policies := map[string]holdfast.Retention{"trimmed": {KeepLast: 1}, "held": {KeepLast: 1}}
	retention := func(_ context.Context, _, user string) (holdfast.Retention, error) {
		if user == "unknown" {
			return holdfast.Retention{}, errors.New("no such user in the metadata store")
		}
		return policies[user], nil
	}
	holds := &holdSet{}
	holds.set("held", true)
	res, err := s.Compact(ctx, retention, holds)
	if err != nil {
		t.Fatal(err)
	}
	if res.Forgotten != 2 || res.Held != 2 || res.Skipped != 1 || res.Prune.ChunksRemoved == 0 {
		t.Errorf("Compact = %+v, want 2 forgotten, 2 held, 1 skipped, chunks removed", res)
	}
	want := map[string]int{"trimmed": 1, "held": 3, "keep-all": 3, "unknown": 3}
	for u, n := range want {
		list, err := s.Snapshots(ctx, storage.SnapshotFilter{AccountID: acct, UserID: u})
		if err != nil || len(list) != n {
			t.Errorf("%s: %d snapshots (%v), want %d", u, len(list), err, n)
		}
		for _, sn := range list {
			restore(t, s, acct, sn.ID)
		}
	}
	mustCheck(t, s)
	if _, err := s.Compact(ctx, nil, holds); !errors.Is(err, holdfast.ErrInvalid) {
		t.Errorf("Compact without retention = %v, want ErrInvalid", err)
	}
}

// metaHolds is the part of a metadata store MetaHolds reads.
type metaHolds map[string][]holdfast.LegalHold

func (m metaHolds) HoldsForUser(_ context.Context, _, user string) ([]holdfast.LegalHold, error) {
	if user == "broken" {
		return nil, errors.New("database down")
	}
	return m[user], nil
}

func TestMetaHoldsKeepsHeldUsers(t *testing.T) {
	s := openStore(t, newBlobs(t), storage.Options{PruneGrace: -1})
	ctx := context.Background()
	for i := range 2 {
		for _, u := range []string{"custodian", "broken", "free"} {
			backup(t, s, acct, u, files{"f": genData(uint64(i+len(u)*10), 1000, true)})
		}
	}
	checker := storage.MetaHolds{Store: metaHolds{"custodian": {{ID: "h1", Name: "Q3 audit"}}}}
	res, err := s.Compact(ctx, func(context.Context, string, string) (holdfast.Retention, error) {
		return holdfast.Retention{KeepLast: 1}, nil
	}, checker)
	if err != nil {
		t.Fatal(err)
	}
	if res.Forgotten != 1 || res.Held != 2 {
		t.Errorf("Compact = %+v, want only the free user's old snapshot removed", res)
	}
}
