package legalhold

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/change"
	"github.com/holdfast/holdfast/storage"
)

// The rights of legal holds (rights-and-roles.md section 7). The engine
// decides every call on the hold as a resource, so a legal administrator
// reaches only holds of its legal hold types.
const (
	RightView         = "legal_holds.view"
	RightCreateManage = "legal_holds.create_manage"
	RightDelete       = "legal_holds.delete"
	RightManageTypes  = "legal_hold_types.manage"
)

// readRights are the rights any one of which lets an administrator read a
// hold (W06: listing needs view or create and manage).
var readRights = []string{RightView, RightCreateManage}

// Entity is a legal hold as a decision resource.
func Entity(id string, props map[string]any) holdfast.Entity {
	return holdfast.Entity{Type: holdfast.ResourceLegalHold, ID: id, Properties: props}
}

// Info is a hold with its read-only facts (W24): custodian and device
// counts.
type Info struct {
	holdfast.LegalHold
	CustodianCount int `json:"custodian_count"`
	DeviceCount    int `json:"device_count"`
}

// info counts the hold's custodians and their devices.
func (s *Service) info(ctx context.Context, h holdfast.LegalHold) (Info, error) {
	cs, err := s.store.ListCustodians(ctx, h.AccountID, h.ID)
	if err != nil {
		return Info{}, err
	}
	if h.Sources == nil {
		h.Sources = []string{}
	}
	devices := 0
	for _, c := range cs {
		ds, err := s.store.ListDevices(ctx, h.AccountID, c.UserID)
		if err != nil {
			return Info{}, err
		}
		devices += len(ds)
	}
	return Info{LegalHold: h, CustodianCount: len(cs), DeviceCount: devices}, nil
}

// canRead decides whether p may read the hold under any of the read
// rights; without any it returns the first refusal.
func (s *Service) canRead(ctx context.Context, p holdfast.Principal, id string) error {
	return s.changes.AnyOf(ctx, p, Entity(id, nil), readRights...)
}

// HoldQuery narrows ListHolds. Zero fields do not filter.
type HoldQuery struct {
	TypeID string
}

// ListHolds returns one page of the holds p may read, by name: the query
// runs inside p's legal hold types, so the cursor and the total count only
// those, and holds of other types are left out as if they did not exist.
// Without any read right at all it is the refusal.
func (s *Service) ListHolds(ctx context.Context, p holdfast.Principal, q HoldQuery, page holdfast.Page) (holdfast.Paged[Info], error) {
	out := holdfast.Paged[Info]{Items: []Info{}}
	if err := page.Validate(); err != nil {
		return out, err
	}
	rights, err := s.held(ctx, p, holdfast.Entity{Type: holdfast.ResourceAccount, ID: p.AccountID}, readRights)
	if err != nil {
		return out, err
	}
	reach, err := s.typeReach(ctx, p, rights, func(t string) holdfast.Entity { return Entity("", map[string]any{"type_id": t}) })
	if err != nil {
		return out, err
	}
	got, err := s.store.PageHolds(ctx, p.AccountID, holdfast.HoldFilter{TypeIDs: narrow(reach, q.TypeID)}, page)
	if err != nil {
		return out, err
	}
	out.Next, out.Total = got.Next, got.Total
	for _, h := range got.Items {
		v, err := s.info(ctx, h)
		if err != nil {
			return holdfast.Paged[Info]{Items: []Info{}}, err
		}
		out.Items = append(out.Items, v)
	}
	return out, nil
}

// Get returns one hold p may read.
func (s *Service) Get(ctx context.Context, p holdfast.Principal, id string) (Info, error) {
	if err := s.canRead(ctx, p, id); err != nil {
		return Info{}, err
	}
	h, err := s.store.GetHold(ctx, p.AccountID, id)
	if err != nil {
		return Info{}, err
	}
	return s.info(ctx, h)
}

