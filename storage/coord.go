package storage

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/holdfast/holdfast"
)

// Coordination of processes that share a store (replicas of serve on one
// bucket). Within one process the account's gc lock orders commits against
// Prune; across processes, two kinds of marker blobs do, in the manner of
// Dekker's algorithm (the BlobStore's List sees every completed Put):
//
//   - a commit writes locks/{account}/commit-… before it checks its chunks
//     and deletes it once its snapshot is stored;
//   - a Prune writes locks/{account}/delete-… before it writes the index
//     that drops chunks and deletes it after the old packs are gone.
//
// Each then lists the other kind. A commit that sees a delete marker
// withdraws its own, waits for the Prune to finish and reloads the index
// (so a dropped chunk is reported missing and uploaded again); a Prune that
// sees a commit marker waits for the commit, then re-reads the snapshots
// and gives up the run if a new one names a chunk it would drop. A commit
// that sees no marker reads the index files it does not know (learnIndex:
// other processes' new packs), and reloads the whole index when one of
// them supersedes others: a whole Prune may have run since the chunks
// were checked. Markers carry an expiry, so a killed process blocks nobody
// for long. Which chunks exist at all is the shared chunk index's to say
// (chunkindex.go).

const (
	// commitMarkerFor and deleteMarkerFor bound how long a marker of a
	// process that died counts.
	commitMarkerFor = 10 * time.Minute
	deleteMarkerFor = 10 * time.Minute
	// coordWait is how long a commit waits for a Prune's deletions (and a
	// Prune for commits in flight) before giving up.
	coordWait = 30 * time.Second
	coordPoll = 100 * time.Millisecond
)

// errCompacting is what a commit returns when another process's Prune kept
// deleting for longer than coordWait; the client commits again later.
var errCompacting = fmt.Errorf("%w: the store is being compacted; commit again in a minute", holdfast.ErrConflict)

type marker struct {
	Until time.Time `json:"until"`
}

// putMarker stores a marker of kind and returns its name.
func (s *Store) putMarker(ctx context.Context, account, kind string, lasts time.Duration) (string, error) {
	name := fmt.Sprintf("locks/%s/%s-%016x-%s", account, kind, s.now().UnixNano(), randHex(8))
	b, err := json.Marshal(marker{Until: s.now().Add(lasts).UTC()})
	if err != nil {
		return "", err
	}
	if err := s.blobs.Put(ctx, name, bytes.NewReader(b), int64(len(b))); err != nil {
		return "", fmt.Errorf("storage: %s marker: %w", kind, err)
	}
	return name, nil
}

// dropMarker deletes a marker, even when ctx has ended.
func (s *Store) dropMarker(ctx context.Context, name string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	_ = s.blobs.Delete(ctx, name)
}

// liveMarkers counts the unexpired markers of kind, except skip. An
// unreadable marker counts: better to wait than to guess.
func (s *Store) liveMarkers(ctx context.Context, account, kind, skip string) (int, error) {
	var names []string
	prefix := "locks/" + account + "/" + kind + "-"
	if err := s.blobs.List(ctx, prefix, func(name string, _ int64) error {
		if name != skip {
			names = append(names, name)
		}
		return nil
	}); err != nil {
		return 0, fmt.Errorf("storage: list %s markers: %w", kind, err)
	}
	n := 0
	for _, name := range names {
		b, err := s.readBlob(ctx, name, 4096)
		if errors.Is(err, holdfast.ErrNotFound) {
			continue
		}
		var m marker
		if err == nil && json.Unmarshal(b, &m) == nil && !s.now().Before(m.Until) {
			continue // expired: its process died
		}
		n++
	}
	return n, nil
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// beginCommit announces a commit to other processes and makes the
// account's index current with respect to their Prunes. It returns the
// marker to drop once the snapshot is stored. The caller holds a.gc
// shared.
func (s *Store) beginCommit(ctx context.Context, a *account) (string, error) {
	stale := false
	deadline := time.Now().Add(coordWait)
	for {
		name, err := s.putMarker(ctx, a.id, "commit", commitMarkerFor)
		if err != nil {
			return "", err
		}
		n, err := s.liveMarkers(ctx, a.id, "delete", "")
		if err == nil && n == 0 {
			// After a Prune, reload what is in force; else read the
			// index files other processes stored meanwhile (a whole
			// Prune may have run since the chunks were checked: its index
			// file makes learnIndex reload all).
			learn := s.learnIndex
			if stale {
				learn = s.refreshIndex
			}
			if err := learn(ctx, a); err != nil {
				s.dropMarker(ctx, name)
				return "", err
			}
			return name, nil
		}
		// A Prune is deleting: step aside until it is done.
		s.dropMarker(ctx, name)
		if err != nil {
			return "", err
		}
		stale = true
		for n > 0 {
			if time.Now().After(deadline) {
				return "", errCompacting
			}
			if err := sleep(ctx, coordPoll); err != nil {
				return "", err
			}
			if n, err = s.liveMarkers(ctx, a.id, "delete", ""); err != nil {
				return "", err
			}
		}
	}
}

// beginDelete announces a Prune's deletions, waits for commits in flight
// in other processes, and reports whether a snapshot stored since the
// plan (not in planned) names a chunk of drop, in which case the run must
// not go on. It returns the marker to drop after the deletions.
func (s *Store) beginDelete(ctx context.Context, a *account, planned map[string]bool, drop func(holdfast.ChunkRef) bool) (string, bool, error) {
	name, err := s.putMarker(ctx, a.id, "delete", deleteMarkerFor)
	if err != nil {
		return "", false, err
	}
	deadline := time.Now().Add(coordWait)
	for {
		n, err := s.liveMarkers(ctx, a.id, "commit", "")
		if err != nil {
			s.dropMarker(ctx, name)
			return "", false, err
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			s.dropMarker(ctx, name)
			return "", false, errLeaseHeld // commits keep coming: try next run
		}
		if err := sleep(ctx, coordPoll); err != nil {
			s.dropMarker(ctx, name)
			return "", false, err
		}
	}
	// Snapshots committed meanwhile by other processes.
	var fresh []string
	prefix := "snapshots/" + a.id + "/"
	if err := s.blobs.List(ctx, prefix, func(n string, _ int64) error {
		if !planned[strings.TrimPrefix(n, prefix)] {
			fresh = append(fresh, n)
		}
		return nil
	}); err != nil {
		s.dropMarker(ctx, name)
		return "", false, err
	}
	for _, n := range fresh {
		rec, err := s.readRecord(ctx, a, n)
		if errors.Is(err, holdfast.ErrNotFound) {
			continue
		}
		if err != nil {
			s.dropMarker(ctx, name)
			return "", false, err
		}
		for _, r := range rec.Manifest {
			if drop(r) {
				s.dropMarker(ctx, name)
				return "", true, nil
			}
		}
		ci, err := s.items(ctx, a, rec)
		if err != nil {
			s.dropMarker(ctx, name)
			return "", false, err
		}
		for _, it := range ci.items {
			for _, r := range it.Chunks {
				if drop(r) {
					s.dropMarker(ctx, name)
					return "", true, nil
				}
			}
		}
	}
	return name, false, nil
}
