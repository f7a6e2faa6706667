package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/legalhold"
)

// Legal hold policies and their custodians (rights-and-roles.md section 7):
// the handlers decode, call one legalhold.Service method and encode.

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
	legalhold.Info
	WebDAVURL string `json:"webdav_url"`
}

func (s *Server) viewHold(r *http.Request, h legalhold.Info) holdView {
	return holdView{Info: h, WebDAVURL: s.holdURL(r, h.ID)}
}

// holdURL is the WebDAV URL of a hold.
func (s *Server) holdURL(r *http.Request, id string) string {
	return s.baseURL(r) + "/dav/holds/" + id + "/"
}

// listHolds serves GET /api/v1/legal-holds: one page of the holds the
// engine lets the caller read (limit, cursor; type_id narrows to one
// type); holds of other types are left out as if they did not exist, from
// the page and from its total. Without any read right at all it is 403.
func (s *Server) listHolds(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	page, err := pageOf(q)
	if err != nil {
		return err
	}
	got, err := s.holds.ListHolds(r.Context(), principal(r.Context()), legalhold.HoldQuery{TypeID: q.Get("type_id")}, page)
	if err != nil {
		return err
	}
	return writePageAs(w, "legal_holds", got, func(h legalhold.Info) holdView { return s.viewHold(r, h) })
}

// getHold serves GET /api/v1/legal-holds/{id}.
func (s *Server) getHold(w http.ResponseWriter, r *http.Request) error {
	h, err := s.holds.Get(r.Context(), principal(r.Context()), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, s.viewHold(r, h))
}

// holdInput is the body of POST and PATCH /api/v1/legal-holds.
type holdInput = legalhold.Input

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

// createdHold is the answer to POST /api/v1/legal-holds.
type createdHold struct {
	holdView
	Custodians *legalhold.CustodianReport `json:"custodians,omitempty"`
}

// createHold serves POST /api/v1/legal-holds (legal_holds.create_manage on
// a hold of the requested type), optionally with its first custodians.
func (s *Server) createHold(w http.ResponseWriter, r *http.Request) error {
	var in holdInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	h, rep, err := s.holds.Create(r.Context(), principal(r.Context()), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, createdHold{holdView: s.viewHold(r, h), Custodians: rep})
}

// updateHold serves PATCH /api/v1/legal-holds/{id}
// (legal_holds.create_manage; moving it to another type needs that type in
// scope too).
func (s *Server) updateHold(w http.ResponseWriter, r *http.Request) error {
	var in holdInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	h, err := s.holds.Update(r.Context(), principal(r.Context()), r.PathValue("id"), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, s.viewHold(r, h))
}

// deleteHold serves DELETE /api/v1/legal-holds/{id} (legal_holds.delete).
func (s *Server) deleteHold(w http.ResponseWriter, r *http.Request) error {
	if err := s.holds.Delete(r.Context(), principal(r.Context()), r.PathValue("id")); err != nil {
		return err
	}
	return noContent(w)
}

// listCustodians serves GET /api/v1/legal-holds/{id}/custodians: one page
// (limit, cursor) of at most 500 custodians (W24), in the order they were
// added.
func (s *Server) listCustodians(w http.ResponseWriter, r *http.Request) error {
	page, err := pageOf(r.URL.Query())
	if err != nil {
		return err
	}
	got, err := s.holds.ListCustodians(r.Context(), principal(r.Context()), r.PathValue("id"), page)
	if err != nil {
		return err
	}
	return writePage(w, "custodians", got)
}

// emailsInput is the body of the custodian add and remove calls.
type emailsInput struct {
	Emails []string `json:"emails"`
}

// addCustodians serves POST /api/v1/legal-holds/{id}/custodians
// (legal_holds.create_manage): the answer lists the emails added, already
// on the hold and not valid users (W24).
func (s *Server) addCustodians(w http.ResponseWriter, r *http.Request) error {
	return s.changeCustodians(w, r, s.holds.Add)
}

// removeCustodians serves POST /api/v1/legal-holds/{id}/custodians/remove
// (legal_holds.create_manage): removed, not on the hold, not valid users.
func (s *Server) removeCustodians(w http.ResponseWriter, r *http.Request) error {
	return s.changeCustodians(w, r, s.holds.Remove)
}

func (s *Server) changeCustodians(w http.ResponseWriter, r *http.Request,
	fn func(ctx context.Context, p holdfast.Principal, id string, emails []string) (legalhold.CustodianReport, error)) error {
	var in emailsInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	rep, err := fn(r.Context(), principal(r.Context()), r.PathValue("id"), in.Emails)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, rep)
}

// importReport is the answer to a CSV import.
type importReport = legalhold.ImportReport

// importCustodians serves POST /api/v1/legal-holds/{id}/custodians/import
// (legal_holds.create_manage): a CSV file (text/csv) of at most 500
// custodians; the valid rows are added and each row is reported. A file
// over a limit is refused whole. With Accept: text/csv the report is CSV.
// Echoed cells starting with = + - @ are neutralized in both forms.
func (s *Server) importCustodians(w http.ResponseWriter, r *http.Request) error {
	raw, err := readCSV(w, r)
	if err != nil {
		return err
	}
	rep, err := s.holds.Import(r.Context(), principal(r.Context()), r.PathValue("id"), raw)
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

// readCSV reads a CSV request body: declared text/csv (or undeclared), at
// most legalhold.MaxCSVBytes, UTF-8 without NUL characters.
func readCSV(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if err := requireCSV(r); err != nil {
		return nil, err
	}
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, legalhold.MaxCSVBytes+1))
	var maxErr *http.MaxBytesError
	if errors.As(err, &maxErr) {
		return nil, fmt.Errorf("%w: the CSV file is over %d bytes; split it into files of at most %d custodians", errTooLarge, legalhold.MaxCSVBytes, legalhold.MaxCSVRows)
	}
	if err != nil {
		return nil, bodyError(err)
	}
	if !utf8.Valid(raw) || bytes.IndexByte(raw, 0) >= 0 {
		var v holdfast.ValidationError
		v.Add("file", "must be UTF-8 text without NUL characters")
		return nil, badInput(&v)
	}
	return raw, nil
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