// Input is a hold as a caller creates or edits it. Absent (nil) members
// keep their value on an edit. From and To are dates (2026-01-31, both
// included) or RFC 3339 times.
type Input struct {
	Name             *string   `json:"name"`
	Description      *string   `json:"description"`
	TypeID           *string   `json:"type_id"`
	DataAccess       *string   `json:"data_access"`
	From             *string   `json:"from"`
	To               *string   `json:"to"`
	DeletedFilesOnly *bool     `json:"deleted_files_only"`
	Sources          *[]string `json:"sources"`
	// Custodians are emails to place on a new hold (create only).
	Custodians []string `json:"custodians"`
}

// apply merges in into h and validates the result.
func (s *Service) apply(in Input, h *holdfast.LegalHold) error {
	var v holdfast.ValidationError
	setIf(&h.Name, in.Name)
	setIf(&h.Description, in.Description)
	setIf(&h.TypeID, in.TypeID)
	if in.DataAccess != nil {
		h.DataAccess = *in.DataAccess
		if k, err := ParseDataAccess(h.DataAccess); err == nil && k != holdfast.AccessDateRange && in.From == nil && in.To == nil {
			h.From, h.To = nil, nil // leaving a date range drops it
		}
	}
	if in.From != nil {
		h.From = bound(&v, "from", *in.From, false)
	}
	if in.To != nil {
		h.To = bound(&v, "to", *in.To, true)
	}
	setIf(&h.DeletedFilesOnly, in.DeletedFilesOnly)
	if in.Sources != nil {
		h.Sources = slices.Clone(*in.Sources)
	}
	if len(in.Custodians) > MaxCustodiansPerCall {
		v.Add("custodians", "at most %d emails; add more afterwards or import CSV files", MaxCustodiansPerCall)
	}
	var nv *holdfast.ValidationError
	if errors.As(Normalize(h, s.known), &nv) {
		v.Fields = append(v.Fields, nv.Fields...)
	}
	return v.Err()
}

func setIf[T any](dst *T, src *T) {
	if src != nil {
		*dst = *src
	}
}

// bound parses one end of a date range ("" clears it), reporting a bad
// value on field.
func bound(v *holdfast.ValidationError, field, s string, end bool) *time.Time {
	if s == "" {
		return nil
	}
	t, err := ParseBound(s, end)
	if err != nil {
		v.Add(field, "%q is not a date like 2026-01-31 or a time like 2026-01-31T12:00:00Z", s)
		return nil
	}
	return &t
}

// checkTypeExists refuses a type id the account does not have.
func checkTypeExists(ctx context.Context, tx holdfast.MetaStore, accountID, typeID string) error {
	if typeID == "" {
		return nil
	}
	_, err := tx.GetHoldType(ctx, accountID, typeID)
	if errors.Is(err, holdfast.ErrNotFound) {
		var v holdfast.ValidationError
		v.Add("type_id", "%q is not a legal hold type of the account", typeID)
		return v.Err()
	}
	return err
}

// Create makes a hold (legal_holds.create_manage on a hold of the
// requested type), with its first custodians when in names any; their
// report is returned too.
func (s *Service) Create(ctx context.Context, p holdfast.Principal, in Input) (Info, *CustodianReport, error) {
	now := s.changes.Now()
	h := holdfast.LegalHold{AccountID: p.AccountID, CreatedBy: p.AdminID, CreatedAt: now, UpdatedAt: now}
	if err := s.apply(in, &h); err != nil {
		return Info{}, nil, err
	}
	c := change.Change{Action: "legal_hold.create", ResourceType: holdfast.ResourceLegalHold,
		Checks: []change.Check{{Right: RightCreateManage, Resource: Entity("", map[string]any{"type_id": h.TypeID})}}}
	var rep *CustodianReport
	_, err := s.changes.Apply(ctx, p, c, func(tx holdfast.MetaStore) (string, any, error) {
		if err := checkTypeExists(ctx, tx, p.AccountID, h.TypeID); err != nil {
			return "", nil, err
		}
		if err := tx.CreateHold(ctx, &h); err != nil {
			return "", nil, fmt.Errorf("legal hold %q: %w", h.Name, err)
		}
		detail := map[string]any{"name": h.Name, "type_id": h.TypeID, "data_access": h.DataAccess,
			"from": h.From, "to": h.To, "deleted_files_only": h.DeletedFilesOnly, "sources": h.Sources}
		if len(in.Custodians) > 0 {
			got, err := AddCustodians(ctx, tx, p.AccountID, h.ID, in.Custodians, p.AdminID, now)
			if err != nil {
				return "", nil, err
			}
			rep, detail["custodians"] = &got, got
		}
		return h.ID, detail, nil
	})
	if err != nil {
		return Info{}, nil, err
	}
	v, err := s.info(ctx, h)
	return v, rep, err
}

