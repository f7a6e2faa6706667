package storage

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/holdfast/holdfast"
)

// Source is what a snapshot backs up.
type Source string

// Sources. A device snapshot is an endpoint's files; the others are a SaaS
// source of the user.
const (
	SourceDevice   Source = "device"
	SourceMail     Source = "mail"
	SourceCalendar Source = "calendar"
	SourceContacts Source = "contacts"
	SourceFiles    Source = "files"
)

// Valid reports whether s is one of the sources.
func (s Source) Valid() bool {
	switch s {
	case SourceDevice, SourceMail, SourceCalendar, SourceContacts, SourceFiles:
		return true
	}
	return false
}

// Item is one file, message, event or contact of a snapshot. Its content is
// the concatenation of its chunks' plaintext: for mail the original RFC 5322
// bytes, for events and contacts the .ics, .vcf or Graph JSON as received.
type Item struct {
	// Path is unique within the snapshot: the file path, or for mail,
	// events and contacts a path under their folder.
	Path        string `json:"path"`
	Folder      string `json:"folder,omitempty"`
	ContentType string `json:"content_type,omitempty"`
	Size        int64  `json:"size"`
	// Created and Modified are the source's times; Deleted is set when the
	// item was deleted at the source and is kept for retention or holds.
	Created  time.Time `json:"created,omitzero"`
	Modified time.Time `json:"modified,omitzero"`
	Deleted  time.Time `json:"deleted,omitzero"`
	// Mode is a file's permission bits (0 when the source has none, as
	// SaaS items do); a restore gives the file these bits back.
	Mode uint32 `json:"mode,omitempty"`
	// Type is ItemFile ("", a file, message, event or contact),
	// ItemDir (a directory) or ItemSymlink (a symbolic link to Link).
	// Directories and links have no content.
	Type   string              `json:"type,omitempty"`
	Link   string              `json:"link,omitempty"`
	Chunks []holdfast.ChunkRef `json:"chunks,omitempty"`
}

// Item types. Only a file has content.
const (
	ItemFile    = ""
	ItemDir     = "dir"
	ItemSymlink = "symlink"
)

// IsFile reports whether the item is a file (has content), not a
// directory or link.
func (it Item) IsFile() bool { return it.Type == ItemFile }

// checkType adds the problems of an item's type and link to v.
func (it Item) checkType(v *holdfast.ValidationError, f string) {
	switch it.Type {
	case ItemFile, ItemDir:
		if it.Link != "" {
			v.Add(f+".link", "only a symlink has a link target")
		}
	case ItemSymlink:
		if it.Link == "" || len(it.Link) > 4096 || !utf8.ValidString(it.Link) || strings.ContainsRune(it.Link, 0) {
			v.Add(f+".link", "a symlink's target: required, at most 4096 bytes of UTF-8 without NUL")
		}
	default:
		v.Add(f+".type", "must be empty (a file), dir or symlink, not %q", it.Type)
	}
	if !it.IsFile() && it.Size != 0 {
		v.Add(f+".size", "a %s has no content", it.Type)
	}
}

// Snapshot is an immutable manifest of one backup of one source of a user.
type Snapshot struct {
	// ID is assigned by CommitSnapshot; IDs sort by commit time.
	ID        string `json:"id"`
	AccountID string `json:"account_id"`
	UserID    string `json:"user_id"`
	Source    Source `json:"source"`
	Device    string `json:"device"` // the device name, or the SaaS source's name
	// DeviceID is the metadata store's device (endpoint or SaaS source)
	// the snapshot backs up, when the server knows it.
	DeviceID  string    `json:"device_id,omitempty"`
	Time      time.Time `json:"time"` // when the backup ran; CommitSnapshot's clock when zero
	ItemCount int       `json:"item_count"`
	Size      int64     `json:"size"` // sum of item sizes
	// Items are set by CommitSnapshot's input and Snapshot, not by
	// Snapshots.
	Items []Item `json:"items,omitempty"`
}

// snapRecord is what a snapshot blob holds: the header, and the chunks of
// the JSON item list (stored like data, so unchanged manifests deduplicate).
type snapRecord struct {
	Snapshot
	Manifest     []holdfast.ChunkRef `json:"manifest"`
	ManifestSize int64               `json:"manifest_size"`
}

