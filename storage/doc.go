// Package storage is Holdfast's deduplicating, encrypted, immutable store of
// custodian data: files, mail, calendars and contacts, as snapshots of
// chunks, over any holdfast.BlobStore (storage/fs, storage/s3).
//
// # Data flow
//
// A backup client gets its account's ChunkerKey, cuts each item into
// content-defined chunks and names each by its keyed BLAKE3 hash
// (NewChunker, Chunker.Split); asks MissingChunks which refs the store
// lacks; uploads only those (PutChunk, which re-hashes and refuses a wrong
// ref, and answers only once the pack holding the chunk is written: the
// uploads in flight together share one pack write); and commits a Snapshot naming every item's chunks (CommitSnapshot,
// which refuses a snapshot naming a chunk it does not have). Readers list
// snapshots (Snapshots, Snapshot) and stream items with Seek (OpenItem).
//
// # Replicas
//
// Processes serving one BlobStore share a holdfast.ChunkIndex
// (Options.Index; serve uses its metadata store): a pack's chunks enter
// it once the pack and its index file are stored, so a chunk one process
// stored is present for all at once. Each process's in-memory index is a
// cache of the index files; a chunk the shared index names and the cache
// lacks is learned from the new index files. A commit with a Time set is
// idempotent, so a client may send it again.
//
// # Read API (stable)
//
// Readers such as the legal-hold export use only these, which keep their
// signatures:
//
//   - [Store.Snapshots] lists a user's snapshots, oldest first, narrowed by
//     [SnapshotFilter] (UserID, Source, Device, Since, Until); items are
//     not loaded.
//   - [Store.Snapshot] returns one snapshot with its [Item] list: path,
//     folder, content type, size, created/modified/deleted times.
//   - [Store.Item] returns one item's metadata.
//   - [Store.OpenItem] opens an item as an [ItemReader]: io.ReadSeekCloser
//     (for http.ServeContent and Range) and io.ReaderAt (safe for parallel
//     calls), with Size, ModTime and ContentType.
//
// Mail items hold the original RFC 5322 bytes ([ContentTypeMail]);
// calendar and contacts items hold one [Event] or [Contact] as JSON
// ([ContentTypeEvent], [ContentTypeContact]), structured for rendering as
// .ics or .vcf, with the form they came in kept in Original. Errors:
// holdfast.ErrNotFound for a missing account, snapshot or path;
// [ErrDamaged] when stored data cannot be read.
//
// # Encryption
//
// Each account has a chunker secret and numbered AES-256-GCM data keys,
// stored under keys/ sealed by the MasterKey from Options. RotateKey starts
// a new data key; old data keeps the key id it was sealed with. Chunks are
// zstd-compressed when that helps, then sealed with the chunk's ref and
// account as associated data; pack headers, index files and snapshots are
// sealed too. The blob store sees only sizes and pack hashes.
//
// # Layout in the BlobStore
//
//	keys/{account}/chunker, keys/{account}/data-{id}   wrapped keys (JSON)
//	packs/{account}/{hh}/{blake3 of the pack}          sealed chunks + sealed header
//	index/{account}/{time}-{rand}                      which chunk is where
//	snapshots/{account}/{time}-{rand}                  sealed manifest header
//
// # Retention
//
// Forget removes snapshots a holdfast.Retention no longer keeps, never one
// of a user the holdfast.HoldChecker says is held (an error counts as
// held). Prune then removes chunks no snapshot names and rewrites sparse
// packs. [Store.Compact] is the job that does both for every user with the
// retention of the user's profile; [MetaHolds] is the hold checker over
// the metadata store's custodians until the legal-hold service provides
// one. With Options.LockFor on an S3 bucket with Object Lock, Prune gives
// the packs of held users' data retention. The write order (see Store) keeps every committed snapshot intact
// through a crash at any point; Check verifies it and names the snapshots
// any damage affects.
package storage
