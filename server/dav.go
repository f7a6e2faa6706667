package server

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"

	"github.com/emersion/go-webdav"
	"github.com/emersion/go-webdav/caldav"
	"github.com/emersion/go-webdav/carddav"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/export"
	"github.com/holdfast/holdfast/legalhold"
)

// The WebDAV mount of legal holds: /dav/holds/{hold}/... serves the hold's
// export (package export) read-only to counsel. A request signs in with
// HTTP Basic: the hold's generated credential (it opens that hold only),
// or a Cloud Administrator's email and API token (the engine must allow
// legal_holds.view on the hold). A missing hold, another hold, and a hold
// the caller may not read all get the same 403, so no answer tells what
// exists; a wrong, expired or revoked credential is 401.

// davAllow is every method the read-only tree serves (and REPORT in the
// caldav and carddav views).
const davAllow = "OPTIONS, GET, HEAD, PROPFIND"

// davRealm is the Basic realm WebDAV clients are challenged with.
const davRealm = `Basic realm="Holdfast legal hold", charset="UTF-8"`

var errNoHoldAccess = legalhold.ErrNoAccess

// davRequest is a WebDAV request's cleaned target: the hold, the view
// (caldav, carddav or "" for files) and the path within the hold.
type davRequest struct {
	holdID string
	view   string
	clean  string // the cleaned path below /dav/holds
}

// prefix is the URL path of the hold's tree.
func (d davRequest) prefix() string { return "/dav/holds/" + d.holdID }

// serveDAV serves /dav/holds/{path...}: it parses the target, answers
// OPTIONS, signs the caller in to the hold, refuses what a read-only
// export does not serve and reads a bounded PROPFIND or REPORT body, then
// serves the request from the hold's tree.
func (s *Server) serveDAV(w http.ResponseWriter, r *http.Request) {
	d, ok := s.davTarget(w, r)
	if !ok {
		return
	}
	if r.Method == http.MethodOptions {
		davOptions(w, d.view)
		return
	}
	h, ok := s.davSignIn(w, r, d.holdID)
	if !ok || !s.davMethodAllowed(w, r, d.view) {
		return
	}
	var body []byte
	if r.Method == "PROPFIND" || r.Method == "REPORT" {
		var err error
		if body, err = checkDAVBody(r); err != nil {
			status := http.StatusBadRequest
			if errors.Is(err, errTooLarge) {
				status = http.StatusRequestEntityTooLarge
			}
			s.davError(w, r, status, err.Error())
			return
		}
	}
	s.davServe(w, r, d, h, body)
}

// davTarget normalizes the path first: authorization looks at the cleaned
// path only, so ../ or // cannot reach another hold.
func (s *Server) davTarget(w http.ResponseWriter, r *http.Request) (davRequest, bool) {
	rest := strings.TrimPrefix(r.URL.Path, "/dav/holds/")
	clean := path.Clean("/" + rest)
	if strings.Contains(rest, "\\") || strings.Contains(rest, "\x00") {
		s.davError(w, r, http.StatusBadRequest, "bad path")
		return davRequest{}, false
	}
	segs := strings.SplitN(strings.TrimPrefix(clean, "/"), "/", 2)
	d := davRequest{holdID: segs[0], clean: clean}
	if d.holdID == "" {
		s.davError(w, r, http.StatusNotFound, "no legal hold named")
		return davRequest{}, false
	}
	if len(segs) == 2 {
		d.view, _, _ = strings.Cut(segs[1], "/")
		if d.view != "caldav" && d.view != "carddav" {
			d.view = ""
		}
	}
	return d, true
}

// davOptions answers OPTIONS with the view's DAV classes.
func davOptions(w http.ResponseWriter, view string) {
	switch view {
	case "caldav":
		w.Header().Set("DAV", "1, calendar-access")
		w.Header().Set("Allow", davAllow+", REPORT")
	case "carddav":
		w.Header().Set("DAV", "1, addressbook")
		w.Header().Set("Allow", davAllow+", REPORT")
	default:
		w.Header().Set("DAV", "1")
		w.Header().Set("Allow", davAllow)
	}
	w.WriteHeader(http.StatusOK)
}