// SnapshotFilter narrows Snapshots and Forget. AccountID is required; zero
// fields do not filter.
type SnapshotFilter struct {
	AccountID string
	UserID    string
	Source    Source
	Device    string
	DeviceID  string
	Since     time.Time // Time >= Since
	Until     time.Time // Time < Until
	// DeviceIDs, when not nil, keeps only the snapshots of these devices
	// ("" keeps the snapshots whose device is not recorded): the devices a
	// caller may see, so that a page and its total count only those.
	DeviceIDs []string
}

func (f SnapshotFilter) match(s Snapshot) bool {
	return (f.UserID == "" || s.UserID == f.UserID) &&
		(f.Source == "" || s.Source == f.Source) &&
		(f.Device == "" || s.Device == f.Device) &&
		(f.DeviceID == "" || s.DeviceID == f.DeviceID) &&
		(f.Since.IsZero() || !s.Time.Before(f.Since)) &&
		(f.Until.IsZero() || s.Time.Before(f.Until)) &&
		(f.DeviceIDs == nil || slices.Contains(f.DeviceIDs, s.DeviceID))
}

// maxMissingNamed is how many refs a MissingChunksError's message names;
// Refs holds them all.
const maxMissingNamed = 5

// MissingChunksError refuses a snapshot that names chunks the store does
// not have; the client uploads Refs and commits again. It matches
// holdfast.ErrInvalid.
type MissingChunksError struct {
	Refs []holdfast.ChunkRef
}

func (e *MissingChunksError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "invalid input: snapshot names %d chunks the store does not have:", len(e.Refs))
	for i, r := range e.Refs {
		if i == maxMissingNamed {
			fmt.Fprintf(&b, " and %d more", len(e.Refs)-i)
			break
		}
		b.WriteString(" " + r.String())
	}
	return b.String()
}

// Is makes errors.Is(err, holdfast.ErrInvalid) true.
func (e *MissingChunksError) Is(target error) bool { return target == holdfast.ErrInvalid }

const snapMagic = "HFSNAP01"

func snapName(account, id string) string { return "snapshots/" + account + "/" + id }

func validateSnapshot(snap *Snapshot) error {
	var v holdfast.ValidationError
	if !validID(snap.AccountID) {
		v.Add("account_id", "must be 1 to 128 of A-Z a-z 0-9 . _ -")
	}
	if snap.UserID == "" || len(snap.UserID) > 256 || !utf8.ValidString(snap.UserID) {
		v.Add("user_id", "required, at most 256 bytes of UTF-8")
	}
	if !snap.Source.Valid() {
		v.Add("source", "must be device, mail, calendar, contacts or files, not %q", snap.Source)
	}
	if snap.Device == "" || len(snap.Device) > 256 || !utf8.ValidString(snap.Device) {
		v.Add("device", "required (the device or source name), at most 256 bytes of UTF-8")
	}
	if len(snap.DeviceID) > 256 || !utf8.ValidString(snap.DeviceID) {
		v.Add("device_id", "at most 256 bytes of UTF-8")
	}
	paths := make(map[string]bool, len(snap.Items))
	for i, it := range snap.Items {
		if len(v.Fields) >= 20 {
			v.Add("items", "more problems not listed")
			break
		}
		f := fmt.Sprintf("items[%d]", i)
		switch {
		case it.Path == "" || len(it.Path) > 4096 || !utf8.ValidString(it.Path) || strings.ContainsRune(it.Path, 0):
			v.Add(f+".path", "required, at most 4096 bytes of UTF-8 without NUL")
		case paths[it.Path]:
			v.Add(f+".path", "%q appears twice", it.Path)
		}
		paths[it.Path] = true
		if it.Size < 0 || (it.Size == 0) != (len(it.Chunks) == 0) {
			v.Add(f+".size", "must be 0 with no chunks, or positive with chunks")
		}
		if slices.Contains(it.Chunks, holdfast.ChunkRef{}) {
			v.Add(f+".chunks", "the zero ref names no chunk")
		}
		it.checkType(&v, f)
	}
	return v.Err()
}

