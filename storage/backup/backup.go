package backup

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/storage"
)

// Options configure one backup run.
type Options struct {
	Client *Client // required
	User   string  // user id or email; required
	// Device names an endpoint; Source a SaaS source (mail, calendar,
	// contacts, files). Exactly one is set.
	Device string
	Source storage.Source
	// Paths are what to back up; an endpoint's run without paths backs up
	// its profile's folders (Target.Policy), known ones under Home.
	Paths []string
	// Home is where a policy's known folders (Desktop, Documents, ...)
	// are; "" is the user's home directory.
	Home string
	// CacheDir keeps, per target, the chunks of files already backed up
	// (by path, size and modification time), so unchanged files are not
	// read again; "" disables the cache.
	CacheDir string
	// Progress receives a progress line several times a second, and a
	// final one; nil shows none.
	Progress io.Writer
	// Workers is the number of parallel upload requests (default 4),
	// each a batch of up to 8 MiB of chunks. The server answers an
	// upload once the pack holding it is written, and the uploads in
	// flight together share one pack write.
	Workers int
}

// Result says what a backup did.
type Result struct {
	Snapshot  storage.Snapshot
	Items     int
	Bytes     int64 // bytes of all items
	ReadBytes int64 // bytes read and chunked (the rest came from the cache)
	Chunks    int   // distinct chunks of the snapshot
	// Excluded counts the files the profile's policy left out (their
	// type, or over its size limit).
	Excluded      int
	Uploaded      int // chunks uploaded, over every attempt
	UploadedBytes int64
	// Deduplicated is how many chunks of the snapshot the server already
	// had when the committed attempt asked (from earlier backups, other
	// devices or users of the account, or an earlier attempt of this run).
	Deduplicated int
	// Attempts is how many times the run cut and committed; more than one
	// when a commit was refused for chunks gone meanwhile.
	Attempts int
	Duration time.Duration
}

// batchBytes is how much chunk data waits for one "which are missing"
// question; two batches may be in flight while the next is cut.
const batchBytes = 32 << 20

type pendingChunk struct {
	ref  holdfast.ChunkRef
	data []byte
}

// Run backs up opts.Paths and commits a snapshot. Chunks the server already
// has, from earlier snapshots or from an interrupted run of this backup,
// are not uploaded again. Bad input (no such user or device, unreadable
// paths) returns an error and commits nothing.
func Run(ctx context.Context, opts Options) (Result, error) {
	start := time.Now()
	if opts.Client == nil {
		return Result{}, errors.New("backup: no client")
	}
	if opts.Workers <= 0 {
		opts.Workers = 4
	}
	src := opts.Source
	if opts.Device != "" {
		src = storage.SourceDevice
	}
	t, err := opts.Client.Start(ctx, opts.User, opts.Device, opts.Source)
	if err != nil {
		return Result{}, fmt.Errorf("backup: %w", err)
	}
	entries, excludedFiles, err := collectFor(opts, t, src)
	if err != nil {
		return Result{}, fmt.Errorf("backup: %w", err)
	}
	cache := loadCache(opts.CacheDir, t)
	// The commit names the run's start: sent again (its answer was lost),
	// it returns the snapshot it made instead of a second one.
	at := start.UTC()
	var res, total Result
	for attempt := 0; ; attempt++ {
		res, err = runOnce(ctx, opts, t, at, entries, cache)
		total.Attempts++
		total.Uploaded += res.Uploaded
		total.UploadedBytes += res.UploadedBytes
		total.ReadBytes += res.ReadBytes
		if err != nil && isMissingChunks(err) && attempt == 0 {
			// Chunks the server reported present went away before the
			// commit (a compaction ran meanwhile): read everything again.
			cache = &fileCache{Files: map[string]cachedFile{}}
			continue
		}
		break
	}
	if err != nil {
		reportFailure(ctx, opts.Client, t, err)
		return res, fmt.Errorf("backup: %w", err)
	}
	res.Excluded = excludedFiles
	saveCache(opts.CacheDir, t, entries)
	res.Deduplicated = res.Chunks - res.Uploaded
	res.Uploaded, res.UploadedBytes, res.ReadBytes = total.Uploaded, total.UploadedBytes, total.ReadBytes
	res.Attempts = total.Attempts
	res.Duration = time.Since(start)
	return res, nil
}

