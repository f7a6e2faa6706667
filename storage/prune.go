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

// PruneResult says what Prune did.
type PruneResult struct {
	PacksWritten   int   // new packs holding live chunks of rewritten packs
	PacksDeleted   int   // packs with no live chunk, and rewritten packs
	OrphansDeleted int   // packs no index names (left by a crash)
	ChunksRemoved  int   // chunks no snapshot names
	BytesFreed     int64 // size of deleted packs minus size of new ones
	PacksLocked    int   // packs given Object Lock retention for held data
	Busy           int   // accounts skipped: another process holds their prune lease
}

// Prune collects chunks that no snapshot names and rewrites sparse packs.
// It never deletes a snapshot (Forget does, and asks the hold checker) and
// never a chunk that any remaining snapshot names; packs younger than
// Options.PruneGrace are left alone, since a backup may be uploading into
// them. holds decides which packs get Object Lock retention when
// Options.LockFor is set; a nil checker locks nothing.
//
// Order, so a crash anywhere loses nothing: write new packs, write an index
// superseding every index file read, swap the in-memory index, delete the
// superseded index files, then delete old and orphaned packs. An account
// whose snapshots or packs cannot all be read is not pruned (ErrDamaged):
// what is live cannot be known.
func (s *Store) Prune(ctx context.Context, holds holdfast.HoldChecker) (PruneResult, error) {
	var res PruneResult
	ids, err := s.accountIDs(ctx)
	if err != nil {
		return res, fmt.Errorf("storage: prune: %w", err)
	}
	var errs []error
	for _, id := range ids {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		a, err := s.account(ctx, id, false)
		if err != nil {
			errs = append(errs, fmt.Errorf("storage: prune %s: %w", id, err))
			continue
		}
		release, err := s.acquireLease(ctx, id)
		if errors.Is(err, errLeaseHeld) {
			res.Busy++
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("storage: prune %s: %w", id, err))
			continue
		}
		err = s.pruneAccount(ctx, a, holds, &res)
		release()
		if err != nil {
			errs = append(errs, fmt.Errorf("storage: prune %s: %w", id, err))
		}
	}
	return res, errors.Join(errs...)
}

// pruneLease is the blob that keeps two processes (replicas of serve on
// one bucket) from pruning one account at once. A lease of a process that
// died lapses at Until.
type pruneLease struct {
	Owner string    `json:"owner"`
	Until time.Time `json:"until"`
}

// leaseFor bounds one account's prune; a longer one may overlap another
// process's, which is why Prune also keeps to packs and index files it
// knows.
const leaseFor = 6 * time.Hour

var errLeaseHeld = errors.New("another process is pruning the account")

func leaseName(account string) string { return "locks/" + account + "/prune" }

// acquireLease takes the account's prune lease (create-only Put), taking
// over one that has lapsed. The release func deletes it if it is still
// ours.
func (s *Store) acquireLease(ctx context.Context, account string) (func(), error) {
	name := leaseName(account)
	mine := pruneLease{Owner: randHex(16), Until: s.now().Add(leaseFor).UTC()}
	body, err := json.Marshal(mine)
	if err != nil {
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		err := s.blobs.Put(ctx, name, bytes.NewReader(body), int64(len(body)))
		if err == nil {
			break
		}
		if !errors.Is(err, holdfast.ErrConflict) || attempt > 0 {
			if errors.Is(err, holdfast.ErrConflict) {
				return nil, errLeaseHeld
			}
			return nil, fmt.Errorf("prune lease: %w", err)
		}
		b, rerr := s.readBlob(ctx, name, 4096)
		var held pruneLease
		if rerr == nil && json.Unmarshal(b, &held) == nil && s.now().Before(held.Until) {
			return nil, errLeaseHeld
		}
		if rerr != nil && !errors.Is(rerr, holdfast.ErrNotFound) {
			return nil, fmt.Errorf("prune lease: %w", rerr)
		}
		// Lapsed (or unreadable): take it over.
		if err := s.blobs.Delete(ctx, name); err != nil {
			return nil, fmt.Errorf("prune lease: %w", err)
		}
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		b, err := s.readBlob(ctx, name, 4096)
		var held pruneLease
		if err == nil && json.Unmarshal(b, &held) == nil && held.Owner == mine.Owner {
			_ = s.blobs.Delete(ctx, name)
		}
	}, nil
}