// CommitSnapshot stores snap (AccountID, UserID, Source, Device, Time and
// Items set) and returns it with ID, Time, ItemCount and Size set.
//
// Every chunk it names must have been stored with PutChunk: otherwise it
// returns a *MissingChunksError listing them (ErrInvalid) and stores
// nothing. Item sizes must equal the sum of their chunks' sizes
// (ErrInvalid). When CommitSnapshot returns nil, the snapshot and all its
// chunks are durable.
//
// A commit with Time set is idempotent: committing again the same user,
// source, device, Time and items returns the snapshot stored the first
// time and stores nothing (publish is not called).
func (s *Store) CommitSnapshot(ctx context.Context, snap Snapshot) (Snapshot, error) {
	return s.CommitSnapshotWith(ctx, snap, nil)
}

// CommitSnapshotWith is CommitSnapshot that lets publish decide whether
// the snapshot is stored. Once everything the snapshot names is durable,
// publish is called with the snapshot as it will be stored (ID, Time,
// ItemCount and Size set, no Items) and write, which stores it; publish
// calls write at most once and returns its error. A publish that returns
// an error without writing stores nothing, and the error is returned. The
// server writes the snapshot's audit record in a transaction and calls
// write before committing it, so no snapshot is stored without its record
// (audit-or-refuse). A nil publish just writes.
func (s *Store) CommitSnapshotWith(ctx context.Context, snap Snapshot, publish func(sn Snapshot, write func() error) error) (Snapshot, error) {
	snap.ID, snap.ItemCount, snap.Size = "", len(snap.Items), 0
	if err := validateSnapshot(&snap); err != nil {
		return Snapshot{}, err
	}
	a, err := s.account(ctx, snap.AccountID, true)
	if err != nil {
		return Snapshot{}, err
	}
	var refs []holdfast.ChunkRef
	for _, it := range snap.Items {
		refs = append(refs, it.Chunks...)
		snap.Size += it.Size
	}
	refs = dedupRefs(refs)

	a.gc.RLock()
	defer a.gc.RUnlock()
	// Other processes' Prunes: see coord.go.
	marker, err := s.beginCommit(ctx, a)
	if err != nil {
		return Snapshot{}, err
	}
	defer s.dropMarker(ctx, marker)
	missing, err := s.makeDurable(ctx, a, refs)
	if err != nil {
		return Snapshot{}, err
	}
	if len(missing) > 0 {
		if err := s.writeFailure(); err != nil {
			// The chunks were accepted, then their pack could not be
			// written: the cause, not the client, is at fault.
			return Snapshot{}, fmt.Errorf("storage: %d chunks could not be stored: %w", len(missing), err)
		}
		return Snapshot{}, &MissingChunksError{Refs: missing}
	}
	if err := checkItemSizes(a, snap.Items); err != nil {
		return Snapshot{}, err
	}

	now := s.now().UTC()
	timed := !snap.Time.IsZero()
	if !timed {
		snap.Time = now
	}
	snap.Time = snap.Time.UTC()
	snap.ID = now.Format("20060102T150405.000000000Z") + "-" + randHex(4)
	keys := a.getKeys()
	rec, err := s.storeManifest(ctx, a, keys, snap)
	if err != nil {
		return Snapshot{}, err
	}
	if err := s.hook("commit.chunks-durable"); err != nil {
		return Snapshot{}, err
	}
	if timed {
		if dup, ok, err := s.committed(ctx, a, rec); err != nil || ok {
			dup.Items = snap.Items
			return dup, err
		}
	}
	write := func() error { return s.writeRecord(ctx, a, keys, rec) }
	if publish == nil {
		err = write()
	} else {
		err = publish(rec.Snapshot, write)
	}
	if err != nil {
		return Snapshot{}, err
	}
	a.snapMu.Lock()
	a.snaps[snap.ID] = rec
	a.snapMu.Unlock()
	return snap, nil
}

