package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/storage"
)

// Bounds of the backup and restore bodies.
const (
	// maxRefsPerCall bounds a "which chunks are missing" question; a
	// client asks in batches.
	maxRefsPerCall = 50_000
	// maxRefsBody fits maxRefsPerCall hex refs in JSON.
	maxRefsBody = maxRefsPerCall*70 + 4096
	// maxManifestBody bounds a snapshot commit: about 250,000 items.
	maxManifestBody = 64 << 20
	// maxMissingListed bounds the missing refs a refused commit lists; its
	// message gives the count, and the client asks which are missing.
	maxMissingListed = 5
)

// Workloads of the SaaS sources: mail, calendars and contacts come from
// the user's Exchange Online mailbox, files from OneDrive.
var sourceWorkloads = map[storage.Source]string{
	storage.SourceMail:     "exchange_online",
	storage.SourceCalendar: "exchange_online",
	storage.SourceContacts: "exchange_online",
	storage.SourceFiles:    "onedrive",
}

// registerSnapshotRoutes registers the backup and restore API. Without a
// data store (Options.Data) its routes answer 404.
func (s *Server) registerSnapshotRoutes() {
	s.authed("POST /api/v1/backups", s.withData(s.startBackup))
	s.authed("POST /api/v1/backups/{id}/missing", s.withData(s.missingChunks))
	s.authed("PUT /api/v1/backups/{id}/chunks/{ref}", s.withData(s.putChunk))
	s.authed("POST /api/v1/backups/{id}/snapshots", s.withData(s.commitSnapshot))
	s.authed("GET /api/v1/snapshots", s.withData(s.listSnapshots))
	s.authed("GET /api/v1/snapshots/{id}", s.withData(s.getSnapshot))
	s.authed("GET /api/v1/snapshots/{id}/content", s.withData(s.snapshotContent))
}

// errNoData answers the backup and restore API of a server without a data
// store.
var errNoData = fmt.Errorf("this server has no data store: %w", holdfast.ErrNotFound)