// collectFor returns the entries of the run: its paths, or for an
// endpoint without paths its profile's folders, less the files the
// policy excludes (counted).
func collectFor(opts Options, t Target, src storage.Source) ([]entry, int, error) {
	paths := opts.Paths
	if len(paths) == 0 && src == storage.SourceDevice {
		home := opts.Home
		if home == "" {
			home, _ = os.UserHomeDir()
		}
		var err error
		if paths, err = policyPaths(t.Policy, home); err != nil {
			return nil, 0, err
		}
	}
	entries, err := collect(src, paths)
	if err != nil {
		return nil, 0, err
	}
	n := 0
	if src == storage.SourceDevice || src == storage.SourceFiles {
		entries, n = applyPolicy(t.Policy, entries)
	}
	if !slices.ContainsFunc(entries, func(e entry) bool { return e.item.Type != storage.ItemDir }) {
		// An empty snapshot would become the newest and hide the last
		// real one from a restore of "the newest".
		return nil, 0, fmt.Errorf("%w: nothing to back up in %s (no %s found, %d excluded by the profile); no snapshot was made",
			holdfast.ErrInvalid, strings.Join(paths, ", "), sourceNoun(src), n)
	}
	return entries, n, nil
}

// sourceNoun names what a source's paths hold, for messages.
func sourceNoun(src storage.Source) string {
	switch src {
	case storage.SourceMail:
		return "messages"
	case storage.SourceCalendar:
		return "events"
	case storage.SourceContacts:
		return "contacts"
	}
	return "files"
}

func runOnce(ctx context.Context, opts Options, t Target, at time.Time, entries []entry, cache *fileCache) (Result, error) {
	var res Result
	prog := newProgress(opts.Progress, entries)
	defer prog.stop()
	reuse, err := reusable(ctx, opts.Client, t.DeviceID, entries, cache)
	if err != nil {
		return res, err
	}
	up := newUploader(ctx, opts.Client, t.DeviceID, opts.Workers, prog)
	bt := &batcher{chunker: storage.NewChunker(storage.ChunkerKey(t.ChunkerKey)), up: up, prog: prog, seen: map[holdfast.ChunkRef]bool{}}
	for i := range reuse {
		for _, r := range cache.Files[entries[i].item.Path].Chunks {
			bt.seen[r] = true
		}
	}
	items, err := splitAll(entries, reuse, cache, bt, up, prog)
	if err == nil && len(bt.batch) > 0 {
		err = up.send(bt.batch)
	}
	if cerr := up.close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = ctx.Err()
	}
	// Counted even when the run fails: a retried run's summary adds them.
	res.ReadBytes = bt.readBytes
	res.Uploaded, res.UploadedBytes = up.count, up.bytes
	if err != nil {
		return res, err
	}
	for _, it := range items {
		res.Bytes += it.Size
	}
	sn, err := opts.Client.Commit(ctx, t, at, items)
	if err != nil {
		return res, err
	}
	prog.stop()
	res.Snapshot, res.Items, res.Chunks = sn, len(items), len(bt.seen)
	return res, nil
}

// reusable returns the entries (by index) whose cached chunks can stand
// for them: unchanged files whose chunks the server still has, all of
// them.
func reusable(ctx context.Context, c *Client, deviceID string, entries []entry, cache *fileCache) (map[int]bool, error) {
	reuse := map[int]bool{}
	var cachedRefs []holdfast.ChunkRef
	for i, e := range entries {
		if c, ok := cache.Files[e.item.Path]; ok && e.file != "" && c.Size == e.size && c.MTime == e.mtime && len(c.Chunks) > 0 {
			reuse[i] = true
			cachedRefs = append(cachedRefs, c.Chunks...)
		}
	}
	if len(cachedRefs) == 0 {
		return reuse, nil
	}
	missing, err := c.Missing(ctx, deviceID, cachedRefs)
	if err != nil {
		return nil, err
	}
	gone := map[holdfast.ChunkRef]bool{}
	for _, r := range missing {
		gone[r] = true
	}
	for i := range reuse {
		for _, r := range cache.Files[entries[i].item.Path].Chunks {
			if gone[r] {
				delete(reuse, i)
				break
			}
		}
	}
	return reuse, nil
}