// checkItemSizes refuses items whose size is not what their (durable)
// chunks hold, naming at most 20 of them.
func checkItemSizes(a *account, items []Item) error {
	var v holdfast.ValidationError
	a.mu.Lock()
	defer a.mu.Unlock()
	for i, it := range items {
		var sum int64
		for _, r := range it.Chunks {
			sum += int64(a.index[r].entry().rawLen)
		}
		if sum != it.Size && len(v.Fields) < 20 {
			v.Add(fmt.Sprintf("items[%d].size", i), "is %d but its chunks hold %d bytes", it.Size, sum)
		}
	}
	return v.Err()
}

// storeManifest stores snap's items as a chunked manifest, durable, and
// returns the snapshot's record naming it (without the items).
func (s *Store) storeManifest(ctx context.Context, a *account, keys *accountKeys, snap Snapshot) (snapRecord, error) {
	items := snap.Items
	if items == nil {
		items = []Item{}
	}
	manifest, err := json.Marshal(items)
	if err != nil {
		return snapRecord{}, fmt.Errorf("storage: encode manifest: %w", err)
	}
	rec := snapRecord{Snapshot: snap, ManifestSize: int64(len(manifest))}
	rec.Items = nil
	err = keys.chunker.Split(bytes.NewReader(manifest), func(ref holdfast.ChunkRef, data []byte) error {
		rec.Manifest = append(rec.Manifest, ref)
		return s.putChunk(ctx, a, ref, data)
	})
	if err != nil {
		return snapRecord{}, err
	}
	if missing, err := s.makeDurable(ctx, a, rec.Manifest); err != nil || len(missing) > 0 {
		return snapRecord{}, fmt.Errorf("storage: manifest not durable (%d chunks missing): %w", len(missing), errors.Join(err, ErrDamaged))
	}
	return rec, nil
}

// committed returns the snapshot already stored for the same commit as
// rec: same user, source, device and time as the client gave it, and the
// same items. A client that sends a commit again because its answer was
// lost (the server died or a proxy dropped it) gets the snapshot it made,
// not a second one.
func (s *Store) committed(ctx context.Context, a *account, rec snapRecord) (Snapshot, bool, error) {
	recs, err := s.records(ctx, a)
	if err != nil {
		return Snapshot{}, false, err
	}
	for _, r := range recs {
		if r.UserID == rec.UserID && r.Source == rec.Source && r.Device == rec.Device && r.DeviceID == rec.DeviceID &&
			r.Time.Equal(rec.Time) && r.ManifestSize == rec.ManifestSize && slices.Equal(r.Manifest, rec.Manifest) {
			return r.Snapshot, true, nil
		}
	}
	return Snapshot{}, false, nil
}

// writeRecord seals and writes a snapshot's record blob.
func (s *Store) writeRecord(ctx context.Context, a *account, keys *accountKeys, rec snapRecord) error {
	name := snapName(a.id, rec.ID)
	blob, err := s.sealRecord(keys, name, rec)
	if err != nil {
		return err
	}
	if err := s.blobs.Put(ctx, name, bytes.NewReader(blob), int64(len(blob))); err != nil {
		return fmt.Errorf("storage: write snapshot: %w", err)
	}
	return s.hook("commit.snapshot-written")
}

func (s *Store) sealRecord(keys *accountKeys, name string, rec snapRecord) ([]byte, error) {
	js, err := json.Marshal(rec)
	if err != nil {
		return nil, fmt.Errorf("storage: encode snapshot: %w", err)
	}
	out := []byte(snapMagic)
	out = binary.LittleEndian.AppendUint32(out, keys.current)
	return seal(keys.data[keys.current], out, js, []byte("holdfast snapshot\x00"+name)), nil
}