// pruneAccount prunes one account in three steps, as restic splits its
// prune: find what is live (markLive), decide which packs go (planPrune),
// then write new packs and an index and delete the old ones (execute).
func (s *Store) pruneAccount(ctx context.Context, a *account, holds holdfast.HoldChecker, res *PruneResult) error {
	a.gc.Lock()
	defer a.gc.Unlock()

	recs, err := s.records(ctx, a)
	if err != nil {
		return err
	}
	live, heldRefs, err := s.markLive(ctx, a, recs, holds)
	if err != nil {
		return err
	}
	w := s.planPrune(a, live)
	defer func() {
		a.mu.Lock()
		a.prune = nil
		a.mu.Unlock()
	}()
	if len(w.doomed()) > 0 {
		if err := s.executePrune(ctx, a, recs, w, res); err != nil || w.busy {
			return err
		}
	}
	if err := s.deleteOrphans(ctx, a, res); err != nil {
		return err
	}
	return s.lockHeld(ctx, a, heldRefs, res)
}

// markLive returns every chunk the account's snapshots name, and those of
// them a held user's snapshots name (only when packs are locked).
func (s *Store) markLive(ctx context.Context, a *account, recs []snapRecord, holds holdfast.HoldChecker) (live, heldRefs map[holdfast.ChunkRef]bool, err error) {
	live = map[holdfast.ChunkRef]bool{}
	heldRefs = map[holdfast.ChunkRef]bool{}
	heldUser := map[string]bool{}
	for _, rec := range recs {
		ci, err := s.items(ctx, a, rec)
		if err != nil {
			return nil, nil, err
		}
		held := false
		if holds != nil && s.opts.LockFor > 0 {
			h, ok := heldUser[rec.UserID]
			if !ok {
				h = isHeld(ctx, holds, a.id, rec.UserID)
				heldUser[rec.UserID] = h
			}
			held = h
		}
		mark := func(r holdfast.ChunkRef) {
			live[r] = true
			if held {
				heldRefs[r] = true
			}
		}
		for _, r := range rec.Manifest {
			mark(r)
		}
		for _, it := range ci.items {
			for _, r := range it.Chunks {
				mark(r)
			}
		}
	}
	return live, heldRefs, nil
}

// pruneWork is what planPrune decided for one account.
type pruneWork struct {
	plan   *prunePlan
	live   map[holdfast.ChunkRef]bool
	drop   []*packInfo // no live chunk: deleted
	repack []*packInfo // sparse or small: live chunks copied, then deleted
	kept   []*packInfo
	files  []string // index files the new index supersedes
	busy   bool     // execute gave way to commits elsewhere
}

// doomed returns the packs the plan deletes.
func (w *pruneWork) doomed() []*packInfo {
	return append(append([]*packInfo{}, w.drop...), w.repack...)
}