func (s *Server) withData(fn apiFunc) apiFunc {
	if s.data == nil {
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

// backupTarget answers POST /api/v1/backups: what the client sends its
// chunks and snapshot to, and the account's chunker key, without which it
// cannot cut or name chunks as the store does.
type backupTarget struct {
	UserID     string         `json:"user_id"`
	DeviceID   string         `json:"device_id"`
	Device     string         `json:"device"`
	Source     storage.Source `json:"source"`
	ChunkerKey []byte         `json:"chunker_key"`
}

// startBackup serves POST /api/v1/backups (backups.perform on the device
// or SaaS source). It changes nothing.
func (s *Server) startBackup(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	var in backupStart
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	acct := principal(ctx).AccountID
	var v holdfast.ValidationError
	if strings.TrimSpace(in.User) == "" {
		v.Add("user", "is required (a user id or email)")
	}
	switch {
	case (in.Device == "") == (in.Source == ""):
		v.Add("device", "give exactly one of device (an endpoint's name) and source")
	case in.Source != "" && sourceWorkloads[in.Source] == "":
		v.Add("source", "must be mail, calendar, contacts or files, not %q", in.Source)
	}
	if err := v.Err(); err != nil {
		return err
	}
	u, err := s.findUser(ctx, acct, strings.TrimSpace(in.User))
	if err != nil {
		return err
	}
	d, err := s.findSource(ctx, u, in.Device, in.Source)
	if err != nil {
		return err
	}
	if _, err := s.decide(ctx, check{right: "backups.perform", resource: deviceEntity(d.ID, nil)}); err != nil {
		return err
	}
	if err := backupEnabled(d); err != nil {
		return err
	}
	if err := userAcceptsBackups(u); err != nil {
		return err
	}
	key, err := s.data.ChunkerKey(ctx, acct)
	if err != nil {
		return err
	}
	src := in.Source
	if src == "" {
		src = storage.SourceDevice
	}
	return writeJSON(w, http.StatusOK, backupTarget{UserID: u.ID, DeviceID: d.ID, Device: d.Name, Source: src, ChunkerKey: key[:]})
}

// findUser resolves a user id or email in the account. Missing:
// ErrNotFound.
func (s *Server) findUser(ctx context.Context, acct, idOrEmail string) (holdfast.User, error) {
	if strings.Contains(idOrEmail, "@") {
		return s.store.GetUserByEmail(ctx, acct, idOrEmail)
	}
	return s.store.GetUser(ctx, acct, idOrEmail)
}

// findSource returns the user's endpoint named device, or the user's SaaS
// source holding src.
func (s *Server) findSource(ctx context.Context, u holdfast.User, device string, src storage.Source) (holdfast.Device, error) {
	devices, err := s.store.ListDevices(ctx, u.AccountID, u.ID)
	if err != nil {
		return holdfast.Device{}, err
	}
	workload := sourceWorkloads[src]
	for _, d := range devices {
		if device != "" && d.Kind == holdfast.DeviceEndpoint && d.Name == device {
			return d, nil
		}
		if workload != "" && d.Kind == holdfast.DeviceSaaS && d.Workload == workload {
			return d, nil
		}
	}
	if device != "" {
		return holdfast.Device{}, fmt.Errorf("user %s has no endpoint named %q (register it with POST /api/v1/devices): %w", u.Email, device, holdfast.ErrNotFound)
	}
	return holdfast.Device{}, fmt.Errorf("user %s has no %s source for %s (register it with POST /api/v1/devices): %w", u.Email, workload, src, holdfast.ErrNotFound)
}

// backupDevice authorizes backups.perform on the device in the path and
// returns it.
func (s *Server) backupDevice(ctx context.Context, id string) (holdfast.Device, error) {
	if _, err := s.decide(ctx, check{right: "backups.perform", resource: deviceEntity(id, nil)}); err != nil {
		return holdfast.Device{}, err
	}
	d, err := s.store.GetDevice(ctx, principal(ctx).AccountID, id)
	if err != nil {
		return d, err
	}
	return d, backupEnabled(d)
}

// backupEnabled refuses a backup of a device that is not enabled.
func backupEnabled(d holdfast.Device) error {
	if d.State != deviceEnabled {
		return fmt.Errorf("%w: device %q is %s; enable it to back it up", holdfast.ErrConflict, d.Name, d.State)
	}
	return nil
}

// acceptsBackups refuses a backup of a device whose user accepts none.
func (s *Server) acceptsBackups(ctx context.Context, d holdfast.Device) error {
	u, err := s.store.GetUser(ctx, d.AccountID, d.UserID)
	if err != nil {
		return fmt.Errorf("user of device %s: %w", d.ID, err)
	}
	return userAcceptsBackups(u)
}

// userAcceptsBackups refuses new backups of a user who is not active: a
// preserved user's data stays protected, but nothing new is backed up
// until the user is activated again.
func userAcceptsBackups(u holdfast.User) error {
	if u.State != holdfast.UserActive {
		return fmt.Errorf("%w: user %s is %s and accepts no new backups; activate the user to back up again", holdfast.ErrConflict, u.Email, u.State)
	}
	return nil
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
	if _, err := s.backupDevice(ctx, r.PathValue("id")); err != nil {
		return err
	}
	var in chunkRefs
	if err := decodeJSONLimit(w, r, &in, maxRefsBody); err != nil {
		return err
	}
	if len(in.Refs) > maxRefsPerCall {
		return invalidField("refs", "at most %d refs per call, not %d", maxRefsPerCall, len(in.Refs))
	}
	missing, err := s.data.MissingChunks(ctx, principal(ctx).AccountID, in.Refs)
	if err != nil {
		return err
	}
	s.metrics.chunks.WithLabelValues("missing").Add(float64(len(missing)))
	s.metrics.chunks.WithLabelValues("present").Add(float64(len(in.Refs) - len(missing)))
	if missing == nil {
		missing = []holdfast.ChunkRef{}
	}
	return writeJSON(w, http.StatusOK, chunkRefs{Refs: missing})
}

// putChunk serves PUT /api/v1/backups/{id}/chunks/{ref} (backups.perform):
// the body is the chunk's plaintext, application/octet-stream, with a
// Content-Length of at most storage.MaxChunk. A body shorter than its
// Content-Length, or one that does not hash to ref, is refused and
// nothing is stored.
func (s *Server) putChunk(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	if _, err := s.backupDevice(ctx, r.PathValue("id")); err != nil {
		return err
	}
	ref, err := holdfast.ParseChunkRef(r.PathValue("ref"))
	if err != nil {
		return err
	}
	if r.ContentLength < 0 {
		return fmt.Errorf("%w: a chunk upload needs a Content-Length", errBadRequest)
	}
	if r.ContentLength == 0 {
		return fmt.Errorf("%w: a chunk is 1 to %d bytes, not empty", errBadRequest, storage.MaxChunk)
	}
	if r.ContentLength > storage.MaxChunk {
		return fmt.Errorf("%w: a chunk is 1 to %d bytes, not %d", errTooLarge, storage.MaxChunk, r.ContentLength)
	}
	buf := chunkBufs.Get().(*[]byte)
	defer chunkBufs.Put(buf)
	data := (*buf)[:r.ContentLength]
	if _, err := io.ReadFull(http.MaxBytesReader(w, r.Body, r.ContentLength), data); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return fmt.Errorf("%w: chunk body truncated (fewer than %d bytes)", errBadRequest, r.ContentLength)
		}
		return fmt.Errorf("read chunk: %w", err)
	}
	if err := s.data.PutChunk(ctx, principal(ctx).AccountID, ref, data); err != nil {
		return err
	}
	s.metrics.chunkData.Add(float64(len(data)))
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// chunkBufs holds upload buffers: PutChunk keeps no reference to the
// plaintext once it returns, so a buffer serves one upload after another.
var chunkBufs = sync.Pool{New: func() any { b := make([]byte, storage.MaxChunk); return &b }}

// snapshotCommit is the body of POST /api/v1/backups/{id}/snapshots.
type snapshotCommit struct {
	Source storage.Source `json:"source"`
	Time   time.Time      `json:"time,omitzero"`
	Items  []storage.Item `json:"items"`
}

// commitSnapshot serves POST /api/v1/backups/{id}/snapshots
// (backups.perform): it stores the snapshot if the store has every chunk
// it names, and otherwise answers 422 listing the missing refs in the
// error's fields, storing nothing.
func (s *Server) commitSnapshot(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	d, err := s.backupDevice(ctx, r.PathValue("id"))
	if err != nil {
		return err
	}
	var in snapshotCommit
	if err := decodeJSONLimit(w, r, &in, maxManifestBody); err != nil {
		return err
	}
	if len(in.Items) == 0 {
		// It would become the newest snapshot and hide the last real one.
		return invalidField("items", "a snapshot with nothing in it is not stored: the source holds no files or items")
	}
	if err := s.acceptsBackups(ctx, d); err != nil {
		return err
	}
	want := storage.SourceDevice
	if d.Kind == holdfast.DeviceSaaS {
		if sourceWorkloads[in.Source] != d.Workload {
			return invalidField("source", "%q is not a source of the %s workload", in.Source, d.Workload)
		}
		want = in.Source
	} else if in.Source != "" && in.Source != storage.SourceDevice {
		return invalidField("source", "an endpoint's snapshots have source device, not %q", in.Source)
	}
	snap, err := s.data.CommitSnapshot(ctx, storage.Snapshot{
		AccountID: d.AccountID, UserID: d.UserID, Source: want, Device: d.Name, DeviceID: d.ID,
		Time: in.Time, Items: in.Items,
	})
	var me *storage.MissingChunksError
	if errors.As(err, &me) {
		// One field per missing ref (the message is the ref), so a client
		// can upload them and commit again.
		var v holdfast.ValidationError
		for i, ref := range me.Refs {
			if i == maxMissingListed {
				v.Add("", "%d more chunks are missing", len(me.Refs)-i)
				break
			}
			v.Add("chunks", "%s", ref)
		}
		return fmt.Errorf("snapshot names %d chunks the store does not have: %w", len(me.Refs), &v)
	}
	if err != nil {
		return err
	}
	s.metrics.snapshots.Inc()
	s.auditData(ctx, "snapshot.create", snap.ID, map[string]any{
		"user_id": snap.UserID, "device_id": d.ID, "source": snap.Source, "items": snap.ItemCount, "size": snap.Size,
	})
	return writeJSON(w, http.StatusCreated, snap)
}

// auditData records a successful data operation. The data is already
// stored (or sent), so a failed audit write is logged, not returned.
func (s *Server) auditData(ctx context.Context, action, id string, detail any) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), auditTimeout)
	defer cancel()
	rec, err := s.auditRecord(ctx, change{action: action, resourceType: "snapshot"}, id, holdfast.Decision{}, holdfast.OutcomeSuccess, detail)
	if err == nil {
		err = s.store.AppendAudit(ctx, &rec)
	}
	if err != nil {
		s.log.LogAttrs(ctx, slog.LevelError, "audit data operation",
			slog.String("request_id", requestIDFrom(ctx)), slog.String("action", action), slog.String("error", err.Error()))
	}
}