// Update edits a hold (legal_holds.create_manage; moving it to another
// type needs that type in scope too). An edit based on a hold changed
// meanwhile is ErrConflict. Counsel must reconnect to see a changed data
// access rule (W32): nothing is cached across WebDAV requests.
func (s *Service) Update(ctx context.Context, p holdfast.Principal, id string, in Input) (Info, error) {
	if in.Custodians != nil {
		var v holdfast.ValidationError
		v.Add("custodians", "use POST /api/v1/legal-holds/{id}/custodians to change custodians")
		return Info{}, v.Err()
	}
	cur, err := s.store.GetHold(ctx, p.AccountID, id)
	if err != nil {
		// The engine answers first, so that a missing hold and a hold out
		// of scope look alike to a caller without the right.
		if _, derr := s.changes.Decide(ctx, p, change.Check{Right: RightCreateManage, Resource: Entity(id, nil)}); derr != nil {
			return Info{}, derr
		}
		return Info{}, err
	}
	h := cur
	if err := s.apply(in, &h); err != nil {
		return Info{}, err
	}
	var props map[string]any
	if h.TypeID != cur.TypeID {
		props = map[string]any{"new_type_id": h.TypeID}
	}
	c := change.Change{Action: "legal_hold.update", ResourceType: holdfast.ResourceLegalHold, ResourceID: id,
		Checks: []change.Check{{Right: RightCreateManage, Resource: Entity(id, props)}}}
	_, err = s.changes.Apply(ctx, p, c, func(tx holdfast.MetaStore) (string, any, error) {
		now, err := tx.GetHold(ctx, p.AccountID, id)
		if err != nil {
			return "", nil, err
		}
		if !now.UpdatedAt.Equal(cur.UpdatedAt) {
			return "", nil, fmt.Errorf("%w: legal hold %q changed meanwhile; read it again", holdfast.ErrConflict, cur.Name)
		}
		if err := checkTypeExists(ctx, tx, p.AccountID, h.TypeID); err != nil {
			return "", nil, err
		}
		h.UpdatedAt = s.changes.Now()
		if err := tx.UpdateHold(ctx, &h); err != nil {
			return "", nil, fmt.Errorf("legal hold %s: %w", id, err)
		}
		return id, diff(cur, h), nil
	})
	if err != nil {
		return Info{}, err
	}
	return s.info(ctx, h)
}

// diff is the audit detail of an edit: each changed field, from and to.
func diff(a, b holdfast.LegalHold) map[string]any {
	d := map[string]any{}
	add := func(name string, from, to any, changed bool) {
		if changed {
			d[name] = map[string]any{"from": from, "to": to}
		}
	}
	add("name", a.Name, b.Name, a.Name != b.Name)
	add("description", a.Description, b.Description, a.Description != b.Description)
	add("type_id", a.TypeID, b.TypeID, a.TypeID != b.TypeID)
	add("data_access", a.DataAccess, b.DataAccess, a.DataAccess != b.DataAccess)
	add("from", a.From, b.From, !timePtrEqual(a.From, b.From))
	add("to", a.To, b.To, !timePtrEqual(a.To, b.To))
	add("deleted_files_only", a.DeletedFilesOnly, b.DeletedFilesOnly, a.DeletedFilesOnly != b.DeletedFilesOnly)
	add("sources", a.Sources, b.Sources, !slices.Equal(a.Sources, b.Sources))
	return d
}