// planPrune decides, from live and the pins, which packs are dropped,
// repacked or kept, and publishes the plan (account.prune) so that
// MissingChunks and PutChunk stop counting on doomed chunks. The caller
// clears account.prune when done.
func (s *Store) planPrune(a *account, live map[holdfast.ChunkRef]bool) *pruneWork {
	cutoff := s.now().Add(-s.opts.PruneGrace)
	if s.opts.PruneGrace < 0 {
		cutoff = s.now().Add(time.Hour) // everything is old enough
	}
	w := &pruneWork{live: live}
	var small []*packInfo
	nowSec := uint32(s.now().Unix())
	a.mu.Lock()
	defer a.mu.Unlock()
	// Pinned chunks are live: a backup was told the store has them (or
	// uploaded them) and may commit a snapshot naming them. Reading pins
	// and publishing the plan under one hold of a.mu means every pin is
	// either seen here or taken after the plan, when haveLocked already
	// refuses doomed chunks.
	for ref, l := range a.index {
		if l.pinUntil > nowSec {
			live[ref] = true
		}
	}
	w.files = make([]string, 0, len(a.indexFiles))
	for f := range a.indexFiles {
		w.files = append(w.files, f)
	}
	w.kept = make([]*packInfo, 0, len(a.packs))
	for _, p := range a.packs {
		if !p.created.Before(cutoff) {
			w.kept = append(w.kept, p)
			continue
		}
		total, liveBytes := a.liveBytesLocked(p, live)
		switch {
		case liveBytes == 0:
			w.drop = append(w.drop, p)
		case float64(liveBytes) < s.opts.RepackBelow*float64(total):
			w.repack = append(w.repack, p)
		case p.size < int64(s.opts.PackSize/4):
			small = append(small, p)
		default:
			w.kept = append(w.kept, p)
		}
	}
	// Small packs (one per commit that flushed a few chunks) are merged
	// once there are enough of them to be worth a rewrite.
	if len(small) >= 4 {
		w.repack = append(w.repack, small...)
	} else {
		w.kept = append(w.kept, small...)
	}
	w.plan = &prunePlan{doomed: map[*packInfo]bool{}, live: live}
	for _, p := range w.doomed() {
		w.plan.doomed[p] = true
	}
	a.prune = w.plan
	return w
}

// liveBytesLocked returns the sealed bytes of pack p and of its chunks
// that are live and indexed there. The caller holds a.mu.
func (a *account) liveBytesLocked(p *packInfo, live map[holdfast.ChunkRef]bool) (total, liveBytes int64) {
	for i, e := range p.entries {
		total += int64(e.length)
		if l := a.index[e.ref]; live[e.ref] && l.pack == p && int(l.i) == i {
			liveBytes += int64(e.length)
		}
	}
	return total, liveBytes
}

// executePrune carries out w: it copies the live chunks of repacked packs
// into new packs, writes an index superseding every index file, swaps the
// account's in-memory index, then deletes the old index files and packs,
// in that order (see Store, Write order). When commits elsewhere keep a
// chunk it would drop, it changes nothing and sets w.busy.
func (s *Store) executePrune(ctx context.Context, a *account, recs []snapRecord, w *pruneWork, res *PruneResult) error {
	newPacks, err := s.rewrite(ctx, a, w.repack, w.live)
	if err != nil {
		return err
	}
	if err := s.hook("prune.packs-written"); err != nil {
		return err
	}
	// Other processes' commits: see coord.go.
	planned := make(map[string]bool, len(recs))
	for _, rec := range recs {
		planned[rec.ID] = true
	}
	dropped := func(r holdfast.ChunkRef) bool {
		if w.live[r] {
			return false
		}
		a.mu.Lock()
		l, ok := a.index[r]
		a.mu.Unlock()
		return ok && w.plan.doomed[l.pack]
	}
	marker, conflict, err := s.beginDelete(ctx, a, planned, dropped)
	if errors.Is(err, errLeaseHeld) || (err == nil && conflict) {
		// Commits kept coming, or a snapshot committed elsewhere meanwhile
		// names a chunk this run would drop: leave everything; the new
		// packs are orphans the next run removes.
		res.Busy++
		w.busy = true
		return nil
	}
	if err != nil {
		return err
	}
	defer s.dropMarker(ctx, marker)
	keys := a.getKeys()
	name := indexName(a.id, s.now())
	idx := s.encodeIndex(indexFile{supersedes: w.files, packs: append(append([]*packInfo{}, w.kept...), newPacks...)},
		keys.data[keys.current], keys.current, name)
	if err := s.blobs.Put(ctx, name, bytes.NewReader(idx), int64(len(idx))); err != nil {
		return fmt.Errorf("write index: %w", err)
	}
	if err := s.hook("prune.index-written"); err != nil {
		return err
	}
	a.mu.Lock()
	a.swapIndexLocked(w, newPacks, name, res)
	a.mu.Unlock()
	res.PacksWritten += len(newPacks)
	if err := s.reindexShared(ctx, a, newPacks, w.doomed()); err != nil {
		// The old packs stay until a later run deletes them as orphans,
		// and forgets them first.
		return err
	}
	return s.deleteSuperseded(ctx, a, w, res)
}

