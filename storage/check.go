package storage

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/holdfast/holdfast"
)

// Problem is one damaged thing Check found.
type Problem struct {
	// Kind is "keys", "index", "pack", "chunk" or "snapshot".
	Kind string `json:"kind"`
	// Name is the blob (or, for a chunk, the ref) that is damaged.
	Name   string `json:"name"`
	Detail string `json:"detail"`
	// Snapshots are the snapshots ("account/id") that lose data because of
	// it.
	Snapshots []string `json:"snapshots,omitempty"`
}

func (p Problem) String() string {
	s := p.Kind + " " + p.Name + ": " + p.Detail
	if len(p.Snapshots) > 0 {
		s += " (affects snapshots " + strings.Join(p.Snapshots, ", ") + ")"
	}
	return s
}

// Report is what Check found.
type Report struct {
	ReadData  bool `json:"read_data"`
	Accounts  int  `json:"accounts"`
	Packs     int  `json:"packs"`
	Chunks    int  `json:"chunks"`
	Snapshots int  `json:"snapshots"`
	// Problems lists damage; empty means every snapshot is intact.
	Problems []Problem `json:"problems,omitempty"`
	// Damaged lists, sorted, every snapshot ("account/id") that a problem
	// affects.
	Damaged []string `json:"damaged,omitempty"`
	// Orphans are packs no index names: harmless leftovers of a crash that
	// the next Prune deletes.
	Orphans []string `json:"orphans,omitempty"`
}

// OK reports whether Check found no damage.
func (r Report) OK() bool { return len(r.Problems) == 0 }

// Check verifies the store as it is stored, not as this process caches it:
// every account's keys and index files, that every indexed pack exists with
// its size, and that every snapshot and its manifest can be read and names
// only indexed chunks. With readData it also reads every pack, checks its
// hash and header against the index and decrypts, decompresses and
// re-hashes every chunk. Damage goes into the Report, with the snapshots it
// affects; the error is for a check that could not run (the BlobStore is
// unreachable, ctx ended).
func (s *Store) Check(ctx context.Context, readData bool) (Report, error) {
	rep := Report{ReadData: readData}
	ids, err := s.accountIDs(ctx)
	if err != nil {
		return rep, fmt.Errorf("storage: check: %w", err)
	}
	damaged := map[string]bool{}
	for _, id := range ids {
		rep.Accounts++
		if err := s.checkAccount(ctx, id, readData, &rep, damaged); err != nil {
			return rep, err
		}
	}
	for d := range damaged {
		rep.Damaged = append(rep.Damaged, d)
	}
	slices.Sort(rep.Damaged)
	return rep, nil
}

// transient reports whether err means the check itself cannot go on.
func transient(ctx context.Context, err error) bool {
	return ctx.Err() != nil || (err != nil && !errors.Is(err, holdfast.ErrNotFound) && !errors.Is(err, ErrDamaged) &&
		!errors.Is(err, ErrWrongMasterKey) && !errors.Is(err, errDecrypt))
}

