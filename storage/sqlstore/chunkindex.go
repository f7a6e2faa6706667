package sqlstore

import (
	"context"
	"slices"
	"strings"

	"github.com/holdfast/holdfast"
)

var _ holdfast.ChunkIndex = (*Store)(nil)

// maxChunkRows bounds the rows of one INSERT into chunk_index (three
// parameters each), and maxChunkIn the refs of one HaveChunks query: a
// backup asks about thousands at once, and both stay far below SQLite's
// (32766) and PostgreSQL's (65535) parameter limits.
const (
	maxChunkRows = 256
	maxChunkIn   = 4096
)

// AddChunks records that the account's pack holds refs, in one
// transaction. Pairs already recorded are left as they are. It does not
// change the account's revision.
func (s *Store) AddChunks(ctx context.Context, accountID, packID string, refs []holdfast.ChunkRef) error {
	if len(refs) == 0 {
		return nil
	}
	return s.write(ctx, func(s *Store) error {
		for batch := range slices.Chunk(refs, maxChunkRows) {
			// Padded to a power of two with the last row (ignored as a
			// conflict), so a few statement texts stay prepared.
			n := 8
			for n < len(batch) {
				n *= 2
			}
			args := make([]any, 0, 3*n)
			for i := range n {
				r := batch[min(i, len(batch)-1)]
				args = append(args, accountID, r[:], packID)
			}
			q := `INSERT INTO chunk_index (account_id, ref, pack_id) VALUES ` +
				strings.TrimSuffix(strings.Repeat("(?, ?, ?), ", n), ", ") + ` ON CONFLICT DO NOTHING`
			if _, err := s.exec(ctx, q, args...); err != nil {
				return s.fail("chunks of pack "+packID, err)
			}
		}
		return nil
	})
}

// HaveChunks returns, in the order of refs and once each, the refs that a
// recorded pack of the account holds.
func (s *Store) HaveChunks(ctx context.Context, accountID string, refs []holdfast.ChunkRef) ([]holdfast.ChunkRef, error) {
	keys := make([][]byte, 0, len(refs))
	for _, r := range refs {
		keys = append(keys, r[:])
	}
	have := make(map[holdfast.ChunkRef]bool, len(refs))
	for batch := range slices.Chunk(keys, maxChunkIn) {
		ph, args := inList(batch)
		found, err := list(ctx, s, "chunk index", scanRef,
			`SELECT DISTINCT ref FROM chunk_index WHERE account_id = ? AND ref IN (`+ph+`)`, append([]any{accountID}, args...)...)
		if err != nil {
			return nil, err
		}
		for _, r := range found {
			have[r] = true
		}
	}
	out := make([]holdfast.ChunkRef, 0, len(have))
	for _, r := range refs {
		if have[r] {
			out = append(out, r)
			delete(have, r)
		}
	}
	return out, nil
}

func scanRef(r scanner) (holdfast.ChunkRef, error) {
	var b []byte
	var ref holdfast.ChunkRef
	if err := r.Scan(&b); err != nil {
		return ref, err
	}
	copy(ref[:], b)
	return ref, nil
}

// DropPacks forgets every chunk the account's packs held, in one
// transaction.
func (s *Store) DropPacks(ctx context.Context, accountID string, packIDs []string) error {
	ids := distinct(packIDs)
	if len(ids) == 0 {
		return nil
	}
	return s.write(ctx, func(s *Store) error {
		for batch := range slices.Chunk(ids, maxInList) {
			ph, args := inList(batch)
			if _, err := s.exec(ctx, `DELETE FROM chunk_index WHERE account_id = ? AND pack_id IN (`+ph+`)`,
				append([]any{accountID}, args...)...); err != nil {
				return s.fail("chunk index", err)
			}
		}
		return nil
	})
}