// snapshotList is the body of GET /api/v1/snapshots.
type snapshotList struct {
	Snapshots []storage.Snapshot `json:"snapshots"`
}

// snapshotEntity is the resource a snapshot's data belongs to: its device,
// or its user when the device is not recorded.
func snapshotEntity(sn storage.Snapshot) holdfast.Entity {
	if sn.DeviceID != "" {
		return deviceEntity(sn.DeviceID, nil)
	}
	return userEntity(sn.UserID, nil)
}

// listSnapshots serves GET /api/v1/snapshots?user_id=&device_id=&source=
// (restores.view on each snapshot's device): oldest first, without items.
// user_id (a user id, or an email) is required.
func (s *Server) listSnapshots(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	q := r.URL.Query()
	f := storage.SnapshotFilter{AccountID: principal(ctx).AccountID, UserID: q.Get("user_id"),
		DeviceID: q.Get("device_id"), Source: storage.Source(q.Get("source"))}
	if f.UserID == "" {
		return fmt.Errorf("%w: user_id is required", errBadRequest)
	}
	if strings.Contains(f.UserID, "@") {
		u, err := s.findUser(ctx, f.AccountID, f.UserID)
		if err != nil {
			return err
		}
		f.UserID = u.ID
	}
	if f.Source != "" && !f.Source.Valid() {
		return fmt.Errorf("%w: source %q is not device, mail, calendar, contacts or files", errBadRequest, f.Source)
	}
	// The user must be one the caller may see restores of at all; this
	// also keeps the listing from telling which user ids exist.
	if _, err := s.decide(ctx, check{right: "restores.view", resource: userEntity(f.UserID, nil)}); err != nil {
		return err
	}
	all, err := s.data.Snapshots(ctx, f)
	if err != nil {
		return err
	}
	out := snapshotList{Snapshots: []storage.Snapshot{}}
	allowed := map[string]bool{} // by resource type and id
	for _, sn := range all {
		ent := snapshotEntity(sn)
		ok, seen := allowed[ent.Type+"/"+ent.ID]
		if !seen {
			if ok, err = s.allowed(ctx, check{right: "restores.view", resource: ent}); err != nil {
				return err
			}
			allowed[ent.Type+"/"+ent.ID] = ok
		}
		if ok {
			out.Snapshots = append(out.Snapshots, sn)
		}
	}
	return writeJSON(w, http.StatusOK, out)
}

