package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/legalhold"
	"github.com/holdfast/holdfast/storage"
)

// Legal hold policies and their custodians (rights-and-roles.md section 7).
// The engine decides every call on the hold as a resource, so a legal
// administrator reaches only holds of its legal hold types; the three
// rights are legal_holds.create_manage (create, edit, custodians),
// legal_holds.view (read, and WebDAV) and legal_holds.delete.

// holdReadRights are the rights any one of which lets an administrator
// read a hold (W06: listing needs view or create and manage).
var holdReadRights = []string{"legal_holds.view", "legal_holds.create_manage"}

// registerHoldRoutes adds the legal hold routes.
func (s *Server) registerHoldRoutes() {
	s.authed("GET /api/v1/legal-holds", s.listHolds)
	s.authed("POST /api/v1/legal-holds", s.createHold)
	s.authed("GET /api/v1/legal-holds/{id}", s.getHold)
	s.authed("PATCH /api/v1/legal-holds/{id}", s.updateHold)
	s.authed("DELETE /api/v1/legal-holds/{id}", s.deleteHold)
	s.authed("GET /api/v1/legal-holds/{id}/custodians", s.listCustodians)
	s.authed("POST /api/v1/legal-holds/{id}/custodians", s.addCustodians)
	s.authed("POST /api/v1/legal-holds/{id}/custodians/remove", s.removeCustodians)
	s.authed("POST /api/v1/legal-holds/{id}/custodians/import", s.importCustodians)
	s.authed("GET /api/v1/legal-holds/{id}/webdav", s.getHoldAccess)
	s.authed("POST /api/v1/legal-holds/{id}/webdav", s.rotateHoldAccess)
	s.authed("DELETE /api/v1/legal-holds/{id}/webdav", s.revokeHoldAccess)
	// WebDAV is not part of the JSON API (nor of its OpenAPI document):
	// every method reaches serveDAV, which answers in WebDAV's terms.
	s.mux.Handle("/dav/holds/", s.route("/dav/holds/", http.HandlerFunc(s.serveDAV)))
}

// holdView is a hold as the API shows it, with its read-only facts (W24):
// custodian and device counts and the WebDAV URL.
type holdView struct {
	holdfast.LegalHold
	CustodianCount int    `json:"custodian_count"`
	DeviceCount    int    `json:"device_count"`
	WebDAVURL      string `json:"webdav_url"`
}

type holdList struct {
	LegalHolds []holdView `json:"legal_holds"`
}

func (s *Server) viewHold(ctx context.Context, r *http.Request, h holdfast.LegalHold) (holdView, error) {
	cs, err := s.store.ListCustodians(ctx, h.AccountID, h.ID)
	if err != nil {
		return holdView{}, err
	}
	if h.Sources == nil {
		h.Sources = []string{}
	}
	devices := 0
	for _, c := range cs {
		ds, err := s.store.ListDevices(ctx, h.AccountID, c.UserID)
		if err != nil {
			return holdView{}, err
		}
		devices += len(ds)
	}
	return holdView{LegalHold: h, CustodianCount: len(cs), DeviceCount: devices, WebDAVURL: s.baseURL(r) + "/dav/holds/" + h.ID + "/"}, nil
}

// canRead decides whether the caller may read the hold under any of the
// read rights; without any it returns the first refusal.
func (s *Server) canRead(ctx context.Context, id string) error {
	var first error
	for _, right := range holdReadRights {
		_, err := s.decide(ctx, check{right: right, resource: holdEntity(id, nil)})
		if err == nil {
			return nil
		}
		if !isDenied(err) {
			return err
		}
		if first == nil {
			first = err
		}
	}
	return first
}

// listHolds serves GET /api/v1/legal-holds: the holds the engine lets the
// caller read; holds of other types are left out as if they did not
// exist. Without any read right at all it is 403.
func (s *Server) listHolds(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	var first error
	some := false
	for _, right := range holdReadRights {
		_, err := s.decide(ctx, check{right: right, resource: accountEntity(ctx)})
		if err == nil {
			some = true
			break
		}
		if !isDenied(err) {
			return err
		}
		if first == nil {
			first = err
		}
	}
	if !some {
		return first
	}
	all, err := s.store.ListHolds(ctx, principal(ctx).AccountID)
	if err != nil {
		return err
	}
	out := holdList{LegalHolds: []holdView{}}
	for _, h := range all {
		err := s.canRead(ctx, h.ID)
		if isDenied(err) {
			continue
		}
		if err != nil {
			return err
		}
		v, err := s.viewHold(ctx, r, h)
		if err != nil {
			return err
		}
		out.LegalHolds = append(out.LegalHolds, v)
	}
	return writeJSON(w, http.StatusOK, out)
}