// reindexShared makes the shared chunk index follow a Prune's new index:
// the new packs in first, so a live chunk never looks absent, then the
// doomed packs out, before they are deleted.
func (s *Store) reindexShared(ctx context.Context, a *account, newPacks, doomed []*packInfo) error {
	for _, p := range newPacks {
		if err := s.recordPack(ctx, a, p); err != nil {
			return err
		}
	}
	ids := make([]string, len(doomed))
	for i, p := range doomed {
		ids[i] = p.id
	}
	return s.forgetPacks(ctx, a, ids)
}

// swapIndexLocked makes the account's in-memory index what the index file
// name says: the doomed packs out, the new ones in, pins kept. The caller
// holds a.mu.
func (a *account) swapIndexLocked(w *pruneWork, newPacks []*packInfo, name string, res *PruneResult) {
	// Chunks copied to new packs keep their pins.
	pins := map[holdfast.ChunkRef]uint32{}
	for _, p := range w.doomed() {
		delete(a.packs, p.id)
		for i, e := range p.entries {
			if l, ok := a.index[e.ref]; ok && l.pack == p && int(l.i) == i {
				delete(a.index, e.ref)
				if !w.live[e.ref] {
					res.ChunksRemoved++
				} else if l.pinUntil != 0 {
					pins[e.ref] = l.pinUntil
				}
			}
		}
		res.BytesFreed += p.size
	}
	for _, p := range newPacks {
		a.addPackLocked(p, 0)
		res.BytesFreed -= p.size
	}
	for ref, until := range pins {
		if l, ok := a.index[ref]; ok {
			a.pinLocked(ref, l, until)
		}
	}
	for _, f := range w.files {
		delete(a.indexFiles, f)
		a.superseded[f] = true
	}
	a.indexFiles[name] = true
}

// deleteSuperseded deletes the index files and then the packs the new
// index superseded.
func (s *Store) deleteSuperseded(ctx context.Context, a *account, w *pruneWork, res *PruneResult) error {
	for _, f := range w.files {
		if err := s.blobs.Delete(ctx, f); err != nil {
			return fmt.Errorf("delete index %s: %w", f, err)
		}
		a.mu.Lock()
		delete(a.superseded, f)
		a.mu.Unlock()
	}
	if err := s.hook("prune.index-deleted"); err != nil {
		return err
	}
	for _, p := range w.doomed() {
		if err := s.blobs.Delete(ctx, packName(a.id, p.id)); err != nil {
			return fmt.Errorf("delete pack %s: %w", p.id, err)
		}
		res.PacksDeleted++
		if err := s.hook("prune.pack-deleted"); err != nil {
			return err
		}
	}
	return nil
}

// rewrite copies the live chunks of packs, still sealed, into new packs and
// stores them. Each chunk is opened first: Prune must not carry damage
// forward and then delete the only evidence.
func (s *Store) rewrite(ctx context.Context, a *account, packs []*packInfo, live map[holdfast.ChunkRef]bool) ([]*packInfo, error) {
	keys := s.latestKeys(ctx, a)
	var out []*packInfo
	b := &packBuilder{}
	emit := func() error {
		if len(b.entries) == 0 {
			return nil
		}
		data, id := b.finish(keys.data[keys.current], keys.current, a.id)
		if err := s.blobs.Put(ctx, packName(a.id, id), bytes.NewReader(data), int64(len(data))); err != nil {
			return fmt.Errorf("write pack: %w", err)
		}
		out = append(out, &packInfo{id: id, size: int64(len(data)), created: s.now().UTC(), entries: b.entries})
		b = &packBuilder{}
		return nil
	}
	for _, p := range packs {
		data, err := s.readBlob(ctx, packName(a.id, p.id), p.size)
		if err != nil {
			return nil, fmt.Errorf("%w: read pack %s: %v", ErrDamaged, p.id, err)
		}
		for i, e := range p.entries {
			a.mu.Lock()
			l, ok := a.index[e.ref]
			a.mu.Unlock()
			if !live[e.ref] || !ok || l.pack != p || int(l.i) != i {
				continue
			}
			if int64(e.off)+int64(e.length) > int64(len(data)) {
				return nil, fmt.Errorf("%w: pack %s: chunk %s past its end", ErrDamaged, p.id, e.ref)
			}
			sealed := data[e.off : e.off+e.length]
			if _, err := s.openChunk(keys, a.id, e, sealed, false); err != nil {
				return nil, fmt.Errorf("%w: pack %s: chunk %s: %v", ErrDamaged, p.id, e.ref, err)
			}
			b.add(e.ref, e.keyID, e.rawLen, sealed)
			if b.buf.Len() >= s.opts.PackSize {
				if err := emit(); err != nil {
					return nil, err
				}
			}
		}
	}
	if err := emit(); err != nil {
		return nil, err
	}
	return out, nil
}

