package holdfast

import "context"

// ChunkIndex is the dedup store's shared index of durable chunks: which
// pack of an account holds which chunk. Every process serving one chunk
// store (replicas of serve on one bucket) uses the same index, kept in the
// metadata store (PostgreSQL for replicas, SQLite on one machine), so a
// chunk one replica accepted is present for every replica at once.
//
// Contract (enforced by storage/storagetest.TestChunkIndex):
//   - AddChunks records that pack holds refs. Recording a pair again
//     changes nothing and is no error. A ref may be held by several packs.
//   - HaveChunks returns, in the order of refs and once each, the refs
//     that at least one recorded pack of the account holds.
//   - DropPacks forgets every ref the packs held; a ref that another pack
//     still holds stays present. Unknown packs are no error.
//   - Accounts never see each other's rows; none of these writes changes
//     an account's Revision (chunks are not decision data).
//   - Implementations are safe for concurrent use.
type ChunkIndex interface {
	AddChunks(ctx context.Context, accountID, packID string, refs []ChunkRef) error
	HaveChunks(ctx context.Context, accountID string, refs []ChunkRef) ([]ChunkRef, error)
	DropPacks(ctx context.Context, accountID string, packIDs []string) error
}