// getHold serves GET /api/v1/legal-holds/{id}.
func (s *Server) getHold(w http.ResponseWriter, r *http.Request) error {
	ctx, id := r.Context(), r.PathValue("id")
	if err := s.canRead(ctx, id); err != nil {
		return err
	}
	h, err := s.store.GetHold(ctx, principal(ctx).AccountID, id)
	if err != nil {
		return err
	}
	v, err := s.viewHold(ctx, r, h)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, v)
}

// holdInput is the body of POST and PATCH /api/v1/legal-holds. Absent
// members keep their value on PATCH. From and To are dates (2026-01-31,
// both included) or RFC 3339 times.
type holdInput struct {
	Name             *string   `json:"name"`
	Description      *string   `json:"description"`
	TypeID           *string   `json:"type_id"`
	DataAccess       *string   `json:"data_access"`
	From             *string   `json:"from"`
	To               *string   `json:"to"`
	DeletedFilesOnly *bool     `json:"deleted_files_only"`
	Sources          *[]string `json:"sources"`
	// Custodians are emails to place on a new hold (POST only).
	Custodians []string `json:"custodians"`
}

// applyTo merges in into h and validates the result.
func (s *Server) applyHoldInput(in holdInput, h *holdfast.LegalHold) error {
	var v holdfast.ValidationError
	if in.Name != nil {
		h.Name = *in.Name
	}
	if in.Description != nil {
		h.Description = *in.Description
	}
	if in.TypeID != nil {
		h.TypeID = *in.TypeID
	}
	if in.DataAccess != nil {
		h.DataAccess = *in.DataAccess
		if k, err := legalhold.ParseDataAccess(h.DataAccess); err == nil && k != holdfast.AccessDateRange && in.From == nil && in.To == nil {
			h.From, h.To = nil, nil // leaving a date range drops it
		}
	}
	bound := func(field string, p *string, end bool) *time.Time {
		if p == nil {
			return nil
		}
		if *p == "" {
			return nil
		}
		t, err := legalhold.ParseBound(*p, end)
		if err != nil {
			v.Add(field, "%q is not a date like 2026-01-31 or a time like 2026-01-31T12:00:00Z", *p)
			return nil
		}
		return &t
	}
	if in.From != nil {
		h.From = bound("from", in.From, false)
	}
	if in.To != nil {
		h.To = bound("to", in.To, true)
	}
	if in.DeletedFilesOnly != nil {
		h.DeletedFilesOnly = *in.DeletedFilesOnly
	}
	if in.Sources != nil {
		h.Sources = slices.Clone(*in.Sources)
	}
	if len(in.Custodians) > legalhold.MaxCustodiansPerCall {
		v.Add("custodians", "at most %d emails; add more afterwards or import CSV files", legalhold.MaxCustodiansPerCall)
	}
	err := legalhold.Normalize(h, s.knownWorkload)
	var nv *holdfast.ValidationError
	if errors.As(err, &nv) {
		v.Fields = append(v.Fields, nv.Fields...)
	}
	return v.Err()
}

// knownWorkload reports whether id is a workload of the catalog.
func (s *Server) knownWorkload(id string) bool {
	for _, w := range s.engine.Catalog().Workloads {
		if w.ID == id {
			return true
		}
	}
	return false
}

// workloadParent returns the parent workload of id in the catalog ("" for
// none), so a hold naming Microsoft 365 covers Exchange Online.
func (s *Server) workloadParent(id string) string {
	for _, w := range s.engine.Catalog().Workloads {
		if w.ID == id {
			return w.Parent
		}
	}
	return ""
}

// checkHoldTypeExists refuses a type id the account does not have.
func checkHoldTypeExists(ctx context.Context, tx holdfast.MetaStore, accountID, typeID string) error {
	if typeID == "" {
		return nil
	}
	if _, err := tx.GetHoldType(ctx, accountID, typeID); errors.Is(err, holdfast.ErrNotFound) {
		var v holdfast.ValidationError
		v.Add("type_id", "%q is not a legal hold type of the account", typeID)
		return v.Err()
	} else if err != nil {
		return err
	}
	return nil
}

// createdHold is the answer to POST /api/v1/legal-holds.
type createdHold struct {
	holdView
	Custodians *legalhold.CustodianReport `json:"custodians,omitempty"`
}