func (s *Store) readRecord(ctx context.Context, a *account, name string) (snapRecord, error) {
	var rec snapRecord
	b, err := s.readBlob(ctx, name, 64<<20)
	if err != nil {
		return rec, err
	}
	if len(b) < len(snapMagic)+4 || string(b[:len(snapMagic)]) != snapMagic {
		return rec, fmt.Errorf("%w: snapshot %s: not a snapshot blob", ErrDamaged, name)
	}
	id := binary.LittleEndian.Uint32(b[len(snapMagic):])
	aead := s.keysFor(ctx, a, id).data[id]
	if aead == nil {
		return rec, fmt.Errorf("%w: snapshot %s: sealed with an unknown key", ErrDamaged, name)
	}
	js, err := unseal(aead, b[len(snapMagic)+4:], []byte("holdfast snapshot\x00"+name))
	if err != nil {
		return rec, fmt.Errorf("%w: snapshot %s: %v", ErrDamaged, name, err)
	}
	if err := json.Unmarshal(js, &rec); err != nil {
		return rec, fmt.Errorf("%w: snapshot %s: %v", ErrDamaged, name, err)
	}
	if rec.AccountID != a.id || "snapshots/"+a.id+"/"+rec.ID != name {
		return rec, fmt.Errorf("%w: snapshot %s: names itself %s/%s", ErrDamaged, name, rec.AccountID, rec.ID)
	}
	return rec, nil
}