// batcher cuts items into chunks and gathers the chunks not seen before
// into batches for the uploader. split is safe for concurrent use.
type batcher struct {
	chunker *storage.Chunker
	up      *uploader
	prog    *progress

	mu        sync.Mutex // guards the fields below
	seen      map[holdfast.ChunkRef]bool
	batch     []pendingChunk
	batchSize int
	readBytes int64
}

// split cuts and hashes one item, sending each full batch of new chunks.
func (bt *batcher) split(it *storage.Item, r io.Reader) error {
	return bt.chunker.Split(r, func(ref holdfast.ChunkRef, data []byte) error {
		it.Chunks = append(it.Chunks, ref)
		it.Size += int64(len(data))
		bt.prog.read(int64(len(data)))
		bt.mu.Lock()
		bt.readBytes += int64(len(data))
		if bt.seen[ref] {
			bt.mu.Unlock()
			return nil
		}
		bt.seen[ref] = true
		bt.batch = append(bt.batch, pendingChunk{ref: ref, data: bytes.Clone(data)})
		bt.batchSize += len(data)
		var full []pendingChunk
		if bt.batchSize >= batchBytes {
			full, bt.batch, bt.batchSize = bt.batch, nil, 0
		}
		bt.mu.Unlock()
		if full != nil {
			return bt.up.send(full)
		}
		return nil
	})
}

// splitAll splits every entry, several at once (one per core, at most 4),
// and returns their items; reused entries keep their cached chunks. The
// first error stops the uploader and is returned.
func splitAll(entries []entry, reuse map[int]bool, cache *fileCache, bt *batcher, up *uploader, prog *progress) ([]storage.Item, error) {
	items := make([]storage.Item, len(entries))
	work := make(chan int)
	errc := make(chan error, 1)
	var wg sync.WaitGroup
	for range max(1, min(runtime.GOMAXPROCS(0), 4)) {
		wg.Go(func() {
			for i := range work {
				e := &entries[i]
				it := e.item
				it.Size, it.Chunks = 0, nil
				var err error
				switch {
				case !it.IsFile():
					// A directory or link: no content.
				case reuse[i]:
					c := cache.Files[it.Path]
					it.Chunks, it.Size = c.Chunks, c.Size
					prog.read(c.Size)
				case e.file != "":
					err = splitFile(e, &it, bt.split)
				default:
					err = bt.split(&it, bytes.NewReader(e.data))
				}
				if err != nil {
					select {
					case errc <- err:
					default:
					}
					up.fail(err)
					continue
				}
				e.item.Chunks, e.item.Size = it.Chunks, it.Size // for the cache
				items[i] = it
				prog.item()
			}
		})
	}
feed:
	for i := range entries {
		select {
		case work <- i:
		case <-up.ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	select {
	case err := <-errc:
		return items, err
	default:
		return items, nil
	}
}

// splitFile chunks a file, refusing one that changed size while read.
func splitFile(e *entry, it *storage.Item, split func(*storage.Item, io.Reader) error) error {
	f, err := os.Open(e.file)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := split(it, f); err != nil {
		return fmt.Errorf("%s: %w", e.file, err)
	}
	if it.Size != e.size {
		// Changed while being read: back up what was read, and keep it out
		// of the cache.
		e.mtime = -1
	}
	return nil
}

// uploader asks which chunks of each batch are missing and uploads those
// with parallel workers, while the caller cuts the next batch.
type uploader struct {
	ctx      context.Context
	cancel   context.CancelFunc
	client   *Client
	deviceID string
	batches  chan []pendingChunk
	done     chan struct{}
	prog     *progress

	mu    sync.Mutex
	err   error // first error; guarded by mu
	count int   // chunks uploaded; final after close
	bytes int64
}

func newUploader(ctx context.Context, c *Client, deviceID string, workers int, prog *progress) *uploader {
	ctx, cancel := context.WithCancel(ctx)
	u := &uploader{ctx: ctx, cancel: cancel, client: c, deviceID: deviceID, batches: make(chan []pendingChunk, 1),
		done: make(chan struct{}), prog: prog}
	go u.loop(workers)
	return u
}

func (u *uploader) fail(err error) {
	u.mu.Lock()
	if u.err == nil {
		u.err = err
	}
	u.mu.Unlock()
	u.cancel()
}

func (u *uploader) firstErr() error {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.err
}

func (u *uploader) send(b []pendingChunk) error {
	select {
	case u.batches <- b:
		return nil
	case <-u.ctx.Done():
		if err := u.firstErr(); err != nil {
			return err
		}
		return u.ctx.Err()
	}
}

func (u *uploader) close() error {
	close(u.batches)
	<-u.done
	u.cancel()
	return u.firstErr()
}

// loop asks which chunks of each batch are missing and hands those, in
// upload batches of at most maxUploadBatch bytes, to the workers; the
// next batch's question overlaps the uploads of this one.
func (u *uploader) loop(workers int) {
	defer close(u.done)
	groups := make(chan []pendingChunk, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for g := range groups {
				if u.ctx.Err() != nil {
					continue // drain after a failure
				}
				u.upload(g)
			}
		})
	}
	defer wg.Wait()
	defer close(groups)
	for b := range u.batches {
		if u.ctx.Err() != nil {
			continue // drain after a failure
		}
		refs := make([]holdfast.ChunkRef, len(b))
		for i, c := range b {
			refs[i] = c.ref
		}
		missing, err := u.client.Missing(u.ctx, u.deviceID, refs)
		if err != nil {
			u.fail(err)
			continue
		}
		want := make(map[holdfast.ChunkRef]bool, len(missing))
		for _, r := range missing {
			want[r] = true
		}
		var g []pendingChunk
		n := 0
		for _, c := range b {
			if !want[c.ref] {
				continue
			}
			if n+len(c.data) > maxUploadBatch && len(g) > 0 {
				groups <- g
				g, n = nil, 0
			}
			g = append(g, c)
			n += len(c.data)
		}
		if len(g) > 0 {
			groups <- g
		}
	}
}