// deleteOrphans removes packs that no index in force names and that no
// writer is storing: leftovers of a crash between a pack and its index, or
// of a Prune between its index and its deletions.
//
// Another process may have written a pack and not yet its index file, so
// a pack counts as an orphan only when no stored index file in force names
// it either, and it is deleted only once it has been an orphan for
// Options.PruneGrace (at once when the grace is negative).
func (s *Store) deleteOrphans(ctx context.Context, a *account, res *PruneResult) error {
	stored, err := s.loadIndex(ctx, a.id, s.latestKeys(ctx, a).data)
	if err != nil {
		return err
	}
	indexed := make(map[string]bool, len(stored.packs))
	for _, p := range stored.packs {
		indexed[p.id] = true
	}
	var orphans []string
	now := s.now()
	seen := map[string]bool{}
	err = s.blobs.List(ctx, "packs/"+a.id+"/", func(name string, _ int64) error {
		id := name[strings.LastIndexByte(name, '/')+1:]
		a.mu.Lock()
		defer a.mu.Unlock()
		_, known := a.packs[id]
		if known || a.writing[id] || indexed[id] {
			return nil
		}
		seen[name] = true
		since, ok := a.orphanSince[name]
		if !ok {
			since = now
			a.orphanSince[name] = now
		}
		if s.opts.PruneGrace < 0 || now.Sub(since) >= s.opts.PruneGrace {
			orphans = append(orphans, name)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("list packs: %w", err)
	}
	a.mu.Lock()
	for name := range a.orphanSince {
		if !seen[name] {
			delete(a.orphanSince, name) // indexed by now, or gone
		}
	}
	a.mu.Unlock()
	ids := make([]string, len(orphans))
	for i, name := range orphans {
		ids[i] = packID(name)
	}
	if err := s.forgetPacks(ctx, a, ids); err != nil {
		return err
	}
	for _, name := range orphans {
		if err := s.blobs.Delete(ctx, name); err != nil {
			return fmt.Errorf("delete orphan %s: %w", name, err)
		}
		a.mu.Lock()
		delete(a.orphanSince, name)
		a.mu.Unlock()
		res.OrphansDeleted++
	}
	return nil
}

// lockHeld gives every pack holding held data Object Lock retention until
// now + LockFor, when the BlobStore can lock.
func (s *Store) lockHeld(ctx context.Context, a *account, heldRefs map[holdfast.ChunkRef]bool, res *PruneResult) error {
	locker, ok := s.blobs.(holdfast.BlobLocker)
	if !ok || s.opts.LockFor <= 0 || len(heldRefs) == 0 {
		return nil
	}
	packs := map[string]bool{}
	a.mu.Lock()
	for r := range heldRefs {
		if l, ok := a.index[r]; ok {
			packs[l.pack.id] = true
		}
	}
	a.mu.Unlock()
	until := s.now().Add(s.opts.LockFor)
	for id := range packs {
		err := locker.Lock(ctx, packName(a.id, id), until)
		if errors.Is(err, errors.ErrUnsupported) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("lock pack %s: %w", id, err)
		}
		res.PacksLocked++
	}
	return nil
}