// records returns every snapshot of the account, oldest first, reading
// those not cached.
func (s *Store) records(ctx context.Context, a *account) ([]snapRecord, error) {
	var names []string
	prefix := "snapshots/" + a.id + "/"
	if err := s.blobs.List(ctx, prefix, func(name string, _ int64) error {
		names = append(names, name)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("storage: list snapshots: %w", err)
	}
	out := make([]snapRecord, 0, len(names))
	listed := make(map[string]bool, len(names))
	for _, name := range names {
		id := strings.TrimPrefix(name, prefix)
		listed[id] = true
		a.snapMu.Lock()
		rec, ok := a.snaps[id]
		a.snapMu.Unlock()
		if !ok {
			var err error
			rec, err = s.readRecord(ctx, a, name)
			if errors.Is(err, holdfast.ErrNotFound) {
				continue // forgotten since listing
			}
			if err != nil {
				return nil, err
			}
			a.snapMu.Lock()
			a.snaps[id] = rec
			a.snapMu.Unlock()
		}
		out = append(out, rec)
	}
	a.snapMu.Lock()
	for id := range a.snaps {
		if !listed[id] {
			delete(a.snaps, id)
		}
	}
	a.snapMu.Unlock()
	slices.SortFunc(out, func(x, y snapRecord) int {
		return cmp.Or(x.Time.Compare(y.Time), strings.Compare(x.ID, y.ID))
	})
	return out, nil
}

// PageSnapshots returns one page of the snapshots matching f, oldest first
// (then by ID), without items, with the total matching f. The cursor is
// the last snapshot's time and ID; a cursor it did not return is a
// validation error naming the cursor.
func (s *Store) PageSnapshots(ctx context.Context, f SnapshotFilter, p holdfast.Page) (holdfast.Paged[Snapshot], error) {
	out := holdfast.Paged[Snapshot]{Items: []Snapshot{}}
	if err := p.Validate(); err != nil {
		return out, err
	}
	after, err := snapshotAfter(p.Cursor)
	if err != nil {
		return out, err
	}
	all, err := s.Snapshots(ctx, f)
	if err != nil {
		return out, err
	}
	out.Total = len(all)
	// all is in (Time, ID) order: the page starts after the cursor's key.
	start := 0
	if after.ID != "" {
		start = sort.Search(len(all), func(i int) bool {
			return cmp.Or(all[i].Time.Compare(after.Time), strings.Compare(all[i].ID, after.ID)) > 0
		})
	}
	end := min(start+p.Size(), len(all))
	out.Items = append(out.Items, all[start:end]...)
	if end < len(all) {
		last := all[end-1]
		out.Next = holdfast.EncodeCursor(last.Time.UTC().Format(time.RFC3339Nano), last.ID)
	}
	return out, nil
}

// snapshotAfter decodes a snapshot page's cursor into the key it names
// (the zero Snapshot for none).
func snapshotAfter(cursor string) (Snapshot, error) {
	if cursor == "" {
		return Snapshot{}, nil
	}
	key, err := holdfast.DecodeCursor(cursor)
	if err != nil {
		return Snapshot{}, err
	}
	if len(key) == 2 && key[1] != "" {
		if t, err := time.Parse(time.RFC3339Nano, key[0]); err == nil {
			return Snapshot{Time: t, ID: key[1]}, nil
		}
	}
	var v holdfast.ValidationError
	v.Add("cursor", "is not a cursor this list returned")
	return Snapshot{}, &v
}

// Snapshots lists the snapshots matching f, oldest first, without items.
// f.AccountID is required (ErrInvalid). A snapshot that cannot be read
// fails the listing with ErrDamaged.
func (s *Store) Snapshots(ctx context.Context, f SnapshotFilter) ([]Snapshot, error) {
	a, err := s.account(ctx, f.AccountID, false)
	if errors.Is(err, errNoAccount) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	recs, err := s.records(ctx, a)
	if err != nil {
		return nil, err
	}
	var out []Snapshot
	for _, r := range recs {
		if f.match(r.Snapshot) {
			out = append(out, r.Snapshot)
		}
	}
	return out, nil
}

func (s *Store) record(ctx context.Context, account, id string) (*account, snapRecord, error) {
	if !validID(id) {
		return nil, snapRecord{}, fmt.Errorf("storage: snapshot %q: %w", id, holdfast.ErrNotFound)
	}
	a, err := s.account(ctx, account, false)
	if errors.Is(err, errNoAccount) {
		return nil, snapRecord{}, fmt.Errorf("storage: snapshot %s: %w", id, holdfast.ErrNotFound)
	}
	if err != nil {
		return nil, snapRecord{}, err
	}
	a.snapMu.Lock()
	rec, ok := a.snaps[id]
	a.snapMu.Unlock()
	if ok {
		return a, rec, nil
	}
	rec, err = s.readRecord(ctx, a, snapName(account, id))
	if errors.Is(err, holdfast.ErrNotFound) {
		return nil, snapRecord{}, fmt.Errorf("storage: snapshot %s: %w", id, holdfast.ErrNotFound)
	}
	if err != nil {
		return nil, snapRecord{}, err
	}
	a.snapMu.Lock()
	a.snaps[id] = rec
	a.snapMu.Unlock()
	return a, rec, nil
}

// Snapshot returns one snapshot with its items. Missing: ErrNotFound.
func (s *Store) Snapshot(ctx context.Context, account, id string) (Snapshot, error) {
	a, rec, err := s.record(ctx, account, id)
	if err != nil {
		return Snapshot{}, err
	}
	ci, err := s.items(ctx, a, rec)
	if err != nil {
		return Snapshot{}, err
	}
	snap := rec.Snapshot
	snap.Items = slices.Clone(ci.items)
	return snap, nil
}

// cachedItems is a decoded manifest. Immutable.
type cachedItems struct {
	id     string
	items  []Item
	byPath map[string]int
}

const itemCacheSize = 4

func (s *Store) items(ctx context.Context, a *account, rec snapRecord) (*cachedItems, error) {
	a.snapMu.Lock()
	for i, c := range a.items {
		if c.id == rec.ID {
			// Move to the front: least recently used goes first.
			a.items = append(append([]cachedItems{c}, a.items[:i]...), a.items[i+1:]...)
			a.snapMu.Unlock()
			return &c, nil
		}
	}
	a.snapMu.Unlock()
	manifest := make([]byte, 0, rec.ManifestSize)
	for _, r := range rec.Manifest {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		data, err := s.readChunk(ctx, a, r)
		if err != nil {
			return nil, fmt.Errorf("storage: snapshot %s manifest: %w", rec.ID, err)
		}
		manifest = append(manifest, data...)
	}
	c := cachedItems{id: rec.ID}
	if err := json.Unmarshal(manifest, &c.items); err != nil {
		return nil, fmt.Errorf("%w: snapshot %s manifest: %v", ErrDamaged, rec.ID, err)
	}
	c.byPath = make(map[string]int, len(c.items))
	for i, it := range c.items {
		c.byPath[it.Path] = i
	}
	a.snapMu.Lock()
	a.items = append([]cachedItems{c}, a.items...)
	if len(a.items) > itemCacheSize {
		a.items = a.items[:itemCacheSize]
	}
	a.snapMu.Unlock()
	return &c, nil
}
