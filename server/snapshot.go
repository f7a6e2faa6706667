package server

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/snapshots"
	"github.com/holdfast/holdfast/storage"
)

// Bounds of the backup and restore bodies.
const (
	// maxRefsBody fits snapshots.MaxRefsPerCall hex refs in JSON.
	maxRefsBody = snapshots.MaxRefsPerCall*70 + 4096
	// maxManifestBody bounds a snapshot commit: about 250,000 items.
	maxManifestBody = 64 << 20
	// maxChunkBatch bounds a batch upload: sixteen of the largest chunks,
	// or thousands of small files' chunks, with their frames.
	maxChunkBatch = 16*storage.MaxChunk + 16*chunkFrameHeader
	// chunkFrameHeader is a batch frame's ref (32 bytes) and length (4).
	chunkFrameHeader = 36
)

// registerSnapshotRoutes registers the backup and restore API (the
// snapshots service). Without a data store (Options.Data) its routes
// answer 404.
func (s *Server) registerSnapshotRoutes() {
	s.authed("POST /api/v1/backups", s.withData(s.startBackup))
	s.authed("POST /api/v1/backups/{id}/missing", s.withData(s.missingChunks))
	s.authed("PUT /api/v1/backups/{id}/chunks/{ref}", s.withData(s.putChunk))
	s.authed("POST /api/v1/backups/{id}/chunks", s.withData(s.putChunks))
	s.authed("POST /api/v1/backups/{id}/snapshots", s.withData(s.commitSnapshot))
	s.authed("GET /api/v1/snapshots", s.withData(s.listSnapshots))
	s.authed("GET /api/v1/snapshots/{id}", s.withData(s.getSnapshot))
	s.authed("GET /api/v1/snapshots/{id}/content", s.withData(s.snapshotContent))
	s.authed("POST /api/v1/snapshots/{id}/restore", s.withData(s.restoreStream))
	s.authed("GET /api/v1/snapshots/{id}/zip", s.withData(s.downloadZip))
}

// errNoData answers the backup and restore API of a server without a data
// store.
var errNoData = fmt.Errorf("this server has no data store: %w", holdfast.ErrNotFound)

func (s *Server) withData(fn apiFunc) apiFunc {
	if s.snaps == nil {
		return func(http.ResponseWriter, *http.Request) error { return errNoData }
	}
	return fn
}

// backupStart is the body of POST /api/v1/backups: whose data, and from
// which endpoint (Device) or SaaS source (Source).
type backupStart struct {
	User   string         `json:"user"` // user id or email
	Device string         `json:"device,omitempty"`
	Source storage.Source `json:"source,omitempty"`
}

// backupTarget answers POST /api/v1/backups.
type backupTarget = snapshots.Target

// startBackup serves POST /api/v1/backups (backups.perform on the device
// or SaaS source). It changes nothing.
func (s *Server) startBackup(w http.ResponseWriter, r *http.Request) error {
	var in backupStart
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	t, err := s.snaps.Start(r.Context(), principal(r.Context()), in.User, in.Device, in.Source)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, t)
}

// chunkRefs is the body of POST /api/v1/backups/{id}/missing and its
// answer.
type chunkRefs struct {
	Refs []holdfast.ChunkRef `json:"refs"`
}

// missingChunks serves POST /api/v1/backups/{id}/missing (backups.perform):
// which of the refs the store lacks, so the client uploads only those.
func (s *Server) missingChunks(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	if err := s.snaps.Authorize(ctx, principal(ctx), r.PathValue("id")); err != nil {
		return err
	}
	var in chunkRefs
	if err := decodeJSONLimit(w, r, &in, maxRefsBody); err != nil {
		return err
	}
	missing, err := s.snaps.Missing(ctx, principal(ctx), r.PathValue("id"), in.Refs)
	if err != nil {
		return err
	}
	s.metrics.chunks.WithLabelValues("missing").Add(float64(len(missing)))
	s.metrics.chunks.WithLabelValues("present").Add(float64(len(in.Refs) - len(missing)))
	return writeJSON(w, http.StatusOK, chunkRefs{Refs: missing})
}

