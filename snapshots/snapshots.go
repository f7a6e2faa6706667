// Package snapshots is the backup and restore domain service: who may back
// up which device or SaaS source, which chunks a backup still has to
// upload, committing a snapshot (audit-or-refuse: no snapshot is stored
// without its snapshot.create record), and who may list, read and restore
// snapshots. The HTTP edge (server) decodes, calls one method and encodes.
package snapshots

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/change"
	"github.com/holdfast/holdfast/storage"
)

// Data is the part of the dedup store (storage.Store) the service uses;
// cmd/holdfast wires the concrete store.
type Data interface {
	ChunkerKey(ctx context.Context, account string) (storage.ChunkerKey, error)
	MissingChunks(ctx context.Context, account string, refs []holdfast.ChunkRef) ([]holdfast.ChunkRef, error)
	PutChunk(ctx context.Context, account string, ref holdfast.ChunkRef, plaintext []byte) error
	PutChunks(ctx context.Context, account string, chunks []storage.Chunk) error
	CommitSnapshotWith(ctx context.Context, snap storage.Snapshot, publish func(sn storage.Snapshot, write func() error) error) (storage.Snapshot, error)
	Snapshots(ctx context.Context, f storage.SnapshotFilter) ([]storage.Snapshot, error)
	PageSnapshots(ctx context.Context, f storage.SnapshotFilter, p holdfast.Page) (holdfast.Paged[storage.Snapshot], error)
	Snapshot(ctx context.Context, account, id string) (storage.Snapshot, error)
	OpenItem(ctx context.Context, account, snapID, path string) (*storage.ItemReader, error)
}

// Bounds of the backup calls.
const (
	// MaxRefsPerCall bounds a "which chunks are missing" question; a
	// client asks in batches.
	MaxRefsPerCall = 50_000
	// maxMissingListed bounds the missing refs a refused commit lists; its
	// message gives the count, and the client asks which are missing.
	maxMissingListed = 5
)

// Rights the service asks the engine for.
const (
	rightBackup   = "backups.perform"
	rightView     = "restores.view"
	rightRestore  = "restores.manage"
	rightDownload = "user_data.download"
)

// ResourceSnapshot is the audit resource type of snapshots.
const ResourceSnapshot = "snapshot"

// SourceWorkloads maps each SaaS source to its workload: mail, calendars
// and contacts come from the user's Exchange Online mailbox, files from
// OneDrive.
var SourceWorkloads = map[storage.Source]string{
	storage.SourceMail:     "exchange_online",
	storage.SourceCalendar: "exchange_online",
	storage.SourceContacts: "exchange_online",
	storage.SourceFiles:    "onedrive",
}

// Service is the backup and restore service. It is safe for concurrent use.
type Service struct {
	data    Data
	meta    holdfast.MetaStore
	changes *change.Runner
}

// New returns the service over data, deciding and auditing through
// changes (whose store is the metadata store).
func New(data Data, changes *change.Runner) *Service {
	return &Service{data: data, meta: changes.Store(), changes: changes}
}

// Target is what a backup client sends its chunks and snapshot to, and the
// account's chunker key, without which it cannot cut or name chunks as the
// store does.
type Target struct {
	UserID     string         `json:"user_id"`
	DeviceID   string         `json:"device_id"`
	Device     string         `json:"device"`
	Source     storage.Source `json:"source"`
	ChunkerKey []byte         `json:"chunker_key"`
	// Policy is the effective backup policy of the device: the folders,
	// exclusions and size limit a client obeys.
	Policy holdfast.BackupPolicy `json:"policy"`
}