// createHold serves POST /api/v1/legal-holds (legal_holds.create_manage on
// a hold of the requested type), optionally with its first custodians.
func (s *Server) createHold(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	var in holdInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	p := principal(ctx)
	now := s.now().UTC().Truncate(time.Microsecond)
	h := holdfast.LegalHold{AccountID: p.AccountID, CreatedBy: p.AdminID, CreatedAt: now, UpdatedAt: now}
	if err := s.applyHoldInput(in, &h); err != nil {
		return err
	}
	c := change{action: "legal_hold.create", resourceType: holdfast.ResourceLegalHold,
		checks: []check{{right: "legal_holds.create_manage", resource: holdEntity("", map[string]any{"type_id": h.TypeID})}}}
	var rep *legalhold.CustodianReport
	_, err := s.apply(ctx, c, func(tx holdfast.MetaStore) (string, any, error) {
		if err := checkHoldTypeExists(ctx, tx, p.AccountID, h.TypeID); err != nil {
			return "", nil, err
		}
		if err := tx.CreateHold(ctx, &h); err != nil {
			return "", nil, fmt.Errorf("legal hold %q: %w", h.Name, err)
		}
		detail := map[string]any{"name": h.Name, "type_id": h.TypeID, "data_access": h.DataAccess,
			"from": h.From, "to": h.To, "deleted_files_only": h.DeletedFilesOnly, "sources": h.Sources}
		if len(in.Custodians) > 0 {
			got, err := legalhold.AddCustodians(ctx, tx, p.AccountID, h.ID, in.Custodians, p.AdminID, now)
			if err != nil {
				return "", nil, err
			}
			rep, detail["custodians"] = &got, got
		}
		return h.ID, detail, nil
	})
	if err != nil {
		return err
	}
	v, err := s.viewHold(ctx, r, h)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, createdHold{holdView: v, Custodians: rep})
}

// updateHold serves PATCH /api/v1/legal-holds/{id}
// (legal_holds.create_manage; moving it to another type needs that type in
// scope too). Counsel must reconnect to see a changed data access rule
// (W32): nothing is cached across WebDAV requests.
func (s *Server) updateHold(w http.ResponseWriter, r *http.Request) error {
	ctx, id := r.Context(), r.PathValue("id")
	var in holdInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	if in.Custodians != nil {
		var v holdfast.ValidationError
		v.Add("custodians", "use POST /api/v1/legal-holds/{id}/custodians to change custodians")
		return v.Err()
	}
	acct := principal(ctx).AccountID
	cur, err := s.store.GetHold(ctx, acct, id)
	if err != nil {
		// The engine answers first, so that a missing hold and a hold out
		// of scope look alike to a caller without the right.
		if _, derr := s.decide(ctx, check{right: "legal_holds.create_manage", resource: holdEntity(id, nil)}); derr != nil {
			return derr
		}
		return err
	}
	h := cur
	if err := s.applyHoldInput(in, &h); err != nil {
		return err
	}
	var props map[string]any
	if h.TypeID != cur.TypeID {
		props = map[string]any{"new_type_id": h.TypeID}
	}
	var out holdfast.LegalHold
	c := change{action: "legal_hold.update", resourceType: holdfast.ResourceLegalHold, resourceID: id,
		checks: []check{{right: "legal_holds.create_manage", resource: holdEntity(id, props)}}}
	_, err = s.apply(ctx, c, func(tx holdfast.MetaStore) (string, any, error) {
		now, err := tx.GetHold(ctx, acct, id)
		if err != nil {
			return "", nil, err
		}
		if !now.UpdatedAt.Equal(cur.UpdatedAt) {
			return "", nil, fmt.Errorf("%w: legal hold %q changed meanwhile; read it again", holdfast.ErrConflict, cur.Name)
		}
		if err := checkHoldTypeExists(ctx, tx, acct, h.TypeID); err != nil {
			return "", nil, err
		}
		h.UpdatedAt = s.now().UTC().Truncate(time.Microsecond)
		if err := tx.UpdateHold(ctx, &h); err != nil {
			return "", nil, fmt.Errorf("legal hold %s: %w", id, err)
		}
		out = h
		return id, holdDiff(cur, h), nil
	})
	if err != nil {
		return err
	}
	v, err := s.viewHold(ctx, r, out)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, v)
}