func (s *Store) checkAccount(ctx context.Context, id string, readData bool, rep *Report, damaged map[string]bool) error {
	// A private account value: Check reads what is stored, and must not
	// disturb the caches of the serving store.
	a := newAccount(id)
	keys, ok, err := s.loadKeys(ctx, id)
	if err != nil || !ok {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		rep.Problems = append(rep.Problems, Problem{Kind: "keys", Name: "keys/" + id + "/", Detail: fmt.Sprint(err)})
		return nil
	}
	a.keys.Store(keys)
	v, err := s.loadIndex(ctx, id, keys.data)
	if err != nil {
		if transient(ctx, err) {
			return err
		}
		rep.Problems = append(rep.Problems, Problem{Kind: "index", Name: "index/" + id + "/", Detail: err.Error()})
		// Go on with the files that do load, to name affected snapshots.
		v = s.loadIndexLenient(ctx, id, keys)
	}
	for _, p := range v.packs {
		a.addPackLocked(p, 0)
	}

	stored := map[string]int64{}
	if err := s.blobs.List(ctx, "packs/"+id+"/", func(name string, size int64) error {
		stored[packID(name)] = size
		return nil
	}); err != nil {
		return fmt.Errorf("storage: check: %w", err)
	}
	// Chunks that cannot be read, and which pack problem explains each.
	bad := map[holdfast.ChunkRef]int{}
	addProblem := func(p Problem, refs []holdfast.ChunkRef) {
		rep.Problems = append(rep.Problems, p)
		for _, r := range refs {
			bad[r] = len(rep.Problems) - 1
		}
	}
	packIDs := make([]string, 0, len(a.packs))
	for pid := range a.packs {
		packIDs = append(packIDs, pid)
	}
	slices.Sort(packIDs)
	for _, pid := range packIDs {
		if err := ctx.Err(); err != nil {
			return err
		}
		p := a.packs[pid]
		rep.Packs++
		rep.Chunks += len(p.entries)
		name := packName(id, pid)
		refs := make([]holdfast.ChunkRef, len(p.entries))
		for i, e := range p.entries {
			refs[i] = e.ref
		}
		size, ok := stored[pid]
		switch {
		case !ok:
			addProblem(Problem{Kind: "pack", Name: name, Detail: "missing"}, refs)
			continue
		case size != p.size:
			addProblem(Problem{Kind: "pack", Name: name, Detail: fmt.Sprintf("size %d, index says %d", size, p.size)}, refs)
			continue
		}
		if !readData {
			continue
		}
		data, err := s.readBlob(ctx, name, p.size)
		if transient(ctx, err) {
			return err
		}
		if err != nil {
			addProblem(Problem{Kind: "pack", Name: name, Detail: err.Error()}, refs)
			continue
		}
		hdr, err := parsePack(data, pid, id, keys.data)
		if err != nil {
			// The hash covers the whole pack, so a flipped bit lands
			// here; the chunks may still open. Name those that do not.
			rep.Problems = append(rep.Problems, Problem{Kind: "pack", Name: name, Detail: err.Error()})
		} else if !slices.Equal(hdr, p.entries) {
			rep.Problems = append(rep.Problems, Problem{Kind: "pack", Name: name, Detail: "header differs from the index"})
		}
		for _, e := range p.entries {
			var plain []byte
			err := errors.New("past the end of the pack")
			if int64(e.off)+int64(e.length) <= int64(len(data)) {
				plain, err = s.openChunk(keys, id, e, data[e.off:e.off+e.length], false)
			}
			if err == nil && keys.chunker.Ref(plain) != e.ref {
				err = errors.New("plaintext does not hash to its ref")
			}
			if err != nil {
				addProblem(Problem{Kind: "chunk", Name: e.ref.String(), Detail: "in pack " + pid + ": " + err.Error()}, []holdfast.ChunkRef{e.ref})
			}
		}
	}
	for pid := range stored {
		if _, ok := a.packs[pid]; !ok {
			rep.Orphans = append(rep.Orphans, packName(id, pid))
		}
	}
	slices.Sort(rep.Orphans)

	var names []string
	if err := s.blobs.List(ctx, "snapshots/"+id+"/", func(name string, _ int64) error {
		names = append(names, name)
		return nil
	}); err != nil {
		return fmt.Errorf("storage: check: %w", err)
	}
	for _, name := range names {
		if err := ctx.Err(); err != nil {
			return err
		}
		rep.Snapshots++
		sid := id + "/" + strings.TrimPrefix(name, "snapshots/"+id+"/")
		rec, err := s.readRecord(ctx, a, name)
		if transient(ctx, err) {
			return err
		}
		if err != nil {
			rep.Problems = append(rep.Problems, Problem{Kind: "snapshot", Name: name, Detail: err.Error(), Snapshots: []string{sid}})
			damaged[sid] = true
			continue
		}
		affected := func(refs []holdfast.ChunkRef) bool {
			hit := false
			for _, r := range refs {
				if i, ok := bad[r]; ok {
					if !slices.Contains(rep.Problems[i].Snapshots, sid) {
						rep.Problems[i].Snapshots = append(rep.Problems[i].Snapshots, sid)
					}
					hit = true
				} else if _, ok := a.index[r]; !ok {
					rep.Problems = append(rep.Problems, Problem{Kind: "chunk", Name: r.String(), Detail: "named by a snapshot but in no index", Snapshots: []string{sid}})
					bad[r] = len(rep.Problems) - 1
					hit = true
				}
			}
			return hit
		}
		if affected(rec.Manifest) {
			damaged[sid] = true
			continue // the item list itself is lost
		}
		ci, err := s.items(ctx, a, rec)
		if transient(ctx, err) {
			return err
		}
		if err != nil {
			rep.Problems = append(rep.Problems, Problem{Kind: "snapshot", Name: name, Detail: "manifest: " + err.Error(), Snapshots: []string{sid}})
			damaged[sid] = true
			continue
		}
		for _, it := range ci.items {
			if affected(it.Chunks) {
				damaged[sid] = true
			}
		}
	}
	return nil
}

// loadIndexLenient loads the index files that can be read, for Check to
// name what survives when some cannot.
func (s *Store) loadIndexLenient(ctx context.Context, account string, keys *accountKeys) indexView {
	v := indexView{files: map[string]bool{}}
	var names []string
	_ = s.blobs.List(ctx, "index/"+account+"/", func(name string, _ int64) error {
		names = append(names, name)
		return nil
	})
	files := map[string]indexFile{}
	superseded := map[string]bool{}
	for _, name := range names {
		b, err := s.readBlob(ctx, name, maxIndexBody)
		if err != nil {
			continue
		}
		f, err := s.decodeIndex(b, keys.data, name)
		if err != nil {
			continue
		}
		files[name] = f
		for _, n := range f.supersedes {
			superseded[n] = true
		}
	}
	for _, name := range names {
		if f, ok := files[name]; ok && !superseded[name] {
			v.files[name] = true
			v.packs = append(v.packs, f.packs...)
		}
	}
	return v
}
