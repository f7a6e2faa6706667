package storage

import (
	"bytes"
	"context"
	"crypto/cipher"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/holdfast/holdfast"
)

// Defaults for Options.
const (
	DefaultPackSize    = 16 << 20
	DefaultPruneGrace  = 24 * time.Hour
	DefaultPinFor      = 24 * time.Hour
	DefaultRepackBelow = 0.5
)

// ErrDamaged means stored data is missing or corrupt: a pack, index or
// snapshot that should be there cannot be read. Check says what and which
// snapshots it affects. It is a server-side fault, never a client's.
var ErrDamaged = errors.New("storage: damaged data")

// Options configures a Store. Packages take options, not the environment:
// cmd/holdfast reads the master key file or variable.
type Options struct {
	// MasterKey wraps the accounts' keys. Required.
	MasterKey MasterKey
	// PackSize is the size at which a pack is written (default 16 MiB).
	PackSize int

	// PruneGrace keeps Prune away from packs younger than this (default
	// 24h): their chunks may belong to a backup still uploading. Negative
	// means no grace (tests).
	PruneGrace time.Duration
	// PinFor is how long a chunk stays safe from Prune after MissingChunks
	// told a client the store has it or PutChunk accepted it, even when no
	// snapshot names it (default 24h): the longest a backup may take from
	// asking to committing. A commit later than that may get a
	// *MissingChunksError, and the client uploads those chunks again.
	// Negative means no pins (tests).
	PinFor time.Duration
	// RepackBelow is the fraction of live bytes under which Prune rewrites
	// a pack (default 0.5).
	RepackBelow float64
	// LockFor, when positive and the BlobStore is a holdfast.BlobLocker,
	// makes Prune lock every pack holding a held user's data for this long
	// (S3 Object Lock), renewing each run.
	LockFor time.Duration
	// Clock decides every expiry and schedule of the store: pins, prune
	// grace, leases, retention and the compaction schedule (default the
	// wall clock).
	Clock holdfast.Clock
	// Index is the shared chunk index. Every process serving one
	// BlobStore (replicas of serve) must be given the same one (the
	// metadata store): then a chunk one process stored is present for
	// every other at once. Nil: a process learns of other processes'
	// chunks only when it commits or reads (one process, and tests).
	Index holdfast.ChunkIndex
}

// Store is the deduplicating, encrypted, immutable chunk and snapshot
// store over a holdfast.BlobStore. It is safe for concurrent use.
//
// Several processes (replicas of serve on one bucket) may share a store.
// Given one shared Options.Index, a chunk any of them stored is present
// for all at once (chunkindex.go); each process's in-memory index is only
// a cache of the index files, whose misses go to the shared index. Prune
// takes a per-account lease blob so only one prunes an account at a
// time, deletes a pack no index names only after it has been unindexed
// for Options.PruneGrace, and a reader whose pack another process rewrote
// reloads the index. Commits and Prunes in different processes order
// themselves through marker blobs (coord.go), so a commit never stores a
// snapshot naming a chunk another process's Prune removed: it reports the
// chunk missing instead, and the client uploads it again.
//
// # Write order
//
// Every write creates a new blob; none is changed in place. A chunk is
// durable once its pack and then an index file naming the pack are stored;
// a snapshot is written only after every chunk it names is durable; Prune
// writes new packs and an index superseding the old ones before it deletes
// old index files and then old packs. A crash at any point therefore leaves
// every committed snapshot readable, at worst with unreferenced blobs that
// the next Prune removes.
type Store struct {
	blobs  holdfast.BlobStore
	opts   Options
	master cipher.AEAD
	enc    *zstd.Encoder
	dec    *zstd.Decoder

	mu       sync.Mutex
	accounts map[string]*account // guarded by mu

	// packSlots bounds the packs being written (each holds up to PackSize
	// bytes); writes tracks those taken from an open slot for Flush.
	packSlots chan struct{}
	writes    sync.WaitGroup

	// failed is the error of the last pack write when it failed, nil once
	// one succeeds: a commit naming chunks it lost reports the cause.
	failed atomic.Pointer[error]

	// schedulePoll, when set (tests), replaces holdfast.SchedulePoll in
	// RunCompaction.
	schedulePoll time.Duration

	// crash, when set (tests), is called at named points of every write
	// sequence; an error aborts the operation there, as a kill would.
	crash func(point string) error
}

