package storage

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/holdfast/holdfast"
)

// The shared chunk index (Options.Index) makes dedup across processes
// immediate. Its rows follow the index files: writePack records a pack's
// chunks once the pack and its index file are stored, before it answers
// the uploads; Prune records its new packs and then forgets the packs it
// deletes, after its index is stored and before the packs go; deleting
// an orphan forgets it first. A row therefore never names a chunk before
// it is durable. A row may outlive its chunk only after a crash between a
// Prune's index and its deletions, until the next Prune deletes the
// orphans; that is why a hit in the shared index is confirmed against the
// index files (learnIndex) before MissingChunks or a commit counts on it.
// A process loading an account records the packs the shared index lacks
// (recordUnindexed): those of a store that had none, or of a process that
// died between a pack's index file and its record.

// missingShared returns the refs of refs (distinct) that are not present:
// not in the shared index, or named there but in no index file this
// process can read (a row a crashed Prune left). A ref the shared index
// names and this process's index lacks makes it read the new index files
// first. Present refs are pinned.
func (s *Store) missingShared(ctx context.Context, a *account, refs []holdfast.ChunkRef) ([]holdfast.ChunkRef, error) {
	have, err := s.opts.Index.HaveChunks(ctx, a.id, refs)
	if err != nil {
		return nil, fmt.Errorf("storage: chunk index: %w", err)
	}
	if len(have) == 0 {
		return refs, nil
	}
	unknown := s.missingLocal(a, have)
	if len(unknown) > 0 {
		if err := s.learnIndex(ctx, a); err != nil {
			return nil, err
		}
		unknown = s.missingLocal(a, unknown)
	}
	present := make(map[holdfast.ChunkRef]bool, len(have))
	for _, r := range have {
		present[r] = true
	}
	for _, r := range unknown {
		present[r] = false
	}
	missing := make([]holdfast.ChunkRef, 0, len(refs)-len(have)+len(unknown))
	for _, r := range refs {
		if !present[r] {
			missing = append(missing, r)
		}
	}
	return missing, nil
}

// recordKnown handles the upload of a chunk this process's index has: if
// the shared index lacks it (stored before the shared index was, or by a
// process that died between its index file and the shared index), the
// chunk is recorded where the index files, read afresh, say it is; if
// they no longer have it (another process's Prune dropped it), it is
// stored again. It returns the pack to wait on, nil when done.
func (s *Store) recordKnown(ctx context.Context, a *account, ref holdfast.ChunkRef, plaintext []byte) (*packBuilder, error) {
	have, err := s.opts.Index.HaveChunks(ctx, a.id, []holdfast.ChunkRef{ref})
	if err != nil {
		return nil, fmt.Errorf("storage: chunk index: %w", err)
	}
	if len(have) > 0 {
		return nil, nil
	}
	if err := s.learnIndex(ctx, a); err != nil {
		return nil, err
	}
	a.mu.Lock()
	l, ok := a.haveLocked(ref)
	a.mu.Unlock()
	if !ok {
		return s.acceptChunk(ctx, a, ref, plaintext)
	}
	if err := s.opts.Index.AddChunks(ctx, a.id, l.pack.id, []holdfast.ChunkRef{ref}); err != nil {
		return nil, fmt.Errorf("storage: chunk index: %w", err)
	}
	return nil, nil
}

// recordPack adds a stored pack's chunks to the shared index.
func (s *Store) recordPack(ctx context.Context, a *account, p *packInfo) error {
	if s.opts.Index == nil {
		return nil
	}
	refs := make([]holdfast.ChunkRef, len(p.entries))
	for i, e := range p.entries {
		refs[i] = e.ref
	}
	if err := s.opts.Index.AddChunks(ctx, a.id, p.id, refs); err != nil {
		return fmt.Errorf("storage: chunk index: %w", err)
	}
	return nil
}

// recordUnindexed adds to the shared index the packs of the account's
// index files that it lacks: packs stored before the store had a shared
// index, or by a process that died between a pack's index file and its
// record. A pack counts as recorded when the shared index holds its first
// chunk; the rest of a pack that escapes this is recorded when a client
// uploads it (recordKnown).
func (s *Store) recordUnindexed(ctx context.Context, a *account, packs []*packInfo) error {
	if s.opts.Index == nil || len(packs) == 0 {
		return nil
	}
	first := make([]holdfast.ChunkRef, 0, len(packs))
	for _, p := range packs {
		if len(p.entries) > 0 {
			first = append(first, p.entries[0].ref)
		}
	}
	have, err := s.opts.Index.HaveChunks(ctx, a.id, first)
	if err != nil {
		return fmt.Errorf("storage: chunk index: %w", err)
	}
	recorded := make(map[holdfast.ChunkRef]bool, len(have))
	for _, r := range have {
		recorded[r] = true
	}
	for _, p := range packs {
		if len(p.entries) > 0 && !recorded[p.entries[0].ref] {
			if err := s.recordPack(ctx, a, p); err != nil {
				return err
			}
		}
	}
	return nil
}

// forgetPacks removes packs about to be deleted from the shared index.
func (s *Store) forgetPacks(ctx context.Context, a *account, ids []string) error {
	if s.opts.Index == nil || len(ids) == 0 {
		return nil
	}
	if err := s.opts.Index.DropPacks(ctx, a.id, ids); err != nil {
		return fmt.Errorf("storage: chunk index: %w", err)
	}
	return nil
}

// learnIndex reads the index files of the account that this process has
// not read yet, the packs other processes stored since, and adds them. An
// index file that supersedes others (another process's Prune) makes it
// reload the whole index instead (refreshIndex).
func (s *Store) learnIndex(ctx context.Context, a *account) error {
	a.learnMu.Lock()
	defer a.learnMu.Unlock()
	var unknown []string
	err := s.blobs.List(ctx, "index/"+a.id+"/", func(name string, _ int64) error {
		a.mu.Lock()
		known := a.indexFiles[name] || a.writingIndex[name] || a.superseded[name]
		a.mu.Unlock()
		if !known {
			unknown = append(unknown, name)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("storage: index of %s: %w", a.id, err)
	}
	files := make(map[string]indexFile, len(unknown))
	for _, name := range unknown {
		b, err := s.readBlob(ctx, name, maxIndexBody)
		if errors.Is(err, holdfast.ErrNotFound) {
			continue // superseded and deleted since the listing
		}
		if err != nil {
			return err
		}
		keys := a.getKeys()
		if len(b) >= len(indexMagic)+4 {
			keys = s.keysFor(ctx, a, binary.LittleEndian.Uint32(b[len(indexMagic):]))
		}
		f, err := s.decodeIndex(b, keys.data, name)
		if err != nil {
			return fmt.Errorf("%w: index file %s: %v", ErrDamaged, name, err)
		}
		if len(f.supersedes) > 0 {
			return s.refreshIndex(ctx, a)
		}
		files[name] = f
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for name, f := range files {
		for _, p := range f.packs {
			a.addPackLocked(p, 0)
		}
		a.indexFiles[name] = true
	}
	return nil
}