func timePtrEqual(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}

// Delete removes a hold (legal_holds.delete). Its custodians are released
// from this hold (they stay held by any other) and its WebDAV credential
// goes with it.
func (s *Service) Delete(ctx context.Context, p holdfast.Principal, id string) error {
	c := change.Change{Action: "legal_hold.delete", ResourceType: holdfast.ResourceLegalHold, ResourceID: id,
		Checks: []change.Check{{Right: RightDelete, Resource: Entity(id, nil)}}}
	_, err := s.changes.Apply(ctx, p, c, func(tx holdfast.MetaStore) (string, any, error) {
		h, err := tx.GetHold(ctx, p.AccountID, id)
		if err != nil {
			return "", nil, err
		}
		cs, err := tx.ListCustodians(ctx, p.AccountID, id)
		if err != nil {
			return "", nil, err
		}
		released := make([]string, 0, len(cs))
		for _, c := range cs {
			released = append(released, c.UserID)
		}
		if err := tx.DeleteHold(ctx, p.AccountID, id); err != nil {
			return "", nil, fmt.Errorf("legal hold %s: %w", id, err)
		}
		return id, map[string]any{"name": h.Name, "type_id": h.TypeID, "released_user_ids": released}, nil
	})
	return err
}

// CustodianInfo is one custodian as the custodian list shows it (W24):
// the user's email, name and state, its number of data sources (devices
// and SaaS accounts) and the size of its newest backup of each.
type CustodianInfo struct {
	holdfast.Custodian
	Email          string             `json:"email"`
	Name           string             `json:"name"`
	State          holdfast.UserState `json:"state"`
	DataSources    int                `json:"data_sources"`
	CollectedBytes int64              `json:"collected_bytes"`
}

// ListCustodians returns one page of the hold's custodians in the order
// they were added, if p may read the hold; a page holds at most
// MaxCustodiansPerCall of them (W24), whatever its limit.
func (s *Service) ListCustodians(ctx context.Context, p holdfast.Principal, id string, page holdfast.Page) (holdfast.Paged[CustodianInfo], error) {
	out := holdfast.Paged[CustodianInfo]{Items: []CustodianInfo{}}
	if err := page.Validate(); err != nil {
		return out, err
	}
	if err := s.canRead(ctx, p, id); err != nil {
		return out, err
	}
	if _, err := s.store.GetHold(ctx, p.AccountID, id); err != nil {
		return out, err
	}
	page.Limit = min(page.Size(), MaxCustodiansPerCall)
	got, err := s.store.PageCustodians(ctx, p.AccountID, id, page)
	if err != nil {
		return out, err
	}
	out.Next, out.Total = got.Next, got.Total
	for _, c := range got.Items {
		v, err := s.custodianInfo(ctx, p.AccountID, c)
		if err != nil {
			return holdfast.Paged[CustodianInfo]{Items: []CustodianInfo{}}, err
		}
		out.Items = append(out.Items, v)
	}
	return out, nil
}

func (s *Service) custodianInfo(ctx context.Context, acct string, c holdfast.Custodian) (CustodianInfo, error) {
	u, err := s.store.GetUser(ctx, acct, c.UserID)
	if err != nil {
		return CustodianInfo{}, fmt.Errorf("user of custodian %s: %w", c.UserID, err)
	}
	v := CustodianInfo{Custodian: c, Email: u.Email, Name: u.Name, State: u.State}
	v.DataSources, v.CollectedBytes, err = s.collected(ctx, acct, u.ID)
	return v, err
}