// account is the in-memory state of one account.
type account struct {
	id string

	loadMu sync.Mutex // serializes loading
	loaded atomic.Bool

	keyMu sync.Mutex // serializes rotation
	keys  atomic.Pointer[accountKeys]

	// gc orders commits against Prune: CommitSnapshot holds it shared from
	// checking its chunks until its snapshot is durable; Prune holds it
	// exclusively while it decides what is live and swaps the index.
	gc sync.RWMutex

	mu   sync.Mutex
	cond *sync.Cond // on mu; broadcast whenever pending or open changes
	// index maps every durable chunk to its place. Guarded by mu.
	index map[holdfast.ChunkRef]loc
	// packs and indexFiles are the durable packs (by id) and the index
	// files present (by name: in force, or superseded but not yet
	// deleted), which the next Prune supersedes. Guarded by mu.
	packs      map[string]*packInfo
	indexFiles map[string]bool
	// open collects sealed chunks for the next pack; pending maps refs
	// accepted but not yet durable to the pack that will hold them (nil
	// while being sealed); writing holds ids of packs being stored, which
	// Prune must not take for orphans. Guarded by mu.
	open    *packBuilder
	pending map[holdfast.ChunkRef]*packBuilder
	writing map[string]bool
	// flushing is true while a group write (a pack written before it was
	// full, see acceptChunk) is in flight. Guarded by mu.
	flushing bool
	// writingIndex holds the names of index files being stored by
	// writePack, which a commit need not reload for. Guarded by mu.
	writingIndex map[string]bool
	// superseded holds the names of index files this process's Prune
	// superseded and has not deleted yet, which learnIndex must not read
	// back. Guarded by mu.
	superseded map[string]bool
	// learnMu serializes learnIndex: concurrent misses read the new index
	// files once.
	learnMu sync.Mutex
	// prune is the plan of the Prune in progress, nil between runs.
	// Guarded by mu.
	prune *prunePlan
	// orphanSince is when Prune first saw each pack (by blob name) that no
	// index names. Guarded by mu.
	orphanSince map[string]time.Time

	snapMu sync.Mutex
	// snaps caches snapshot headers (immutable once written); items
	// caches the last decoded manifests. Guarded by snapMu.
	snaps map[string]snapRecord
	items []cachedItems
}

// loc is where a durable chunk lives: entry i of pack. pinUntil (unix
// seconds, 0 for none) keeps the chunk live for Prune until then: a client
// was told the store has it, or uploaded it, and may commit a snapshot
// naming it. It fits in the padding, so pins cost no memory.
type loc struct {
	pack     *packInfo
	i        int32
	pinUntil uint32
}

// prunePlan is what a running Prune decided: it will delete doomed packs
// and keep, by copying, only the chunks in live. A chunk whose place is a
// doomed pack and that is not in live is as good as gone: MissingChunks
// reports it missing and PutChunk stores it again. Immutable.
type prunePlan struct {
	doomed map[*packInfo]bool
	live   map[holdfast.ChunkRef]bool
}

// haveLocked returns where ref is when the account has it and no running
// Prune is about to delete it. The caller holds a.mu.
func (a *account) haveLocked(ref holdfast.ChunkRef) (loc, bool) {
	l, ok := a.index[ref]
	if !ok {
		return loc{}, false
	}
	if a.prune != nil && a.prune.doomed[l.pack] && !a.prune.live[ref] {
		return loc{}, false
	}
	return l, true
}

// pinLocked keeps a present chunk live for Prune until until. The caller
// holds a.mu.
func (a *account) pinLocked(ref holdfast.ChunkRef, l loc, until uint32) {
	if until > l.pinUntil {
		l.pinUntil = until
		a.index[ref] = l
	}
}

// pinUntil returns the pin expiry for a pin taken now, 0 when pins are off.
func (s *Store) pinUntil() uint32 {
	if s.opts.PinFor < 0 {
		return 0
	}
	return uint32(s.now().Add(s.opts.PinFor + time.Second - 1).Unix())
}

func (l loc) entry() packEntry { return l.pack.entries[l.i] }

func (a *account) getKeys() *accountKeys { return a.keys.Load() }