// snapshotOf reads a snapshot's header (Snapshots with no items) and
// authorizes right on its device. A snapshot of another account is
// ErrNotFound like a missing one.
func (s *Server) snapshotOf(ctx context.Context, id string, rights ...string) (storage.Snapshot, error) {
	sn, err := s.data.Snapshot(ctx, principal(ctx).AccountID, id)
	if err != nil {
		return sn, err
	}
	for _, right := range rights {
		if _, err := s.decide(ctx, check{right: right, resource: snapshotEntity(sn)}); err != nil {
			return storage.Snapshot{}, err
		}
	}
	return sn, nil
}

// getSnapshot serves GET /api/v1/snapshots/{id} (restores.view): the
// snapshot with its items; ?prefix= keeps the items whose path starts
// with it.
func (s *Server) getSnapshot(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	sn, err := s.snapshotOf(ctx, r.PathValue("id"), "restores.view")
	if err != nil {
		return err
	}
	if prefix := r.URL.Query().Get("prefix"); prefix != "" {
		kept := sn.Items[:0]
		for _, it := range sn.Items {
			if strings.HasPrefix(it.Path, prefix) {
				kept = append(kept, it)
			}
		}
		sn.Items = kept
	}
	if sn.Items == nil {
		sn.Items = []storage.Item{}
	}
	// Chunk refs stay inside: the account's chunks are shared by all its
	// users, and a ref read here could be committed into a snapshot of
	// another device and downloaded from there, past this user's privacy
	// setting and the reader's scope. Clients restore through /content.
	for i := range sn.Items {
		sn.Items[i].Chunks = nil
	}
	return writeJSON(w, http.StatusOK, sn)
}

// snapshotContent serves GET /api/v1/snapshots/{id}/content?path=
// (restores.manage and user_data.download, which the user's privacy
// setting may refuse): the item's bytes, with Range, If-Modified-Since and
// a strong ETag (a snapshot never changes).
func (s *Server) snapshotContent(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	path := r.URL.Query().Get("path")
	if path == "" {
		return fmt.Errorf("%w: path is required", errBadRequest)
	}
	sn, err := s.snapshotOf(ctx, r.PathValue("id"), "restores.manage", "user_data.download")
	if err != nil {
		return err
	}
	item, err := s.data.OpenItem(ctx, sn.AccountID, sn.ID, path)
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
	if r.Header.Get("Range") == "" {
		s.auditData(ctx, "snapshot.download", sn.ID, map[string]any{"path": path, "user_id": sn.UserID})
	}
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