// holdDiff is the audit detail of an edit: each changed field, from and to.
func holdDiff(a, b holdfast.LegalHold) map[string]any {
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

// deleteHold serves DELETE /api/v1/legal-holds/{id} (legal_holds.delete).
// Its custodians are released from this hold (they stay held by any other)
// and its WebDAV credential goes with it.
func (s *Server) deleteHold(w http.ResponseWriter, r *http.Request) error {
	ctx, id := r.Context(), r.PathValue("id")
	acct := principal(ctx).AccountID
	c := change{action: "legal_hold.delete", resourceType: holdfast.ResourceLegalHold, resourceID: id,
		checks: []check{{right: "legal_holds.delete", resource: holdEntity(id, nil)}}}
	_, err := s.apply(ctx, c, func(tx holdfast.MetaStore) (string, any, error) {
		h, err := tx.GetHold(ctx, acct, id)
		if err != nil {
			return "", nil, err
		}
		cs, err := tx.ListCustodians(ctx, acct, id)
		if err != nil {
			return "", nil, err
		}
		released := make([]string, 0, len(cs))
		for _, c := range cs {
			released = append(released, c.UserID)
		}
		if err := tx.DeleteHold(ctx, acct, id); err != nil {
			return "", nil, fmt.Errorf("legal hold %s: %w", id, err)
		}
		return id, map[string]any{"name": h.Name, "type_id": h.TypeID, "released_user_ids": released}, nil
	})
	if err != nil {
		return err
	}
	return noContent(w)
}

// custodianView is one custodian as the custodian list shows it (W24):
// the user's email, name and state, its number of data sources (devices
// and SaaS accounts) and the size of its newest backup of each.
type custodianView struct {
	holdfast.Custodian
	Email          string             `json:"email"`
	Name           string             `json:"name"`
	State          holdfast.UserState `json:"state"`
	DataSources    int                `json:"data_sources"`
	CollectedBytes int64              `json:"collected_bytes"`
}

type custodianList struct {
	Custodians []custodianView `json:"custodians"`
	Limit      int             `json:"limit"`
	Offset     int             `json:"offset"`
	Total      int             `json:"total"`
}

// listCustodians serves GET /api/v1/legal-holds/{id}/custodians, at most
// 500 a page (W24).
func (s *Server) listCustodians(w http.ResponseWriter, r *http.Request) error {
	ctx, id := r.Context(), r.PathValue("id")
	limit, offset, err := pageParams(r.URL.Query())
	if err != nil {
		return err
	}
	limit = min(limit, legalhold.MaxCustodiansPerCall)
	if err := s.canRead(ctx, id); err != nil {
		return err
	}
	acct := principal(ctx).AccountID
	if _, err := s.store.GetHold(ctx, acct, id); err != nil {
		return err
	}
	cs, err := s.store.ListCustodians(ctx, acct, id)
	if err != nil {
		return err
	}
	out := custodianList{Custodians: []custodianView{}, Limit: limit, Offset: offset, Total: len(cs)}
	for i := offset; i < len(cs) && i < offset+limit; i++ {
		u, err := s.store.GetUser(ctx, acct, cs[i].UserID)
		if err != nil {
			return fmt.Errorf("user of custodian %s: %w", cs[i].UserID, err)
		}
		v := custodianView{Custodian: cs[i], Email: u.Email, Name: u.Name, State: u.State}
		if v.DataSources, v.CollectedBytes, err = s.collected(ctx, acct, u.ID); err != nil {
			return err
		}
		out.Custodians = append(out.Custodians, v)
	}
	return writeJSON(w, http.StatusOK, out)
}

// collected counts a user's data sources and sums the size of the newest
// snapshot of each (none without a data store).
func (s *Server) collected(ctx context.Context, acct, userID string) (int, int64, error) {
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

// emailsInput is the body of the custodian add and remove calls.
type emailsInput struct {
	Emails []string `json:"emails"`
}

// addCustodians serves POST /api/v1/legal-holds/{id}/custodians
// (legal_holds.create_manage): the answer lists the emails added, already
// on the hold and not valid users (W24).
func (s *Server) addCustodians(w http.ResponseWriter, r *http.Request) error {
	return s.changeCustodians(w, r, "legal_hold.custodians.add", func(ctx context.Context, tx holdfast.MetaStore, id string, emails []string) (legalhold.CustodianReport, error) {
		p := principal(ctx)
		return legalhold.AddCustodians(ctx, tx, p.AccountID, id, emails, p.AdminID, s.now().UTC().Truncate(time.Microsecond))
	})
}

// removeCustodians serves POST /api/v1/legal-holds/{id}/custodians/remove
// (legal_holds.create_manage): removed, not on the hold, not valid users.
func (s *Server) removeCustodians(w http.ResponseWriter, r *http.Request) error {
	return s.changeCustodians(w, r, "legal_hold.custodians.remove", func(ctx context.Context, tx holdfast.MetaStore, id string, emails []string) (legalhold.CustodianReport, error) {
		return legalhold.RemoveCustodians(ctx, tx, principal(ctx).AccountID, id, emails)
	})
}

func (s *Server) changeCustodians(w http.ResponseWriter, r *http.Request, action string,
	fn func(ctx context.Context, tx holdfast.MetaStore, id string, emails []string) (legalhold.CustodianReport, error)) error {
	ctx, id := r.Context(), r.PathValue("id")
	var in emailsInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	var rep legalhold.CustodianReport
	c := change{action: action, resourceType: holdfast.ResourceLegalHold, resourceID: id,
		checks: []check{{right: "legal_holds.create_manage", resource: holdEntity(id, nil)}}}
	_, err := s.apply(ctx, c, func(tx holdfast.MetaStore) (string, any, error) {
		var err error
		if rep, err = fn(ctx, tx, id, in.Emails); err != nil {
			return "", nil, err
		}
		return id, rep, nil
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, rep)
}

// importReport is the answer to a CSV import.
type importReport struct {
	Rows    []legalhold.RowResult `json:"rows"`
	Summary map[string]int        `json:"summary"`
}

// importCustodians serves POST /api/v1/legal-holds/{id}/custodians/import
// (legal_holds.create_manage): a CSV file (text/csv) of at most 500
// custodians; the valid rows are added and each row is reported. A file
// over a limit is refused whole. With Accept: text/csv the report is CSV.
// Echoed cells starting with = + - @ are neutralized in both forms.
func (s *Server) importCustodians(w http.ResponseWriter, r *http.Request) error {
	ctx, id := r.Context(), r.PathValue("id")
	if err := requireCSV(r); err != nil {
		return err
	}
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, legalhold.MaxCSVBytes+1))
	var maxErr *http.MaxBytesError
	if errors.As(err, &maxErr) {
		return fmt.Errorf("%w: the CSV file is over %d bytes; split it into files of at most %d custodians", errTooLarge, legalhold.MaxCSVBytes, legalhold.MaxCSVRows)
	}
	if err != nil {
		return bodyError(err)
	}
	if !utf8.Valid(raw) || bytes.IndexByte(raw, 0) >= 0 {
		var v holdfast.ValidationError
		v.Add("file", "must be UTF-8 text without NUL characters")
		return badInput(&v)
	}
	rows, err := legalhold.ParseCSV(bytes.NewReader(raw))
	if err != nil {
		return err
	}
	var rep importReport
	p := principal(ctx)
	c := change{action: "legal_hold.custodians.import", resourceType: holdfast.ResourceLegalHold, resourceID: id,
		checks: []check{{right: "legal_holds.create_manage", resource: holdEntity(id, nil)}}}
	_, err = s.apply(ctx, c, func(tx holdfast.MetaStore) (string, any, error) {
		res, err := legalhold.ImportCustodians(ctx, tx, p.AccountID, id, rows, p.AdminID, s.now().UTC().Truncate(time.Microsecond))
		if err != nil {
			return "", nil, err
		}
		rep = importReport{Rows: res, Summary: map[string]int{}}
		var added []string
		for _, row := range res {
			rep.Summary[string(row.Status)]++
			if row.Status == legalhold.StatusAdded {
				added = append(added, row.Email)
			}
		}
		return id, map[string]any{"rows": len(res), "summary": rep.Summary, "added": added}, nil
	})
	if err != nil {
		return err
	}
	if acceptsCSV(r) {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(http.StatusOK)
		return legalhold.WriteReport(w, rep.Rows)
	}
	return writeJSON(w, http.StatusOK, rep)
}

// holdEntity is a legal hold as a decision resource.
func holdEntity(id string, props map[string]any) holdfast.Entity {
	return holdfast.Entity{Type: holdfast.ResourceLegalHold, ID: id, Properties: props}
}

// requireCSV refuses a body that is not declared text/csv (an absent
// Content-Type is taken as CSV).
func requireCSV(r *http.Request) error {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return nil
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || (mt != "text/csv" && mt != "application/csv" && mt != "text/plain") {
		return fmt.Errorf("%w: content type %q is not text/csv", errBadRequest, ct)
	}
	return nil
}

// acceptsCSV reports whether the client asked for a CSV answer.
func acceptsCSV(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		if mt, _, err := mime.ParseMediaType(strings.TrimSpace(part)); err == nil && mt == "text/csv" {
			return true
		}
	}
	return false
}