// davSignIn authenticates the request to the hold, answering the refusal
// itself (401 with a challenge, 403, or 500 logged) when it fails.
func (s *Server) davSignIn(w http.ResponseWriter, r *http.Request, holdID string) (holdfast.LegalHold, bool) {
	h, err := s.davHold(r, holdID)
	switch {
	case err == nil:
		return h, true
	case errors.Is(err, holdfast.ErrUnauthenticated):
		w.Header().Set("WWW-Authenticate", davRealm)
		s.davError(w, r, http.StatusUnauthorized, "sign in with the legal hold's WebDAV credentials")
	case errors.Is(err, holdfast.ErrDenied) || errors.Is(err, holdfast.ErrNotFound):
		s.davError(w, r, http.StatusForbidden, "no access to this legal hold")
	default:
		s.log.LogAttrs(r.Context(), slog.LevelError, "webdav sign-in failed", slog.String("request_id", requestIDFrom(r.Context())), slog.String("error", err.Error()))
		s.davError(w, r, http.StatusInternalServerError, "internal error")
	}
	return holdfast.LegalHold{}, false
}

// davMethodAllowed refuses, answering itself, what the read-only export
// does not serve: writes, REPORT outside the caldav and carddav views, and
// PROPFIND of infinite depth.
func (s *Server) davMethodAllowed(w http.ResponseWriter, r *http.Request, view string) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
	case "REPORT":
		if view == "" {
			w.Header().Set("Allow", davAllow)
			s.davError(w, r, http.StatusForbidden, "REPORT is served only by the caldav and carddav views")
			return false
		}
	case "PROPFIND":
		if d := r.Header.Get("Depth"); d != "0" && d != "1" {
			w.Header().Set("Content-Type", "application/xml; charset=utf-8")
			w.WriteHeader(http.StatusForbidden)
			_, _ = w.Write([]byte(`<?xml version="1.0" encoding="utf-8"?>` + "\n" + `<D:error xmlns:D="DAV:"><D:propfind-finite-depth/></D:error>` + "\n"))
			return false
		}
	default:
		w.Header().Set("Allow", davAllow)
		s.davError(w, r, http.StatusForbidden, "the legal hold export is read-only")
		return false
	}
	return true
}

// davServe serves an authorized, allowed request from the hold's tree:
// files directly, calendar and address objects as their .ics and .vcf
// files, PROPFIND of files by export.Propfind, the rest by go-webdav.
func (s *Server) davServe(w http.ResponseWriter, r *http.Request, d davRequest, h holdfast.LegalHold, body []byte) {
	prefix := d.prefix()
	r2 := r.Clone(r.Context())
	r2.URL.Path = prefix + strings.TrimPrefix(d.clean, "/"+d.holdID)
	if strings.HasSuffix(r.URL.Path, "/") && !strings.HasSuffix(r2.URL.Path, "/") {
		r2.URL.Path += "/" // collections keep their slash: CalDAV compares paths
	}
	r2.URL.RawPath = ""
	fsys := s.export.FS(h, prefix)
	get := r.Method == http.MethodGet || r.Method == http.MethodHead
	if d.view == "" && get && serveFile(w, r2, fsys) {
		return
	}
	if d.view != "" && get {
		// A calendar or address object is served as its .ics or .vcf file
		// (folded, escaped), not as go-webdav's re-encoding of it.
		if data, etag, mime, mod, err := s.export.ObjectFile(r.Context(), h, prefix+"/"+d.view, d.view, r2.URL.Path); err == nil {
			w.Header().Set("Content-Type", mime)
			w.Header().Set("ETag", `"`+etag+`"`)
			http.ServeContent(w, r2, "", mod, bytes.NewReader(data))
			return
		}
	}
	if d.view == "" && r.Method == "PROPFIND" {
		s.davPropfind(w, r, r2.URL.Path, fsys, body)
		return
	}
	var dav http.Handler = &webdav.Handler{FileSystem: fsys}
	switch d.view {
	case "caldav":
		dav = &caldav.Handler{Backend: s.export.CalDAV(h, prefix+"/caldav"), Prefix: prefix + "/caldav"}
	case "carddav":
		dav = &carddav.Handler{Backend: s.export.CardDAV(h, prefix+"/carddav"), Prefix: prefix + "/carddav"}
	}
	if r.Method != "PROPFIND" && r.Method != "REPORT" {
		dav.ServeHTTP(w, r2)
		return
	}
	serveMultistatus(w, r2, dav)
}