// putChunk serves PUT /api/v1/backups/{id}/chunks/{ref} (backups.perform):
// the body is the chunk's plaintext, application/octet-stream, with a
// Content-Length of at most storage.MaxChunk. A body shorter than its
// Content-Length, or one that does not hash to ref, is refused and
// nothing is stored.
func (s *Server) putChunk(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	if err := s.snaps.Authorize(ctx, principal(ctx), r.PathValue("id")); err != nil {
		return err
	}
	ref, err := holdfast.ParseChunkRef(r.PathValue("ref"))
	if err != nil {
		return err
	}
	buf := chunkBufs.Get().(*[]byte)
	defer chunkBufs.Put(buf)
	data, err := readChunk(w, r, *buf)
	if err != nil {
		return err
	}
	if err := s.snaps.PutChunk(ctx, principal(ctx), ref, data); err != nil {
		return err
	}
	s.metrics.chunkData.Add(float64(len(data)))
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// putChunks serves POST /api/v1/backups/{id}/chunks (backups.perform): a
// batch of chunks in one request, application/octet-stream, each framed as
// its 32-byte ref, its length (4 bytes, big-endian) and its plaintext. It
// answers 204 once every chunk is durable. A malformed body is 400, a
// chunk that does not hash to its ref 422, and then nothing of the batch
// is stored.
func (s *Server) putChunks(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	if err := s.snaps.Authorize(ctx, principal(ctx), r.PathValue("id")); err != nil {
		return err
	}
	buf := batchBufs.Get().(*[]byte)
	defer batchBufs.Put(buf)
	chunks, err := readChunkBatch(w, r, *buf)
	if err != nil {
		return err
	}
	if err := s.snaps.PutChunks(ctx, principal(ctx), chunks); err != nil {
		return err
	}
	var n int
	for _, c := range chunks {
		n += len(c.Data)
	}
	s.metrics.chunkData.Add(float64(n))
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// readChunkBatch reads and splits a batch upload's frames; the chunks'
// data lie in buf.
func readChunkBatch(w http.ResponseWriter, r *http.Request, buf []byte) ([]storage.Chunk, error) {
	if r.ContentLength > maxChunkBatch {
		return nil, fmt.Errorf("%w: a chunk batch is at most %d bytes, not %d", errTooLarge, maxChunkBatch, r.ContentLength)
	}
	n, err := io.ReadFull(http.MaxBytesReader(w, r.Body, maxChunkBatch), buf[:maxChunkBatch])
	var maxErr *http.MaxBytesError
	switch {
	case errors.As(err, &maxErr):
		return nil, fmt.Errorf("%w: a chunk batch is at most %d bytes", errTooLarge, maxChunkBatch)
	case err == nil:
		// Exactly the limit: more may follow.
		if _, err := r.Body.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: a chunk batch is at most %d bytes", errTooLarge, maxChunkBatch)
		}
	case !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF):
		return nil, fmt.Errorf("read chunk batch: %w", err)
	}
	body := buf[:n]
	var chunks []storage.Chunk
	for len(body) > 0 {
		if len(body) < chunkFrameHeader {
			return nil, fmt.Errorf("%w: chunk batch: frame %d is cut short", errBadRequest, len(chunks))
		}
		var c storage.Chunk
		copy(c.Ref[:], body)
		size := binary.BigEndian.Uint32(body[32:])
		body = body[chunkFrameHeader:]
		if size == 0 || size > storage.MaxChunk || int(size) > len(body) {
			return nil, fmt.Errorf("%w: chunk batch: frame %d: a chunk is 1 to %d bytes and within the body, not %d", errBadRequest, len(chunks), storage.MaxChunk, size)
		}
		c.Data, body = body[:size], body[size:]
		chunks = append(chunks, c)
	}
	if len(chunks) == 0 {
		return nil, fmt.Errorf("%w: chunk batch: no chunk", errBadRequest)
	}
	return chunks, nil
}

// batchBufs holds batch upload buffers; the store keeps no reference to
// a batch's data once PutChunks returns.
var batchBufs = sync.Pool{New: func() any { b := make([]byte, maxChunkBatch); return &b }}

// readChunk reads a chunk body of exactly its Content-Length into buf.
func readChunk(w http.ResponseWriter, r *http.Request, buf []byte) ([]byte, error) {
	switch {
	case r.ContentLength < 0:
		return nil, fmt.Errorf("%w: a chunk upload needs a Content-Length", errBadRequest)
	case r.ContentLength == 0:
		return nil, fmt.Errorf("%w: a chunk is 1 to %d bytes, not empty", errBadRequest, storage.MaxChunk)
	case r.ContentLength > storage.MaxChunk:
		return nil, fmt.Errorf("%w: a chunk is 1 to %d bytes, not %d", errTooLarge, storage.MaxChunk, r.ContentLength)
	}
	data := buf[:r.ContentLength]
	if _, err := io.ReadFull(http.MaxBytesReader(w, r.Body, r.ContentLength), data); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: chunk body truncated (fewer than %d bytes)", errBadRequest, r.ContentLength)
		}
		return nil, fmt.Errorf("read chunk: %w", err)
	}
	return data, nil
}

