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
	c := &checker{s: s, a: newAccount(id), rep: rep, damaged: damaged, bad: map[holdfast.ChunkRef]int{}}
	keys, ok, err := s.loadKeys(ctx, id)
	if err != nil || !ok {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		rep.Problems = append(rep.Problems, Problem{Kind: "keys", Name: "keys/" + id + "/", Detail: fmt.Sprint(err)})
		return nil
	}
	c.a.keys.Store(keys)
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
		c.a.addPackLocked(p, 0)
	}
	if err := c.packs(ctx, readData); err != nil {
		return err
	}
	return c.snapshots(ctx)
}

// checker is the state of checking one account: its private index, the
// report, and which chunks cannot be read (by the index of the problem
// that explains each).
type checker struct {
	s       *Store
	a       *account
	rep     *Report
	damaged map[string]bool
	bad     map[holdfast.ChunkRef]int
}

// addProblem reports p, explaining why refs cannot be read.
func (c *checker) addProblem(p Problem, refs []holdfast.ChunkRef) {
	c.rep.Problems = append(c.rep.Problems, p)
	for _, r := range refs {
		c.bad[r] = len(c.rep.Problems) - 1
	}
}

// packs checks that every indexed pack is stored with its size (and with
// readData, that every chunk opens and hashes to its ref), and lists the
// stored packs no index names.
func (c *checker) packs(ctx context.Context, readData bool) error {
	id := c.a.id
	stored := map[string]int64{}
	if err := c.s.blobs.List(ctx, "packs/"+id+"/", func(name string, size int64) error {
		stored[packID(name)] = size
		return nil
	}); err != nil {
		return fmt.Errorf("storage: check: %w", err)
	}
	packIDs := make([]string, 0, len(c.a.packs))
	for pid := range c.a.packs {
		packIDs = append(packIDs, pid)
	}
	slices.Sort(packIDs)
	for _, pid := range packIDs {
		if err := ctx.Err(); err != nil {
			return err
		}
		p := c.a.packs[pid]
		c.rep.Packs++
		c.rep.Chunks += len(p.entries)
		name := packName(id, pid)
		refs := make([]holdfast.ChunkRef, len(p.entries))
		for i, e := range p.entries {
			refs[i] = e.ref
		}
		size, ok := stored[pid]
		switch {
		case !ok:
			c.addProblem(Problem{Kind: "pack", Name: name, Detail: "missing"}, refs)
		case size != p.size:
			c.addProblem(Problem{Kind: "pack", Name: name, Detail: fmt.Sprintf("size %d, index says %d", size, p.size)}, refs)
		case readData:
			if err := c.packData(ctx, p, refs); err != nil {
				return err
			}
		}
	}
	for pid := range stored {
		if _, ok := c.a.packs[pid]; !ok {
			c.rep.Orphans = append(c.rep.Orphans, packName(id, pid))
		}
	}
	slices.Sort(c.rep.Orphans)
	return nil
}

// packData reads pack p and checks its header and every chunk. It returns
// only transient errors; damage is reported.
func (c *checker) packData(ctx context.Context, p *packInfo, refs []holdfast.ChunkRef) error {
	id, keys := c.a.id, c.a.getKeys()
	name := packName(id, p.id)
	data, err := c.s.readBlob(ctx, name, p.size)
	if transient(ctx, err) {
		return err
	}
	if err != nil {
		c.addProblem(Problem{Kind: "pack", Name: name, Detail: err.Error()}, refs)
		return nil
	}
	hdr, err := parsePack(data, p.id, id, keys.data)
	if err != nil {
		// The hash covers the whole pack, so a flipped bit lands here;
		// the chunks may still open. Name those that do not.
		c.rep.Problems = append(c.rep.Problems, Problem{Kind: "pack", Name: name, Detail: err.Error()})
	} else if !slices.Equal(hdr, p.entries) {
		c.rep.Problems = append(c.rep.Problems, Problem{Kind: "pack", Name: name, Detail: "header differs from the index"})
	}
	for _, e := range p.entries {
		var plain []byte
		err := errors.New("past the end of the pack")
		if int64(e.off)+int64(e.length) <= int64(len(data)) {
			plain, err = c.s.openChunk(keys, id, e, data[e.off:e.off+e.length], false)
		}
		if err == nil && keys.chunker.Ref(plain) != e.ref {
			err = errors.New("plaintext does not hash to its ref")
		}
		if err != nil {
			c.addProblem(Problem{Kind: "chunk", Name: e.ref.String(), Detail: "in pack " + p.id + ": " + err.Error()}, []holdfast.ChunkRef{e.ref})
		}
	}
	return nil
}

// snapshots reads every snapshot and its manifest, and names it in the
// problem of each chunk it needs that cannot be read.
func (c *checker) snapshots(ctx context.Context) error {
	id := c.a.id
	var names []string
	if err := c.s.blobs.List(ctx, "snapshots/"+id+"/", func(name string, _ int64) error {
		names = append(names, name)
		return nil
	}); err != nil {
		return fmt.Errorf("storage: check: %w", err)
	}
	for _, name := range names {
		if err := ctx.Err(); err != nil {
			return err
		}
		c.rep.Snapshots++
		sid := id + "/" + strings.TrimPrefix(name, "snapshots/"+id+"/")
		rec, err := c.s.readRecord(ctx, c.a, name)
		if transient(ctx, err) {
			return err
		}
		if err != nil {
			c.rep.Problems = append(c.rep.Problems, Problem{Kind: "snapshot", Name: name, Detail: err.Error(), Snapshots: []string{sid}})
			c.damaged[sid] = true
			continue
		}
		if c.affected(sid, rec.Manifest) {
			c.damaged[sid] = true
			continue // the item list itself is lost
		}
		ci, err := c.s.items(ctx, c.a, rec)
		if transient(ctx, err) {
			return err
		}
		if err != nil {
			c.rep.Problems = append(c.rep.Problems, Problem{Kind: "snapshot", Name: name, Detail: "manifest: " + err.Error(), Snapshots: []string{sid}})
			c.damaged[sid] = true
			continue
		}
		for _, it := range ci.items {
			if c.affected(sid, it.Chunks) {
				c.damaged[sid] = true
			}
		}
	}
	return nil
}

// affected reports whether snapshot sid needs a chunk of refs that cannot
// be read, naming sid in each such chunk's problem (and reporting chunks
// no index names).
func (c *checker) affected(sid string, refs []holdfast.ChunkRef) bool {
	hit := false
	for _, r := range refs {
		if i, ok := c.bad[r]; ok {
			if !slices.Contains(c.rep.Problems[i].Snapshots, sid) {
				c.rep.Problems[i].Snapshots = append(c.rep.Problems[i].Snapshots, sid)
			}
			hit = true
		} else if _, ok := c.a.index[r]; !ok {
			c.rep.Problems = append(c.rep.Problems, Problem{Kind: "chunk", Name: r.String(), Detail: "named by a snapshot but in no index", Snapshots: []string{sid}})
			c.bad[r] = len(c.rep.Problems) - 1
			hit = true
		}
	}
	return hit
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
