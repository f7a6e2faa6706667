-- The dedup store's shared chunk index (holdfast.ChunkIndex): which pack of
-- an account holds which chunk, so every replica sees every chunk another
-- one accepted. A chunk may sit in several packs until a compaction.
CREATE TABLE chunk_index (
    account_id TEXT NOT NULL,
    ref BLOB NOT NULL,
    pack_id TEXT NOT NULL,
    PRIMARY KEY (account_id, ref, pack_id)
) WITHOUT ROWID;
CREATE INDEX chunk_index_pack_idx ON chunk_index (account_id, pack_id);