// Start resolves whose data a backup is (user id or email) and from which
// endpoint (device name) or SaaS source, and checks that p may back it up
// (backups.perform on the device) and that it accepts backups. It changes
// nothing.
func (s *Service) Start(ctx context.Context, p holdfast.Principal, user, device string, src storage.Source) (Target, error) {
	var v holdfast.ValidationError
	user = strings.TrimSpace(user)
	if user == "" {
		v.Add("user", "is required (a user id or email)")
	}
	switch {
	case (device == "") == (src == ""):
		v.Add("device", "give exactly one of device (an endpoint's name) and source")
	case src != "" && SourceWorkloads[src] == "":
		v.Add("source", "must be mail, calendar, contacts or files, not %q", src)
	}
	if err := v.Err(); err != nil {
		return Target{}, err
	}
	u, err := s.findUser(ctx, p.AccountID, user)
	if err != nil {
		return Target{}, err
	}
	d, err := s.findSource(ctx, u, device, src)
	if err != nil {
		return Target{}, err
	}
	if _, err := s.changes.Decide(ctx, p, change.Check{Right: rightBackup, Resource: deviceEntity(d.ID)}); err != nil {
		return Target{}, err
	}
	if err := backupEnabled(d); err != nil {
		return Target{}, err
	}
	if err := userAcceptsBackups(u); err != nil {
		return Target{}, err
	}
	key, err := s.data.ChunkerKey(ctx, p.AccountID)
	if err != nil {
		return Target{}, err
	}
	pr, err := s.meta.GetProfile(ctx, u.AccountID, u.ProfileID)
	if err != nil {
		return Target{}, fmt.Errorf("profile of user %s: %w", u.ID, err)
	}
	if src == "" {
		src = storage.SourceDevice
	}
	return Target{UserID: u.ID, DeviceID: d.ID, Device: d.Name, Source: src, ChunkerKey: key[:], Policy: pr.Backup.Effective()}, nil
}

// Policy returns the effective backup policy of the device: its user's
// profile's (backups.perform, as the agent that backs it up asks).
func (s *Service) Policy(ctx context.Context, p holdfast.Principal, deviceID string) (holdfast.BackupPolicy, error) {
	if _, err := s.changes.Decide(ctx, p, change.Check{Right: rightBackup, Resource: deviceEntity(deviceID)}); err != nil {
		return holdfast.BackupPolicy{}, err
	}
	d, err := s.meta.GetDevice(ctx, p.AccountID, deviceID)
	if err != nil {
		return holdfast.BackupPolicy{}, err
	}
	u, err := s.meta.GetUser(ctx, p.AccountID, d.UserID)
	if err != nil {
		return holdfast.BackupPolicy{}, err
	}
	pr, err := s.meta.GetProfile(ctx, p.AccountID, u.ProfileID)
	if err != nil {
		return holdfast.BackupPolicy{}, err
	}
	return pr.Backup.Effective(), nil
}

// findUser resolves a user id or email in the account. Missing:
// ErrNotFound.
func (s *Service) findUser(ctx context.Context, acct, idOrEmail string) (holdfast.User, error) {
	if strings.Contains(idOrEmail, "@") {
		return s.meta.GetUserByEmail(ctx, acct, idOrEmail)
	}
	return s.meta.GetUser(ctx, acct, idOrEmail)
}