// davPropfind answers a PROPFIND of the file tree at name.
func (s *Server) davPropfind(w http.ResponseWriter, r *http.Request, name string, fsys webdav.FileSystem, body []byte) {
	depth := 0
	if r.Header.Get("Depth") == "1" {
		depth = 1
	}
	err := export.Propfind(r.Context(), w, fsys, name, depth, body)
	switch {
	case err == nil:
	case errors.Is(err, export.ErrBadPropfind):
		s.davError(w, r, http.StatusBadRequest, err.Error())
	case errors.Is(err, holdfast.ErrNotFound):
		s.davError(w, r, http.StatusNotFound, "not found")
	default:
		s.log.LogAttrs(r.Context(), slog.LevelError, "webdav propfind failed", slog.String("request_id", requestIDFrom(r.Context())), slog.String("error", err.Error()))
		s.davError(w, r, http.StatusInternalServerError, "internal error")
	}
}

// serveMultistatus serves a PROPFIND or REPORT through dav. go-webdav
// leaves characters such as @ unescaped in hrefs; some clients (cadaver's
// neon) then fail to match a href to the URL they asked for. The
// multistatus is rewritten with every href fully percent-encoded, which
// names the same resource.
func serveMultistatus(w http.ResponseWriter, r *http.Request, dav http.Handler) {
	buf := &bufferedWriter{header: w.Header()}
	dav.ServeHTTP(buf, r)
	out := escapeHrefs(buf.body.Bytes())
	w.Header().Set("Content-Length", strconv.Itoa(len(out)))
	w.WriteHeader(buf.status)
	_, _ = w.Write(out)
}

// escapeHrefs rewrites the text of every <href> element of a go-webdav
// multistatus (which writes them without a prefix) fully percent-encoded.
func escapeHrefs(in []byte) []byte {
	const open, end = "<href>", "</href>"
	out := make([]byte, 0, len(in)+len(in)/16)
	for {
		i := bytes.Index(in, []byte(open))
		if i < 0 {
			return append(out, in...)
		}
		j := bytes.Index(in[i+len(open):], []byte(end))
		if j < 0 {
			return append(out, in...)
		}
		out = append(out, in[:i+len(open)]...)
		raw := in[i+len(open) : i+len(open)+j]
		if p, err := url.PathUnescape(html.UnescapeString(string(raw))); err == nil {
			out = append(out, export.EscapePath(p)...)
		} else {
			out = append(out, raw...)
		}
		out = append(out, end...)
		in = in[i+len(open)+j+len(end):]
	}
}

// bufferedWriter keeps a response to rewrite it.
type bufferedWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferedWriter) Header() http.Header { return b.header }
func (b *bufferedWriter) WriteHeader(code int) {
	if b.status == 0 {
		b.status = code
	}
}
func (b *bufferedWriter) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}

// davHold authenticates the request and returns the hold it may read.
func (s *Server) davHold(r *http.Request, holdID string) (holdfast.LegalHold, error) {
	ctx := r.Context()
	if s.export == nil {
		return holdfast.LegalHold{}, fmt.Errorf("%w: no export is configured", holdfast.ErrNotFound)
	}
	user, pass, ok := r.BasicAuth()
	if !ok || user == "" || pass == "" {
		return holdfast.LegalHold{}, legalhold.ErrBadCredential
	}
	if legalhold.IsHoldUser(user) {
		return s.holds.OpenWithCredential(ctx, user, pass, holdID)
	}
	p, err := s.tokens.Authenticate(ctx, pass, s.now())
	if err != nil {
		if errors.Is(err, holdfast.ErrUnauthenticated) {
			return holdfast.LegalHold{}, legalhold.ErrBadCredential
		}
		return holdfast.LegalHold{}, err
	}
	if !strings.EqualFold(p.Email, user) {
		return holdfast.LegalHold{}, legalhold.ErrBadCredential
	}
	if err := s.fenceToken(r, p.AccountID); err != nil {
		return holdfast.LegalHold{}, err
	}
	a, err := s.store.GetAdmin(ctx, p.AccountID, p.AdminID)
	if err != nil {
		return holdfast.LegalHold{}, err
	}
	// Whose API tokens open WebDAV is the catalog's rule (W17, W18).
	if ok, err := s.roleRules.WebDAVToken(ctx, a); err != nil || !ok {
		if err == nil {
			err = errNoHoldAccess
		}
		return holdfast.LegalHold{}, err
	}
	return s.holds.Open(holdfast.WithPrincipal(ctx, p), p, holdID)
}