// Open returns a Store over blobs. It reads nothing but one key, to fail
// fast on a wrong master key (ErrWrongMasterKey); accounts load on first
// use.
func Open(ctx context.Context, blobs holdfast.BlobStore, opts Options) (*Store, error) {
	if opts.MasterKey == (MasterKey{}) {
		return nil, fmt.Errorf("storage: %w: no master key", holdfast.ErrInvalid)
	}
	if opts.PackSize <= 0 {
		opts.PackSize = DefaultPackSize
	}
	opts.PackSize = min(opts.PackSize, maxPackBytes/2)
	if opts.PruneGrace == 0 {
		opts.PruneGrace = DefaultPruneGrace
	}
	if opts.PinFor == 0 {
		opts.PinFor = DefaultPinFor
	}
	if opts.RepackBelow <= 0 {
		opts.RepackBelow = DefaultRepackBelow
	}
	opts.Clock = holdfast.ClockOrSystem(opts.Clock)
	// No zstd checksum: AES-GCM authenticates every chunk already.
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(runtime.GOMAXPROCS(0)),
		zstd.WithEncoderCRC(false))
	if err != nil {
		return nil, fmt.Errorf("storage: zstd: %w", err)
	}
	dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(0), zstd.WithDecoderMaxMemory(maxIndexBody))
	if err != nil {
		return nil, fmt.Errorf("storage: zstd: %w", err)
	}
	s := &Store{blobs: blobs, opts: opts, master: newAEAD(opts.MasterKey[:]), enc: enc, dec: dec, accounts: map[string]*account{},
		packSlots: make(chan struct{}, maxPackWrites)}
	stop := errors.New("stop")
	err = blobs.List(ctx, "keys/", func(name string, _ int64) error {
		if _, err := s.readKey(ctx, name); err != nil {
			return err
		}
		return stop
	})
	if err != nil && !errors.Is(err, stop) {
		return nil, err
	}
	return s, nil
}

func (s *Store) now() time.Time { return s.opts.Clock.Now() }

func (s *Store) hook(point string) error {
	if s.crash != nil {
		return s.crash(point)
	}
	return nil
}