// findSource returns the user's endpoint named device, or the user's SaaS
// source holding src.
func (s *Service) findSource(ctx context.Context, u holdfast.User, device string, src storage.Source) (holdfast.Device, error) {
	devices, err := s.meta.ListDevices(ctx, u.AccountID, u.ID)
	if err != nil {
		return holdfast.Device{}, err
	}
	workload := SourceWorkloads[src]
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

// backupDevice authorizes backups.perform on the device and returns it.
func (s *Service) backupDevice(ctx context.Context, p holdfast.Principal, id string) (holdfast.Device, error) {
	if _, err := s.changes.Decide(ctx, p, change.Check{Right: rightBackup, Resource: deviceEntity(id)}); err != nil {
		return holdfast.Device{}, err
	}
	d, err := s.meta.GetDevice(ctx, p.AccountID, id)
	if err != nil {
		return d, err
	}
	return d, backupEnabled(d)
}

// deviceEnabled is the state of a device that takes backups.
const deviceEnabled = "enabled"

// backupEnabled refuses a backup of a device that is not enabled.
func backupEnabled(d holdfast.Device) error {
	if d.State != deviceEnabled {
		return fmt.Errorf("%w: device %q is %s; enable it to back it up", holdfast.ErrConflict, d.Name, d.State)
	}
	return nil
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

// Missing returns which of refs the store lacks for a backup of the
// device, so the client uploads only those (backups.perform).
func (s *Service) Missing(ctx context.Context, p holdfast.Principal, deviceID string, refs []holdfast.ChunkRef) ([]holdfast.ChunkRef, error) {
	if _, err := s.backupDevice(ctx, p, deviceID); err != nil {
		return nil, err
	}
	if len(refs) > MaxRefsPerCall {
		var v holdfast.ValidationError
		v.Add("refs", "at most %d refs per call, not %d", MaxRefsPerCall, len(refs))
		return nil, v.Err()
	}
	missing, err := s.data.MissingChunks(ctx, p.AccountID, refs)
	if missing == nil && err == nil {
		missing = []holdfast.ChunkRef{}
	}
	return missing, err
}

// Authorize checks that p may upload chunks for a backup of the device
// (backups.perform, an enabled device), before the caller reads the chunk.
func (s *Service) Authorize(ctx context.Context, p holdfast.Principal, deviceID string) error {
	_, err := s.backupDevice(ctx, p, deviceID)
	return err
}

// PutChunk stores one chunk of p's account; the caller has authorized the
// upload with Authorize. The store keeps no reference to data.
func (s *Service) PutChunk(ctx context.Context, p holdfast.Principal, ref holdfast.ChunkRef, data []byte) error {
	return s.data.PutChunk(ctx, p.AccountID, ref, data)
}

// PutChunks stores a batch of chunks of p's account, each checked against
// its ref before any is stored; the caller has authorized the upload with
// Authorize. It returns once all are durable.
func (s *Service) PutChunks(ctx context.Context, p holdfast.Principal, chunks []storage.Chunk) error {
	return s.data.PutChunks(ctx, p.AccountID, chunks)
}

// Commit is a snapshot as a backup client commits it.
type Commit struct {
	Source storage.Source `json:"source"`
	Time   time.Time      `json:"time,omitzero"`
	Items  []storage.Item `json:"items"`
}

// Commit stores the snapshot of the device if the store has every chunk it
// names (backups.perform); otherwise a validation error lists the missing
// refs (422) and nothing is stored. The snapshot.create audit record is
// written in a transaction that commits only once the snapshot is
// written: when the record cannot be written the snapshot is not stored
// (ErrUnavailable).
func (s *Service) Commit(ctx context.Context, p holdfast.Principal, deviceID string, in Commit) (storage.Snapshot, error) {
	d, err := s.backupDevice(ctx, p, deviceID)
	if err != nil {
		return storage.Snapshot{}, err
	}
	if len(in.Items) == 0 {
		// It would become the newest snapshot and hide the last real one.
		var v holdfast.ValidationError
		v.Add("items", "a snapshot with nothing in it is not stored: the source holds no files or items")
		return storage.Snapshot{}, v.Err()
	}
	u, err := s.meta.GetUser(ctx, d.AccountID, d.UserID)
	if err != nil {
		return storage.Snapshot{}, fmt.Errorf("user of device %s: %w", d.ID, err)
	}
	if err := userAcceptsBackups(u); err != nil {
		return storage.Snapshot{}, err
	}
	src, err := commitSource(d, in.Source)
	if err != nil {
		return storage.Snapshot{}, err
	}
	snap := storage.Snapshot{AccountID: d.AccountID, UserID: d.UserID, Source: src, Device: d.Name, DeviceID: d.ID,
		Time: in.Time, Items: in.Items}
	out, err := s.data.CommitSnapshotWith(ctx, snap, func(sn storage.Snapshot, write func() error) error {
		return s.meta.Tx(ctx, func(tx holdfast.MetaStore) error {
			if err := withinQuota(ctx, tx, u, d, sn.Size); err != nil {
				return err
			}
			rec := change.Record{Action: "snapshot.create", ResourceType: ResourceSnapshot, ResourceID: sn.ID,
				Outcome: holdfast.OutcomeSuccess, Detail: map[string]any{
					"user_id": sn.UserID, "device_id": d.ID, "source": sn.Source, "items": sn.ItemCount, "size": sn.Size}}
			if err := s.changes.Append(ctx, tx, p, rec); err != nil {
				return err
			}
			run := holdfast.BackupRun{At: s.changes.Now(), Result: holdfast.BackupSuccess, Committed: true, Bytes: sn.Size}
			if _, err := tx.RecordBackup(ctx, d.AccountID, d.ID, run); err != nil {
				return err
			}
			return write()
		})
	})
	if errors.Is(err, holdfast.ErrOverQuota) {
		s.recordRefused(ctx, d, err)
	}
	return out, missingError(err)
}

// withinQuota refuses (ErrOverQuota) a snapshot of size bytes of device d
// that would take user u's stored bytes (the newest snapshot of each of
// its devices) past the quota of u's profile.
func withinQuota(ctx context.Context, tx holdfast.MetaStore, u holdfast.User, d holdfast.Device, size int64) error {
	pr, err := tx.GetProfile(ctx, u.AccountID, u.ProfileID)
	if err != nil {
		return fmt.Errorf("profile of user %s: %w", u.ID, err)
	}
	quota := pr.Backup.QuotaBytes
	if quota <= 0 {
		return nil
	}
	used, err := tx.UserStoredBytes(ctx, u.AccountID, u.ID)
	if err != nil {
		return err
	}
	cur, err := tx.GetDevice(ctx, d.AccountID, d.ID)
	if err != nil {
		return err
	}
	if after := used - cur.Backup.StoredBytes + size; after > quota {
		return fmt.Errorf("%w: user %s would store %d bytes, over the quota of %d bytes of profile %q; nothing was stored",
			holdfast.ErrOverQuota, u.Email, after, quota, pr.Name)
	}
	return nil
}

// recordRefused writes a failed run for a commit the server refused,
// outside the refused transaction; a failure to write it is logged by
// nobody: the client was answered with the refusal.
func (s *Service) recordRefused(ctx context.Context, d holdfast.Device, cause error) {
	run := holdfast.BackupRun{At: s.changes.Now(), Result: holdfast.BackupFailed, Error: cause.Error()}
	_, _ = s.meta.RecordBackup(context.WithoutCancel(ctx), d.AccountID, d.ID, run)
}

// Report is a failed or partial run a backup client reports.
type Report struct {
	Result string `json:"result"` // failed or partial
	Error  string `json:"error"`
}

// maxReportError bounds the error text a client reports.
const maxReportError = 2000

// ReportRun records a failed run of a backup of the device, or that the
// snapshot it last committed is partial (some items could not be read),
// with the client's error (backups.perform), audited as backup.failed or
// backup.partial. A partial run needs a snapshot of the device.
func (s *Service) ReportRun(ctx context.Context, p holdfast.Principal, deviceID string, in Report) (holdfast.BackupStatus, error) {
	var v holdfast.ValidationError
	if in.Result != holdfast.BackupFailed && in.Result != holdfast.BackupPartial {
		v.Add("result", "must be %s or %s", holdfast.BackupFailed, holdfast.BackupPartial)
	}
	if in.Error = strings.TrimSpace(in.Error); in.Error == "" {
		v.Add("error", "is required: say what went wrong")
	} else if len(in.Error) > maxReportError || !utf8.ValidString(in.Error) {
		v.Add("error", "must be valid UTF-8 of at most %d bytes", maxReportError)
	}
	if err := v.Err(); err != nil {
		return holdfast.BackupStatus{}, err
	}
	var out holdfast.BackupStatus
	c := change.Change{Action: "backup." + in.Result, ResourceType: holdfast.ResourceDevice, ResourceID: deviceID,
		Checks: []change.Check{{Right: rightBackup, Resource: deviceEntity(deviceID)}}}
	_, err := s.changes.Apply(ctx, p, c, func(tx holdfast.MetaStore) (string, any, error) {
		d, err := tx.GetDevice(ctx, p.AccountID, deviceID)
		if err != nil {
			return "", nil, err
		}
		if in.Result == holdfast.BackupPartial && d.Backup.LastBackupAt == nil {
			return "", nil, fmt.Errorf("%w: device %q has no snapshot to be partial; report a failed run", holdfast.ErrConflict, d.Name)
		}
		out, err = tx.RecordBackup(ctx, p.AccountID, deviceID, holdfast.BackupRun{At: s.changes.Now(), Result: in.Result, Error: in.Error})
		return deviceID, map[string]any{"user_id": d.UserID, "error": in.Error}, err
	})
	return out, err
}

// commitSource checks the source a commit names against the device: an
// endpoint's snapshots are of source device, a SaaS source's of one of its
// workload's sources.
func commitSource(d holdfast.Device, src storage.Source) (storage.Source, error) {
	var v holdfast.ValidationError
	if d.Kind == holdfast.DeviceSaaS {
		if SourceWorkloads[src] != d.Workload {
			v.Add("source", "%q is not a source of the %s workload", src, d.Workload)
		}
		return src, v.Err()
	}
	if src != "" && src != storage.SourceDevice {
		v.Add("source", "an endpoint's snapshots have source device, not %q", src)
	}
	return storage.SourceDevice, v.Err()
}

// missingError turns a commit refused for missing chunks into one field
// per missing ref (the message is the ref), so a client can upload them
// and commit again.
func missingError(err error) error {
	var me *storage.MissingChunksError
	if !errors.As(err, &me) {
		return err
	}
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

// entity is the resource a snapshot's data belongs to: its device, or its
// user when the device is not recorded.
func entity(sn storage.Snapshot) holdfast.Entity {
	if sn.DeviceID != "" {
		return deviceEntity(sn.DeviceID)
	}
	return holdfast.Entity{Type: holdfast.ResourceUser, ID: sn.UserID}
}

func deviceEntity(id string) holdfast.Entity {
	return holdfast.Entity{Type: holdfast.ResourceDevice, ID: id}
}

// Filter narrows List: the user (an id or an email) is required.
type Filter struct {
	User     string
	DeviceID string
	Source   storage.Source
}

// ListSnapshots returns one page of the snapshots of the filter p may see
// (restores.view on each snapshot's device), oldest first, without items.
// A device's snapshots include those of the devices it replaced
// (holdfast.DeviceMapping), each still decided on its own device.
// The user must be one p may see restores of at all, which also keeps the
// listing from telling which user ids exist. The devices p may see narrow
// the store's listing, so the cursor and the total count only those.
func (s *Service) ListSnapshots(ctx context.Context, p holdfast.Principal, f Filter, page holdfast.Page) (holdfast.Paged[storage.Snapshot], error) {
	empty := holdfast.Paged[storage.Snapshot]{Items: []storage.Snapshot{}}
	sf := storage.SnapshotFilter{AccountID: p.AccountID, UserID: f.User, DeviceID: f.DeviceID, Source: f.Source}
	var v holdfast.ValidationError
	if sf.UserID == "" {
		v.Add("user_id", "is required")
	}
	if sf.Source != "" && !sf.Source.Valid() {
		v.Add("source", "%q is not device, mail, calendar, contacts or files", sf.Source)
	}
	if err := v.Err(); err != nil {
		return empty, err
	}
	if err := page.Validate(); err != nil {
		return empty, err
	}
	if strings.Contains(sf.UserID, "@") {
		u, err := s.findUser(ctx, sf.AccountID, sf.UserID)
		if err != nil {
			return empty, err
		}
		sf.UserID = u.ID
	}
	if _, err := s.changes.Decide(ctx, p, change.Check{Right: rightView, Resource: holdfast.Entity{Type: holdfast.ResourceUser, ID: sf.UserID}}); err != nil {
		return empty, err
	}
	var err error
	if sf.DeviceIDs, err = s.visibleDevices(ctx, p, sf.UserID); err != nil {
		return empty, err
	}
	if sf.DeviceID != "" {
		// A device's history includes the devices it replaced.
		lineage, err := holdfast.DeviceLineage(ctx, s.meta, p.AccountID, sf.DeviceID)
		if err != nil {
			return empty, err
		}
		sf.DeviceIDs = slices.DeleteFunc(sf.DeviceIDs, func(id string) bool { return !slices.Contains(lineage, id) })
		sf.DeviceID = ""
	}
	return s.data.PageSnapshots(ctx, sf, page)
}

// visibleDevices returns the user's devices p may see restores of, and ""
// for snapshots whose device is not recorded (decided on the user, which
// the caller has already allowed). A user's devices are few; a snapshot
// of a device since removed is seen by nobody, as entity decides.
func (s *Service) visibleDevices(ctx context.Context, p holdfast.Principal, userID string) ([]string, error) {
	devices, err := s.meta.ListDevices(ctx, p.AccountID, userID)
	if err != nil {
		return nil, err
	}
	out := []string{""}
	for _, d := range devices {
		ok, err := s.changes.Allowed(ctx, p, change.Check{Right: rightView, Resource: deviceEntity(d.ID)})
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, d.ID)
		}
	}
	return out, nil
}

// snapshotOf reads a snapshot and authorizes rights on its device. A
// snapshot of another account is ErrNotFound like a missing one.
func (s *Service) snapshotOf(ctx context.Context, p holdfast.Principal, id string, rights ...string) (storage.Snapshot, error) {
	sn, err := s.data.Snapshot(ctx, p.AccountID, id)
	if err != nil {
		return sn, err
	}
	for _, right := range rights {
		if _, err := s.changes.Decide(ctx, p, change.Check{Right: right, Resource: entity(sn)}); err != nil {
			return storage.Snapshot{}, err
		}
	}
	return sn, nil
}

// Get returns a snapshot with the items whose path starts with prefix
// (restores.view). Chunk refs stay inside: the account's chunks are shared
// by all its users, and a ref read here could be committed into a snapshot
// of another device and downloaded from there, past this user's privacy
// setting and the reader's scope. Clients restore through Open.
func (s *Service) Get(ctx context.Context, p holdfast.Principal, id, prefix string) (storage.Snapshot, error) {
	sn, err := s.snapshotOf(ctx, p, id, rightView)
	if err != nil {
		return sn, err
	}
	kept := sn.Items[:0]
	for _, it := range sn.Items {
		if strings.HasPrefix(it.Path, prefix) {
			it.Chunks = nil
			kept = append(kept, it)
		}
	}
	sn.Items = kept
	if sn.Items == nil {
		sn.Items = []storage.Item{}
	}
	return sn, nil
}

// Open opens one item of a snapshot for a restore (restores.manage and
// user_data.download, which the user's privacy setting may refuse). With
// audit, a snapshot.download record is written (a range request of a
// download already recorded passes false). The caller closes the reader.
func (s *Service) Open(ctx context.Context, p holdfast.Principal, id, path string, audit bool) (storage.Snapshot, *storage.ItemReader, error) {
	if path == "" {
		var v holdfast.ValidationError
		v.Add("path", "is required")
		return storage.Snapshot{}, nil, v.Err()
	}
	sn, err := s.snapshotOf(ctx, p, id, rightRestore, rightDownload)
	if err != nil {
		return sn, nil, err
	}
	item, err := s.data.OpenItem(ctx, sn.AccountID, sn.ID, path)
	if err != nil {
		return sn, nil, err
	}
	if audit {
		s.changes.Log(ctx, p, change.Record{Action: "snapshot.download", ResourceType: ResourceSnapshot, ResourceID: sn.ID,
			Outcome: holdfast.OutcomeSuccess, Detail: map[string]any{"path": path, "user_id": sn.UserID}})
	}
	return sn, item, nil
}

// Download is the items of one snapshot a caller may download at once (a
// restore, or a folder as a zip), with the reader of each.
type Download struct {
	Snapshot storage.Snapshot
	Items    []storage.Item // in path order, chunk refs included
	data     Data
}

// Open opens one of the download's items. The caller closes the reader.
func (d *Download) Open(ctx context.Context, it storage.Item) (*storage.ItemReader, error) {
	return d.data.OpenItem(ctx, d.Snapshot.AccountID, d.Snapshot.ID, it.Path)
}

// MaxDownloadPaths bounds the paths one download names; a client restoring
// more asks in several requests.
const MaxDownloadPaths = 100_000

// Download authorizes a download of many items of a snapshot at once
// (restores.manage and user_data.download, which the user's privacy
// setting may refuse) and writes one snapshot.download record for it,
// naming the prefix or how many paths. The items are those named in
// paths, or when paths is empty all under prefix (directories and links
// included); a path the snapshot does not hold is refused (422) before
// anything is recorded.
func (s *Service) Download(ctx context.Context, p holdfast.Principal, id, prefix string, paths []string) (*Download, error) {
	if len(paths) > MaxDownloadPaths {
		var v holdfast.ValidationError
		v.Add("paths", "at most %d paths per download, not %d", MaxDownloadPaths, len(paths))
		return nil, v.Err()
	}
	sn, err := s.snapshotOf(ctx, p, id, rightRestore, rightDownload)
	if err != nil {
		return nil, err
	}
	d := &Download{Snapshot: sn, data: s.data}
	if len(paths) == 0 {
		for _, it := range sn.Items {
			if strings.HasPrefix(it.Path, prefix) {
				d.Items = append(d.Items, it)
			}
		}
	} else if d.Items, err = pick(sn.Items, paths); err != nil {
		return nil, err
	}
	d.Snapshot.Items = nil
	detail := map[string]any{"user_id": sn.UserID, "items": len(d.Items)}
	if len(paths) == 0 {
		detail["prefix"] = prefix
	}
	s.changes.Log(ctx, p, change.Record{Action: "snapshot.download", ResourceType: ResourceSnapshot, ResourceID: sn.ID,
		Outcome: holdfast.OutcomeSuccess, Detail: detail})
	return d, nil
}

// pick returns the items at paths, in the order of paths.
func pick(items []storage.Item, paths []string) ([]storage.Item, error) {
	byPath := make(map[string]int, len(items))
	for i, it := range items {
		byPath[it.Path] = i
	}
	out := make([]storage.Item, 0, len(paths))
	for i, p := range paths {
		j, ok := byPath[p]
		if !ok {
			var v holdfast.ValidationError
			v.Add(fmt.Sprintf("paths[%d]", i), "the snapshot holds no item %q", p)
			return nil, v.Err()
		}
		out = append(out, items[j])
	}
	return out, nil
}
