package storage_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/storage"
)

// stepClock is a clock a test steps; safe for concurrent use.
type stepClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *stepClock) step(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// TestCompactionFollowsSteppedClock: the compaction job runs when an
// interval has passed on the store's clock, not on the wall clock;
// stepping the clock back never makes it run early; and however the clock
// is stepped, forward by days or back by hours, a held user's snapshots
// all stay readable while a free user's past retention are forgotten.
func TestCompactionFollowsSteppedClock(t *testing.T) {
	blobs := newBlobs(t)
	clock := &stepClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	s := openStore(t, blobs, storage.Options{Clock: clock, PackSize: 1 << 20})
	storage.SetSchedulePoll(s, 2*time.Millisecond)
	holds := &holdSet{}
	holds.set("held", true)
	content := map[string]files{}
	for day := range 4 {
		clock.step(24 * time.Hour)
		for ui, u := range []string{"held", "free"} {
			fl := files{"f": genData(uint64(200+day*10+ui), 300<<10+day, false)}
			snap, _ := backup(t, s, acct, u, fl)
			content[snap.ID] = fl
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	runs := make(chan storage.CompactResult, 16)
	retention := func(context.Context, string, string) (holdfast.Retention, error) {
		return holdfast.Retention{KeepLast: 1}, nil
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.RunCompaction(ctx, time.Hour, retention, holds, func(r storage.CompactResult, err error) {
			if err != nil {
				t.Errorf("compaction: %v", err)
			}
			runs <- r
		})
	}()
	time.Sleep(50 * time.Millisecond) // the first look starts the interval
	expect := func(step time.Duration, want bool) {
		t.Helper()
		clock.step(step)
		select {
		case <-runs:
			if !want {
				t.Fatalf("after a step of %s to %s the job ran, want it not due", step, clock.Now())
			}
		case <-time.After(map[bool]time.Duration{true: 10 * time.Second, false: 150 * time.Millisecond}[want]):
			if want {
				t.Fatalf("after a step of %s to %s the job did not run, want it due", step, clock.Now())
			}
		}
	}
	expect(30*time.Minute, false)
	expect(31*time.Minute, true)
	expect(-5*time.Hour, false) // back: not early
	expect(59*time.Minute, false)
	expect(2*time.Minute, true)
	expect(48*time.Hour, true)
	expect(-30*time.Hour, false)
	cancel()
	<-done

	left, err := s.Snapshots(context.Background(), storage.SnapshotFilter{AccountID: acct})
	if err != nil {
		t.Fatal(err)
	}
	held := 0
	for _, sn := range left {
		if sn.UserID == "held" {
			held++
		}
		sameFiles(t, sn.UserID+"/"+sn.ID, restore(t, s, acct, sn.ID), content[sn.ID])
	}
	if held != 4 || len(left) != 5 {
		t.Errorf("%d snapshots left, %d of the held user; want all 4 held and the free user's newest", len(left), held)
	}
	mustCheck(t, s)
}