// chunkBufs holds upload buffers: PutChunk keeps no reference to the
// plaintext once it returns, so a buffer serves one upload after another.
var chunkBufs = sync.Pool{New: func() any { b := make([]byte, storage.MaxChunk); return &b }}

// snapshotCommit is the body of POST /api/v1/backups/{id}/snapshots.
type snapshotCommit = snapshots.Commit

// commitSnapshot serves POST /api/v1/backups/{id}/snapshots
// (backups.perform): it stores the snapshot if the store has every chunk
// it names, and otherwise answers 422 listing the missing refs in the
// error's fields, storing nothing. No snapshot is stored without its
// audit record (503).
func (s *Server) commitSnapshot(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	if err := s.snaps.Authorize(ctx, principal(ctx), r.PathValue("id")); err != nil {
		return err
	}
	var in snapshotCommit
	if err := decodeJSONLimit(w, r, &in, maxManifestBody); err != nil {
		return err
	}
	snap, err := s.snaps.Commit(ctx, principal(ctx), r.PathValue("id"), in)
	if err != nil {
		return err
	}
	s.metrics.snapshots.Inc()
	return writeJSON(w, http.StatusCreated, snap)
}

// listSnapshots serves GET /api/v1/snapshots?user_id=&device_id=&source=
// (restores.view on each snapshot's device): one page (limit, cursor),
// oldest first, without items. user_id (a user id, or an email) is
// required.
func (s *Server) listSnapshots(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	page, err := pageOf(q)
	if err != nil {
		return err
	}
	got, err := s.snaps.ListSnapshots(r.Context(), principal(r.Context()), snapshots.Filter{User: q.Get("user_id"),
		DeviceID: q.Get("device_id"), Source: storage.Source(q.Get("source"))}, page)
	if err != nil {
		return err
	}
	return writePage(w, "snapshots", got)
}

// getSnapshot serves GET /api/v1/snapshots/{id} (restores.view): the
// snapshot with its items, without chunk refs; ?prefix= keeps the items
// whose path starts with it.
func (s *Server) getSnapshot(w http.ResponseWriter, r *http.Request) error {
	sn, err := s.snaps.Get(r.Context(), principal(r.Context()), r.PathValue("id"), r.URL.Query().Get("prefix"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, sn)
}

// snapshotContent serves GET /api/v1/snapshots/{id}/content?path=
// (restores.manage and user_data.download, which the user's privacy
// setting may refuse): the item's bytes, with Range, If-Modified-Since and
// a strong ETag (a snapshot never changes).
func (s *Server) snapshotContent(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	sn, item, err := s.snaps.Open(ctx, principal(ctx), r.PathValue("id"), r.URL.Query().Get("path"), r.Header.Get("Range") == "")
	if err != nil {
		return err
	}
	defer item.Close()
	ct := item.ContentType()
	if ct == "" {
		ct = "application/octet-stream"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("ETag", `"`+sn.ID+`"`)
	w.Header().Set("Cache-Control", "private, no-transform")
	// A read error after the headers are out can only cut the body short
	// (the client sees fewer bytes than Content-Length); it is logged.
	rd := &readRecorder{ReadSeeker: item}
	http.ServeContent(w, r, "", item.ModTime(), rd)
	if rd.err != nil && ctx.Err() == nil {
		s.log.LogAttrs(ctx, slog.LevelError, "stream snapshot item", slog.String("request_id", requestIDFrom(ctx)),
			slog.String("snapshot", sn.ID), slog.String("error", rd.err.Error()))
	}
	return nil
}

// readRecorder remembers the first read error other than io.EOF, which
// http.ServeContent drops.
type readRecorder struct {
	io.ReadSeeker
	err error
}

func (r *readRecorder) Read(p []byte) (int, error) {
	n, err := r.ReadSeeker.Read(p)
	if err != nil && err != io.EOF && r.err == nil {
		r.err = err
	}
	return n, err
}