// upload sends one upload batch and counts it.
func (u *uploader) upload(g []pendingChunk) {
	if err := u.client.PutChunks(u.ctx, u.deviceID, g); err != nil {
		u.fail(fmt.Errorf("upload %d chunks: %w", len(g), err))
		return
	}
	var n int64
	for _, c := range g {
		n += int64(len(c.data))
	}
	u.mu.Lock()
	u.count += len(g)
	u.bytes += n
	u.mu.Unlock()
	u.prog.uploaded(n)
}

// fileCache is what a client remembers of the files it backed up to one
// target.
type fileCache struct {
	Files map[string]cachedFile `json:"files"`
}

type cachedFile struct {
	Size   int64               `json:"size"`
	MTime  int64               `json:"mtime"`
	Chunks []holdfast.ChunkRef `json:"chunks"`
}

func cachePath(dir string, t Target) string {
	sum := sha256.Sum256([]byte(t.UserID + "\x00" + t.DeviceID + "\x00" + string(t.Source) + "\x00" + hex.EncodeToString(t.ChunkerKey)))
	return filepath.Join(dir, hex.EncodeToString(sum[:16])+".json")
}

// loadCache reads the cache; a missing or unreadable cache is empty (it
// only saves reading).
func loadCache(dir string, t Target) *fileCache {
	c := &fileCache{Files: map[string]cachedFile{}}
	if dir == "" {
		return c
	}
	b, err := os.ReadFile(cachePath(dir, t))
	if err != nil || json.Unmarshal(b, c) != nil || c.Files == nil {
		return &fileCache{Files: map[string]cachedFile{}}
	}
	return c
}

// saveCache writes the cache of a committed backup; failing to is not an
// error of the backup.
func saveCache(dir string, t Target, entries []entry) {
	if dir == "" {
		return
	}
	c := fileCache{Files: map[string]cachedFile{}}
	for _, e := range entries {
		if e.file != "" && e.mtime > 0 && len(e.item.Chunks) > 0 {
			c.Files[e.item.Path] = cachedFile{Size: e.item.Size, MTime: e.mtime, Chunks: e.item.Chunks}
		}
	}
	b, err := json.Marshal(c)
	if err != nil || os.MkdirAll(dir, 0o700) != nil {
		return
	}
	tmp, err := os.CreateTemp(dir, ".cache-*")
	if err != nil {
		return
	}
	_, werr := tmp.Write(b)
	cerr := tmp.Close()
	if werr != nil || cerr != nil || os.Rename(tmp.Name(), cachePath(dir, t)) != nil {
		os.Remove(tmp.Name())
	}
}
