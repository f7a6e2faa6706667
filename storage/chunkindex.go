package storage

import (
	"context"
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

// missingShared returns the refs of missing (which this process's index
// lacks) that no process has stored: those the shared index names are
// learned from the index files, pinned and left out.
func (s *Store) missingShared(ctx context.Context, a *account, missing []holdfast.ChunkRef) ([]holdfast.ChunkRef, error) {
	have, err := s.opts.Index.HaveChunks(ctx, a.id, missing)
	if err != nil {
		return nil, fmt.Errorf("storage: chunk index: %w", err)
	}
	if len(have) == 0 {
		return missing, nil
	}
	if err := s.learnIndex(ctx, a); err != nil {
		return nil, err
	}
	return s.missingLocal(a, missing), nil
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
	keys := a.getKeys().data
	files := make(map[string]indexFile, len(unknown))
	for _, name := range unknown {
		b, err := s.readBlob(ctx, name, maxIndexBody)
		if errors.Is(err, holdfast.ErrNotFound) {
			continue // superseded and deleted since the listing
		}
		if err != nil {
			return err
		}
		f, err := s.decodeIndex(b, keys, name)
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