// collected counts a user's data sources and sums the size of the newest
// snapshot of each (none without a data store).
func (s *Service) collected(ctx context.Context, acct, userID string) (int, int64, error) {
	ds, err := s.store.ListDevices(ctx, acct, userID)
	if err != nil {
		return 0, 0, err
	}
	if s.data == nil {
		return len(ds), 0, nil
	}
	snaps, err := s.data.Snapshots(ctx, storage.SnapshotFilter{AccountID: acct, UserID: userID})
	if err != nil {
		return 0, 0, err
	}
	newest := map[[2]string]int64{} // snapshots come oldest first
	for _, sn := range snaps {
		newest[[2]string{string(sn.Source), sn.Device}] = sn.Size
	}
	var total int64
	for _, n := range newest {
		total += n
	}
	return len(ds), total, nil
}

// Add puts the users with the emails on the hold
// (legal_holds.create_manage); the report lists the emails added, already
// on the hold and not valid users (W24).
func (s *Service) Add(ctx context.Context, p holdfast.Principal, id string, emails []string) (CustodianReport, error) {
	return s.changeCustodians(ctx, p, id, "legal_hold.custodians.add", func(tx holdfast.MetaStore) (CustodianReport, error) {
		return AddCustodians(ctx, tx, p.AccountID, id, emails, p.AdminID, s.changes.Now())
	})
}

// Remove takes the users with the emails off the hold
// (legal_holds.create_manage): removed, not on the hold, not valid users.
func (s *Service) Remove(ctx context.Context, p holdfast.Principal, id string, emails []string) (CustodianReport, error) {
	return s.changeCustodians(ctx, p, id, "legal_hold.custodians.remove", func(tx holdfast.MetaStore) (CustodianReport, error) {
		return RemoveCustodians(ctx, tx, p.AccountID, id, emails)
	})
}

func (s *Service) changeCustodians(ctx context.Context, p holdfast.Principal, id, action string,
	fn func(tx holdfast.MetaStore) (CustodianReport, error)) (CustodianReport, error) {
	var rep CustodianReport
	c := change.Change{Action: action, ResourceType: holdfast.ResourceLegalHold, ResourceID: id,
		Checks: []change.Check{{Right: RightCreateManage, Resource: Entity(id, nil)}}}
	_, err := s.changes.Apply(ctx, p, c, func(tx holdfast.MetaStore) (string, any, error) {
		var err error
		if rep, err = fn(tx); err != nil {
			return "", nil, err
		}
		return id, rep, nil
	})
	return rep, err
}

// ImportReport is the answer to a CSV import: each row's result and a
// count of each status.
type ImportReport struct {
	Rows    []RowResult    `json:"rows"`
	Summary map[string]int `json:"summary"`
}

// Import adds the custodians of a CSV file (legal_holds.create_manage) of
// at most MaxCSVRows custodians; the valid rows are added and each row is
// reported. A file over a limit is refused whole.
func (s *Service) Import(ctx context.Context, p holdfast.Principal, id string, file []byte) (ImportReport, error) {
	rows, err := ParseCSV(bytes.NewReader(file))
	if err != nil {
		return ImportReport{}, err
	}
	var rep ImportReport
	c := change.Change{Action: "legal_hold.custodians.import", ResourceType: holdfast.ResourceLegalHold, ResourceID: id,
		Checks: []change.Check{{Right: RightCreateManage, Resource: Entity(id, nil)}}}
	_, err = s.changes.Apply(ctx, p, c, func(tx holdfast.MetaStore) (string, any, error) {
		res, err := ImportCustodians(ctx, tx, p.AccountID, id, rows, p.AdminID, s.changes.Now())
		if err != nil {
			return "", nil, err
		}
		rep = ImportReport{Rows: res, Summary: map[string]int{}}
		var added []string
		for _, row := range res {
			rep.Summary[string(row.Status)]++
			if row.Status == StatusAdded {
				added = append(added, row.Email)
			}
		}
		return id, map[string]any{"rows": len(res), "summary": rep.Summary, "added": added}, nil
	})
	return rep, err
}