// davError writes a short plain-text error.
func (s *Server) davError(w http.ResponseWriter, _ *http.Request, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = fmt.Fprintln(w, msg)
}

// conditionalHeaders are the request headers http.ServeContent answers.
var conditionalHeaders = []string{"Range", "If-Range", "If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since"}

// serveFile answers GET and HEAD of a file of the tree, as go-webdav would,
// but writes a plain full download in large blocks straight from the
// item's read-ahead (io.WriterTo) rather than in io.Copy's 32 KiB steps.
// Range and conditional requests go through http.ServeContent (206, 304,
// 412, 416). It returns false, having written nothing, for folders and
// errors, which go-webdav then answers.
func serveFile(w http.ResponseWriter, r *http.Request, fsys webdav.FileSystem) bool {
	ctx := r.Context()
	fi, err := fsys.Stat(ctx, r.URL.Path)
	if err != nil || fi.IsDir {
		return false
	}
	f, err := fsys.Open(ctx, r.URL.Path)
	if err != nil {
		return false
	}
	defer f.Close()
	h := w.Header()
	if fi.MIMEType != "" {
		h.Set("Content-Type", fi.MIMEType)
	}
	if fi.ETag != "" {
		h.Set("ETag", `"`+fi.ETag+`"`)
	}
	h.Set("Last-Modified", fi.ModTime.UTC().Format(http.TimeFormat))
	h.Set("Accept-Ranges", "bytes")
	wt, direct := f.(io.WriterTo)
	for _, c := range conditionalHeaders {
		if r.Header.Get(c) != "" {
			direct = false
		}
	}
	if !direct {
		rs, ok := f.(io.ReadSeeker)
		if !ok {
			return false
		}
		http.ServeContent(w, r, "", fi.ModTime, rs)
		return true
	}
	h.Set("Content-Length", strconv.FormatInt(fi.Size, 10))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_, _ = wt.WriteTo(w) // a failed write is a client that left
	}
	return true
}

// Bounds of a PROPFIND or REPORT body. The deepest body a DAV client
// sends (a CalDAV calendar-query filter) nests about eight elements.
const (
	maxDAVBody  = 1 << 20
	maxDAVDepth = 32
)

// checkDAVBody reads the request body (at most maxDAVBody bytes, else an
// error matching errTooLarge), refuses XML that is not well-formed, nests
// deeper than maxDAVDepth, or declares a prefix with an empty namespace
// (xmlns:p="", illegal in XML Namespaces 1.0, which Go's decoder lets
// through), and puts the body back for the handler.
func checkDAVBody(r *http.Request) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, maxDAVBody+1))
	if err != nil {
		return nil, fmt.Errorf("cannot read the request body")
	}
	if len(b) > maxDAVBody {
		return nil, fmt.Errorf("%w: the limit is %d bytes", errTooLarge, maxDAVBody)
	}
	r.Body = io.NopCloser(bytes.NewReader(b))
	if len(bytes.TrimSpace(b)) == 0 {
		return b, nil
	}
	dec := xml.NewDecoder(bytes.NewReader(b))
	depth := 0
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return b, nil
		}
		if err != nil {
			return nil, fmt.Errorf("malformed XML: %v", err)
		}
		if _, ok := tok.(xml.EndElement); ok {
			depth--
		}
		if se, ok := tok.(xml.StartElement); ok {
			if depth++; depth > maxDAVDepth {
				return nil, fmt.Errorf("malformed XML: elements nest deeper than %d levels", maxDAVDepth)
			}
			for _, a := range se.Attr {
				if a.Name.Space == "xmlns" && a.Value == "" {
					return nil, fmt.Errorf("malformed XML: the prefix %q is declared with an empty namespace", a.Name.Local)
				}
			}
		}
	}
}