// validID reports whether an account, snapshot or pack id can be part of a
// blob name: 1 to 128 of [A-Za-z0-9._-], not "." or "..".
func validID(id string) bool {
	if id == "" || len(id) > 128 || id == "." || id == ".." {
		return false
	}
	for _, c := range id {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

var errNoAccount = errors.New("account has no data")

// account returns the loaded state of id. Without create, an account that
// has no keys in the store returns errNoAccount.
func (s *Store) account(ctx context.Context, id string, create bool) (*account, error) {
	if !validID(id) {
		return nil, fmt.Errorf("storage: %w: account id %q", holdfast.ErrInvalid, id)
	}
	s.mu.Lock()
	a := s.accounts[id]
	if a == nil {
		a = newAccount(id)
		s.accounts[id] = a
	}
	s.mu.Unlock()
	if a.loaded.Load() {
		return a, nil
	}
	a.loadMu.Lock()
	defer a.loadMu.Unlock()
	if a.loaded.Load() {
		return a, nil
	}
	keys, ok, err := s.loadKeys(ctx, id)
	if err != nil {
		return nil, err
	}
	if !ok {
		if !create {
			return nil, errNoAccount
		}
		if keys, err = s.createKeys(ctx, id); err != nil {
			return nil, err
		}
	}
	a.keys.Store(keys)
	v, err := s.loadIndex(ctx, id, keys.data)
	if err != nil {
		return nil, err
	}
	if err := s.recordUnindexed(ctx, a, v.packs); err != nil {
		return nil, err
	}
	a.mu.Lock()
	for _, p := range v.packs {
		a.addPackLocked(p, 0)
	}
	for name := range v.files {
		a.indexFiles[name] = true
	}
	a.mu.Unlock()
	a.loaded.Store(true)
	return a, nil
}

// newAccount returns the empty state of account id, not loaded.
func newAccount(id string) *account {
	a := &account{id: id, index: map[holdfast.ChunkRef]loc{}, packs: map[string]*packInfo{},
		indexFiles: map[string]bool{}, pending: map[holdfast.ChunkRef]*packBuilder{}, writing: map[string]bool{},
		snaps: map[string]snapRecord{}, orphanSince: map[string]time.Time{}, writingIndex: map[string]bool{},
		superseded: map[string]bool{}}
	a.cond = sync.NewCond(&a.mu)
	return a
}

// addPackLocked publishes a durable pack: its chunks become findable,
// pinned until pin. A chunk already indexed elsewhere keeps its place,
// unless a running Prune is about to delete that place.
//
// Index entries and Prune's plans compare packs by pointer, so a pack
// already known (refreshIndex may have read it from its index file first)
// keeps its packInfo.
func (a *account) addPackLocked(p *packInfo, pin uint32) {
	if known, ok := a.packs[p.id]; ok {
		p = known
	}
	a.packs[p.id] = p
	for i, e := range p.entries {
		if l, ok := a.haveLocked(e.ref); ok {
			a.pinLocked(e.ref, l, pin)
			continue
		}
		a.index[e.ref] = loc{pack: p, i: int32(i), pinUntil: pin}
	}
}

// indexView is the durable index of an account as its files say.
type indexView struct {
	packs []*packInfo
	files map[string]bool // every index file present, in force or superseded
}

// loadIndex reads the account's index files and applies supersession. Any
// unreadable file fails the load: without it, chunks would look absent and
// their packs like orphans.
func (s *Store) loadIndex(ctx context.Context, account string, keys map[uint32]cipher.AEAD) (indexView, error) {
	var names []string
	err := s.blobs.List(ctx, "index/"+account+"/", func(name string, _ int64) error {
		names = append(names, name)
		return nil
	})
	if err != nil {
		return indexView{}, fmt.Errorf("storage: index of %s: %w", account, err)
	}
	files := map[string]indexFile{}
	superseded := map[string]bool{}
	for _, name := range names {
		if err := ctx.Err(); err != nil {
			return indexView{}, err
		}
		b, err := s.readBlob(ctx, name, maxIndexBody)
		if errors.Is(err, holdfast.ErrNotFound) {
			continue // deleted by a Prune since listing
		}
		if err != nil {
			return indexView{}, err
		}
		f, err := s.decodeIndex(b, keys, name)
		if err != nil {
			return indexView{}, fmt.Errorf("%w: index file %s: %v", ErrDamaged, name, err)
		}
		files[name] = f
		for _, n := range f.supersedes {
			superseded[n] = true
		}
	}
	v := indexView{files: map[string]bool{}}
	for _, name := range names {
		f, ok := files[name]
		if !ok {
			continue
		}
		// A superseded file still present (a Prune crashed before deleting
		// it) is remembered too: the next Prune's index must supersede it
		// again, or deleting the file that superseded it would bring its
		// packs back into force.
		v.files[name] = true
		if !superseded[name] {
			v.packs = append(v.packs, f.packs...)
		}
	}
	return v, nil
}

func indexName(account string, now time.Time) string {
	return fmt.Sprintf("index/%s/%016x-%s", account, now.UnixNano(), randHex(4))
}

// sealChunk compresses (when that helps) and encrypts a chunk with the
// account's current data key.
func (s *Store) sealChunk(keys *accountKeys, account string, ref holdfast.ChunkRef, data []byte) ([]byte, uint32) {
	buf := payloadBufs.Get().(*[]byte)
	defer payloadBufs.Put(buf)
	payload := append((*buf)[:0], flagZstd)
	payload = s.enc.EncodeAll(data, payload)
	if len(payload) >= len(data)+1 {
		payload = append(payload[:0], flagRaw)
		payload = append(payload, data...)
	}
	*buf = payload[:0]
	return seal(keys.data[keys.current], nil, payload, chunkAAD(account, ref)), keys.current
}

// payloadBufs holds the compression buffers of sealChunk, which seal
// copies out of.
var payloadBufs = sync.Pool{New: func() any { b := make([]byte, 0, MaxChunk+1024); return &b }}

// openChunk authenticates, decrypts and decompresses one sealed chunk.
// With owned, sealed is the caller's own buffer, which it will not read
// again: decryption then happens in place, and an uncompressed chunk's
// plaintext is returned inside it.
func (s *Store) openChunk(keys *accountKeys, account string, e packEntry, sealed []byte, owned bool) ([]byte, error) {
	aead := keys.data[e.keyID]
	if aead == nil {
		return nil, fmt.Errorf("sealed with unknown key %d", e.keyID)
	}
	open := unseal
	if owned {
		open = unsealInPlace
	}
	payload, err := open(aead, sealed, chunkAAD(account, e.ref))
	if err != nil {
		return nil, err
	}
	if len(payload) == 0 {
		return nil, errors.New("empty payload")
	}
	var data []byte
	switch payload[0] {
	case flagRaw:
		data = payload[1:]
	case flagZstd:
		if data, err = s.dec.DecodeAll(payload[1:], make([]byte, 0, e.rawLen)); err != nil {
			return nil, fmt.Errorf("decompress: %w", err)
		}
	default:
		return nil, fmt.Errorf("unknown payload flag %d", payload[0])
	}
	if len(data) != int(e.rawLen) {
		return nil, fmt.Errorf("plaintext is %d bytes, index says %d", len(data), e.rawLen)
	}
	return data, nil
}

// MissingChunks returns, in order and without repeats, the refs of refs
// that the account does not have durably, so a client uploads only those.
// A chunk is present once its pack and an index file naming the pack are
// stored. With a shared Options.Index, a chunk is present when the shared
// index names it and the index files confirm it (this process's index is
// a cache of them: a miss reads the files other processes stored since);
// without one, when this process's index has it. A chunk accepted by
// PutChunk but not yet durable is missing: the process holding it may die
// before writing it, and uploading it again only joins the pending write.
//
// Every chunk reported present is pinned for Options.PinFor: Prune keeps
// it even if the snapshots that named it are forgotten meanwhile, so a
// commit within PinFor does not fail for want of it. A chunk a running
// Prune is deleting is reported missing.
func (s *Store) MissingChunks(ctx context.Context, account string, refs []holdfast.ChunkRef) ([]holdfast.ChunkRef, error) {
	a, err := s.account(ctx, account, false)
	if errors.Is(err, errNoAccount) {
		return dedupRefs(refs), nil
	}
	if err != nil {
		return nil, err
	}
	if s.opts.Index == nil {
		return s.missingLocal(a, refs), nil
	}
	return s.missingShared(ctx, a, dedupRefs(refs))
}

// missingLocal returns, once each, the refs this process's index does not
// hold, and pins the others.
func (s *Store) missingLocal(a *account, refs []holdfast.ChunkRef) []holdfast.ChunkRef {
	var missing []holdfast.ChunkRef
	seen := make(map[holdfast.ChunkRef]bool, len(refs))
	pin := s.pinUntil()
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, r := range refs {
		if seen[r] {
			continue
		}
		seen[r] = true
		if l, ok := a.haveLocked(r); ok {
			a.pinLocked(r, l, pin)
			continue
		}
		missing = append(missing, r)
	}
	return missing
}

func dedupRefs(refs []holdfast.ChunkRef) []holdfast.ChunkRef {
	seen := make(map[holdfast.ChunkRef]bool, len(refs))
	var out []holdfast.ChunkRef
	for _, r := range refs {
		if !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	return out
}

// PutChunk stores one chunk of the account's data and returns once it is
// durable: once the pack holding it and the index file naming that pack
// are written to the BlobStore, or with the error of that write (a full
// blob store matches ErrNoSpace, an unreachable one ErrUnavailable), so
// that an acknowledged upload is never lost. Uploads arriving together
// share one pack (group commit): an account has at most one pack written
// before it is full in flight, the uploads arriving meanwhile fill the
// next one, and every upload in a pack is answered when its write ends;
// so concurrent uploads, not a timer, make packs large. ref must be the account's chunk id of
// plaintext (Chunker.Ref); otherwise, or when the chunk is empty or
// larger than MaxChunk, it returns ErrInvalid and stores nothing. A chunk
// the account already has is not stored again. PutChunk keeps no
// reference to plaintext after it returns. The chunk is pinned like a
// chunk MissingChunks reports present.
func (s *Store) PutChunk(ctx context.Context, account string, ref holdfast.ChunkRef, plaintext []byte) error {
	if len(plaintext) == 0 || len(plaintext) > MaxChunk {
		return fmt.Errorf("storage: %w: chunk %s: %d bytes, want 1 to %d", holdfast.ErrInvalid, ref, len(plaintext), MaxChunk)
	}
	a, err := s.account(ctx, account, true)
	if err != nil {
		return err
	}
	keys := a.getKeys()
	if got := keys.chunker.Ref(plaintext); got != ref {
		return fmt.Errorf("storage: %w: chunk hash mismatch: data hashes to %s, not %s", holdfast.ErrInvalid, got, ref)
	}
	return s.putChunk(ctx, a, ref, plaintext)
}

// putChunk stores a verified chunk and waits until it is durable.
func (s *Store) putChunk(ctx context.Context, a *account, ref holdfast.ChunkRef, plaintext []byte) error {
	b, err := s.acceptChunk(ctx, a, ref, plaintext)
	if err == nil && b == nil && s.opts.Index != nil {
		// Durable here, yet a client was told it is missing: the shared
		// index may lack it (see recordKnown).
		b, err = s.recordKnown(ctx, a, ref, plaintext)
	}
	if err != nil || b == nil {
		return err
	}
	return b.wait(ctx)
}

// acceptChunk adds a verified chunk to the account's open pack and returns
// the pack that will hold it, for the caller to wait on; nil when the
// chunk is durable already. A chunk another upload is storing right now is
// not stored twice: acceptChunk returns that upload's pack.
func (s *Store) acceptChunk(ctx context.Context, a *account, ref holdfast.ChunkRef, plaintext []byte) (*packBuilder, error) {
	a.mu.Lock()
	for {
		if l, ok := a.haveLocked(ref); ok {
			a.pinLocked(ref, l, s.pinUntil())
			a.mu.Unlock()
			return nil, nil
		}
		b, ok := a.pending[ref]
		if !ok {
			break
		}
		if b != nil {
			a.mu.Unlock()
			return b, nil
		}
		// Being sealed by another upload; it broadcasts once the chunk is
		// in a pack, or dropped.
		a.cond.Wait()
	}
	a.pending[ref] = nil
	a.mu.Unlock()

	// Compress and encrypt outside the lock: that is the CPU work.
	keys := a.getKeys()
	sealed, keyID := s.sealChunk(keys, a.id, ref, plaintext)

	a.mu.Lock()
	b := a.open
	if b == nil {
		b = newPackBuilder()
		a.open = b
	}
	b.add(ref, keyID, uint32(len(plaintext)), sealed)
	a.pending[ref] = b
	// Group commit: a full pack is written at once; otherwise the pack is
	// written at once when no other pack of the account is being
	// written, and else when that write ends, so the uploads arriving
	// during one write share the next.
	write := b.buf.Len() >= s.opts.PackSize || !a.flushing
	if write {
		a.open = nil
		s.writes.Add(1)
		if !a.flushing {
			a.flushing, b.group = true, true
		}
	}
	a.cond.Broadcast()
	a.mu.Unlock()
	if write {
		s.writeTracked(ctx, a, b)
	}
	return b, nil
}

// groupDone ends the group write of the account that just finished and
// starts the next one when uploads arrived meanwhile.
func (s *Store) groupDone(a *account) {
	a.mu.Lock()
	next := a.open
	if next == nil || len(next.entries) == 0 {
		a.flushing = false
		a.mu.Unlock()
		return
	}
	a.open = nil
	next.group = true
	s.writes.Add(1)
	a.mu.Unlock()
	go s.writeTracked(context.Background(), a, next)
}

// writeTracked writes a pack the caller counted in s.writes, once one of
// the maxPackWrites slots is free (back pressure: at most that many packs
// are in flight). Its waiters get the result.
func (s *Store) writeTracked(ctx context.Context, a *account, b *packBuilder) {
	defer s.writes.Done()
	s.packSlots <- struct{}{}
	_ = s.writePack(ctx, a, b)
	<-s.packSlots
	if b.group {
		s.groupDone(a)
	}
}

// maxPackWrites is how many packs may be written at once.
const maxPackWrites = 2

// writePack stores a pack, then an index file naming it, then records its
// chunks in the shared index (Options.Index), then publishes them and
// answers the uploads waiting on it with the result. On failure
// its chunks are dropped from pending: a commit naming them reports them
// missing and the client uploads them again. It is called once per pack,
// by whoever took the pack from the account's open slot.
func (s *Store) writePack(ctx context.Context, a *account, b *packBuilder) (err error) {
	// Other clients' chunks ride in this pack: a canceled request must not
	// drop them.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Minute)
	defer cancel()
	keys := a.getKeys()
	data, id := b.finish(keys.data[keys.current], keys.current, a.id)
	p := &packInfo{id: id, size: int64(len(data)), created: s.now().UTC(), entries: b.entries}
	a.mu.Lock()
	a.writing[id] = true
	a.mu.Unlock()
	defer func() {
		s.recordWrite(err)
		a.mu.Lock()
		delete(a.writing, id)
		delete(a.writingIndex, p.index)
		if err == nil {
			a.addPackLocked(p, s.pinUntil())
			a.indexFiles[p.index] = true
		}
		for _, e := range b.entries {
			delete(a.pending, e.ref)
		}
		a.cond.Broadcast()
		a.mu.Unlock()
		b.complete(err)
	}()
	if err := s.blobs.Put(ctx, packName(a.id, id), bytes.NewReader(data), int64(len(data))); err != nil {
		return fmt.Errorf("storage: write pack: %w", err)
	}
	if err := s.hook("flush.pack-written"); err != nil {
		return err
	}
	p.index = indexName(a.id, s.now())
	a.mu.Lock()
	a.writingIndex[p.index] = true
	a.mu.Unlock()
	idx := s.encodeIndex(indexFile{packs: []*packInfo{p}}, keys.data[keys.current], keys.current, p.index)
	if err := s.blobs.Put(ctx, p.index, bytes.NewReader(idx), int64(len(idx))); err != nil {
		return fmt.Errorf("storage: write index: %w", err)
	}
	if err := s.hook("flush.index-written"); err != nil {
		return err
	}
	return s.recordPack(ctx, a, p)
}

// recordWrite keeps the error of a failed pack write (see Store.failed) and
// forgets it after one that succeeded. A crash hook's error is not the
// blob store's.
func (s *Store) recordWrite(err error) {
	switch {
	case err == nil:
		s.failed.Store(nil)
	case errors.Is(err, holdfast.ErrNoSpace), errors.Is(err, holdfast.ErrUnavailable):
		s.failed.Store(&err)
	}
}

// writeFailure is the error of the last pack write if it failed, else nil.
func (s *Store) writeFailure() error {
	if p := s.failed.Load(); p != nil {
		return *p
	}
	return nil
}

// makeDurable flushes whatever holds any of refs and waits until none is
// pending; it returns the refs the account does not have durably, in this
// process's index or, when there is one, the shared index.
func (s *Store) makeDurable(ctx context.Context, a *account, refs []holdfast.ChunkRef) ([]holdfast.ChunkRef, error) {
	a.mu.Lock()
	for {
		if err := ctx.Err(); err != nil {
			a.mu.Unlock()
			return nil, err
		}
		waiting := false
		for _, r := range refs {
			if _, ok := a.pending[r]; ok {
				waiting = true
				break
			}
		}
		if !waiting {
			break
		}
		if a.open != nil && len(a.open.entries) > 0 {
			b := a.open
			a.open = nil
			a.mu.Unlock()
			if err := s.writePack(ctx, a, b); err != nil {
				return nil, err
			}
			a.mu.Lock()
			continue
		}
		// Being sealed or written by another goroutine; it broadcasts.
		a.cond.Wait()
	}
	var missing []holdfast.ChunkRef
	for _, r := range refs {
		if _, ok := a.index[r]; !ok {
			missing = append(missing, r)
		}
	}
	a.mu.Unlock()
	if s.opts.Index == nil || len(missing) == 0 {
		return missing, nil
	}
	// Stored by another process after this commit looked at the index
	// files.
	return s.missingShared(ctx, a, missing)
}

// Flush makes every accepted chunk of every account durable.
func (s *Store) Flush(ctx context.Context) error {
	defer s.writes.Wait() // packs already on their way
	s.mu.Lock()
	accts := make([]*account, 0, len(s.accounts))
	for _, a := range s.accounts {
		accts = append(accts, a)
	}
	s.mu.Unlock()
	var errs []error
	for _, a := range accts {
		a.mu.Lock()
		b := a.open
		a.open = nil
		a.mu.Unlock()
		if b != nil && len(b.entries) > 0 {
			errs = append(errs, s.writePack(ctx, a, b))
		}
	}
	return errors.Join(errs...)
}

// Close flushes accepted chunks. The BlobStore stays open.
func (s *Store) Close() error {
	return s.Flush(context.Background())
}

// readChunk returns a durable chunk's plaintext. A Prune may move the chunk
// to a new pack between the lookup and the read; the lookup is retried once.
func (s *Store) readChunk(ctx context.Context, a *account, ref holdfast.ChunkRef) ([]byte, error) {
	data, _, err := s.readChunkInto(ctx, a, ref, nil)
	return data, err
}

// readChunkInto is readChunk reading the sealed chunk into buf when it is
// large enough. It returns the plaintext, which may lie inside the buffer,
// and the buffer it used (buf, or a larger one it made) for the caller to
// pass again once it no longer needs the plaintext.
func (s *Store) readChunkInto(ctx context.Context, a *account, ref holdfast.ChunkRef, buf []byte) ([]byte, []byte, error) {
	for attempt := 0; ; attempt++ {
		a.mu.Lock()
		l, ok := a.index[ref]
		a.mu.Unlock()
		if !ok && attempt == 0 {
			// Perhaps in a pack another process indexed since we loaded.
			if err := s.learnIndex(ctx, a); err != nil {
				return nil, buf, err
			}
			continue
		}
		if !ok {
			return nil, buf, fmt.Errorf("%w: account %s: chunk %s is not in the index", ErrDamaged, a.id, ref)
		}
		e := l.entry()
		data, used, err := s.readSealed(ctx, a, l.pack.id, e, buf)
		if errors.Is(err, holdfast.ErrNotFound) && attempt == 0 {
			// Another process's Prune moved the chunk: learn its index
			// files and look again.
			if rerr := s.refreshIndex(ctx, a); rerr != nil {
				return nil, buf, rerr
			}
			continue
		}
		return data, used, err
	}
}

// refreshIndex adds what the stored index files say and this process does
// not know yet: packs another process wrote or rewrote. A chunk whose
// pack is no longer in force moves to the place the store names now; pins
// are kept.
func (s *Store) refreshIndex(ctx context.Context, a *account) error {
	v, err := s.loadIndex(ctx, a.id, s.latestKeys(ctx, a).data)
	if err != nil {
		return err
	}
	inForce := make(map[string]bool, len(v.packs))
	for _, p := range v.packs {
		inForce[p.id] = true
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, p := range v.packs {
		if _, ok := a.packs[p.id]; !ok {
			a.packs[p.id] = p
		}
	}
	for name := range v.files {
		a.indexFiles[name] = true
	}
	pins := map[holdfast.ChunkRef]uint32{}
	for ref, l := range a.index {
		if inForce[l.pack.id] || a.writing[l.pack.id] {
			continue
		}
		delete(a.index, ref) // re-added below if a pack in force has it
		if l.pinUntil != 0 {
			pins[ref] = l.pinUntil
		}
	}
	for id, p := range a.packs {
		if !inForce[id] && !a.writing[id] {
			delete(a.packs, id)
			continue
		}
		for i, e := range p.entries {
			if _, ok := a.index[e.ref]; !ok {
				a.index[e.ref] = loc{pack: p, i: int32(i)}
			}
		}
	}
	for ref, until := range pins {
		if l, ok := a.index[ref]; ok {
			a.pinLocked(ref, l, until)
		}
	}
	return nil
}

func (s *Store) readSealed(ctx context.Context, a *account, packID string, e packEntry, buf []byte) ([]byte, []byte, error) {
	name := packName(a.id, packID)
	rc, err := s.blobs.GetRange(ctx, name, int64(e.off), int64(e.length))
	if err != nil {
		return nil, buf, err
	}
	defer rc.Close()
	if cap(buf) < int(e.length) {
		buf = make([]byte, e.length)
	}
	sealed := buf[:e.length]
	if _, err := io.ReadFull(rc, sealed); err != nil {
		var dep *holdfast.DependencyError
		if errors.As(err, &dep) || ctx.Err() != nil {
			// The store or the caller failed mid-read, not the data.
			return nil, buf, fmt.Errorf("storage: pack %s: chunk %s: %w", name, e.ref, err)
		}
		return nil, buf, fmt.Errorf("%w: pack %s: chunk %s: %v", ErrDamaged, name, e.ref, err)
	}
	data, err := s.openChunk(s.keysFor(ctx, a, e.keyID), a.id, e, sealed, true)
	if err != nil {
		return nil, buf, fmt.Errorf("%w: pack %s: chunk %s: %v", ErrDamaged, name, e.ref, err)
	}
	return data, buf, nil
}

// accountIDs lists the accounts that have keys in the store.
func (s *Store) accountIDs(ctx context.Context) ([]string, error) {
	var ids []string
	err := s.blobs.List(ctx, "keys/", func(name string, _ int64) error {
		rest := strings.TrimPrefix(name, "keys/")
		id, _, _ := strings.Cut(rest, "/")
		if len(ids) == 0 || ids[len(ids)-1] != id {
			ids = append(ids, id)
		}
		return nil
	})
	return ids, err
}

// Accounts lists, sorted, the accounts that have data (keys) in the store.
func (s *Store) Accounts(ctx context.Context) ([]string, error) {
	ids, err := s.accountIDs(ctx)
	if err != nil {
		return nil, fmt.Errorf("storage: accounts: %w", err)
	}
	return ids, nil
}
