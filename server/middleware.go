package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/holdfast/holdfast"
)

// maxRequestIDLength bounds an X-Request-ID the server echoes; a longer or
// non-printable one is replaced by a generated id.
const maxRequestIDLength = 200

// requestInfo is what the middleware learns about a request while it is
// served, for the access log and metrics. One per request; written only by
// the goroutine serving it.
type requestInfo struct {
	id        string
	route     string // the mux pattern, "" when no route matched
	principal holdfast.Principal
}

type requestInfoKey struct{}

// infoFrom returns the request's info; outside observe, a throwaway one.
func infoFrom(ctx context.Context) *requestInfo {
	if info, ok := ctx.Value(requestInfoKey{}).(*requestInfo); ok {
		return info
	}
	return &requestInfo{}
}

// requestIDFrom returns the request id observe assigned.
func requestIDFrom(ctx context.Context) string { return infoFrom(ctx).id }

// statusRecorder remembers the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (w *statusRecorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusRecorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusRecorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// observe is the outermost middleware: it assigns the request id (echoing
// a usable X-Request-ID), then writes the access log line and the request
// metrics once the request is served. It never logs the Authorization
// header or a body.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		info := &requestInfo{id: requestID(r.Header.Get("X-Request-ID"))}
		w.Header().Set("X-Request-ID", info.id)
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), requestInfoKey{}, info)))

		status := rec.status
		if status == 0 {
			status = http.StatusOK
		}
		elapsed := time.Since(start)
		route := info.route
		if route == "" {
			route = "unmatched"
		}
		s.metrics.observe(route, metricMethod(r.Method), status, elapsed)
		principal := info.principal.AdminID
		if info.principal.TokenID != "" {
			principal += " token:" + info.principal.TokenID
		}
		s.log.LogAttrs(r.Context(), slog.LevelInfo, "request",
			slog.String("request_id", info.id),
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.String("route", route),
			slog.Int("status", status),
			slog.Duration("duration", elapsed),
			slog.String("principal", principal))
	})
}

// metricMethod bounds the method label: clients can send any token as a
// method, and each would become a new time series.
func metricMethod(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions:
		return m
	}
	return "OTHER"
}

// requestID returns the client's X-Request-ID when it is usable, a new
// random id otherwise.
func requestID(header string) string {
	if header != "" && len(header) <= maxRequestIDLength &&
		strings.IndexFunc(header, func(r rune) bool { return r < ' ' || r > '~' }) < 0 {
		return header
	}
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return "req_" + hex.EncodeToString(b[:])
}

// recoverPanics turns a panic in a handler into a logged 500 (the stack
// in the log): the JSON envelope, or for the WebDAV mount, which answers
// in plain text, a plain-text error naming the request id.
// http.ErrAbortHandler keeps its meaning (abort the response silently).
// TestNoRequestPanics drives every route with odd but valid data and
// fails on any panic.
func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			reqID := requestIDFrom(r.Context())
			s.log.LogAttrs(r.Context(), slog.LevelError, "handler panicked", slog.String("request_id", reqID),
				slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.String("stack", string(debug.Stack())))
			if strings.HasPrefix(r.URL.Path, "/dav/") {
				s.davError(w, r, http.StatusInternalServerError, "internal error (request "+reqID+")")
				return
			}
			s.writeError(w, r, fmt.Errorf("panic: %v", v))
		}()
		next.ServeHTTP(w, r)
	})
}

// route records the matched pattern for the access log and metrics, and
// refuses path ids and query parameters that fail checkRequestStrings
// before anything else reads them. WebDAV paths are the names of held
// files, which the export checks itself.
func (s *Server) route(pattern string, next http.Handler) http.Handler {
	dav := strings.HasPrefix(pattern, "/dav/")
	scim := strings.Contains(pattern, " /scim/")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		infoFrom(r.Context()).route = pattern
		if !dav {
			if err := checkRequestStrings(r); err != nil {
				if scim {
					s.scim.WriteError(w, r, err)
				} else {
					s.writeError(w, r, err)
				}
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// authenticate asks each authenticator in turn and puts the principal in
// the request's context; a request without usable credentials gets 401
// with WWW-Authenticate.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return s.authenticateWith(nil, next)
}

// authenticateWith is authenticate with only the authenticators given;
// nil means all of them (s.authn, read per request: initAuth adds to it
// after the routes are registered).
func (s *Server) authenticateWith(only []Authenticator, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		authn := only
		if authn == nil {
			authn = s.authn
		}
		p, err := principalOf(r, authn)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		infoFrom(r.Context()).principal = p
		next.ServeHTTP(w, r.WithContext(holdfast.WithPrincipal(r.Context(), p)))
	})
}

// errNoCredentials is the 401 of a request that carries no credential.
var errNoCredentials = fmt.Errorf("%w: an API token is required (Authorization: Bearer <token>)", holdfast.ErrUnauthenticated)

// principalOf runs the authenticators.
func principalOf(r *http.Request, authn []Authenticator) (holdfast.Principal, error) {
	for _, a := range authn {
		p, err := a(r)
		if errors.Is(err, ErrNoCredentials) {
			continue
		}
		return p, err
	}
	return holdfast.Principal{}, errNoCredentials
}

// bearerToken authenticates "Authorization: Bearer <API token>". A bare
// token without the scheme is accepted too, because AuthZEN interop
// harnesses send the raw key they were configured with.
func (s *Server) bearerToken(r *http.Request) (holdfast.Principal, error) {
	h := strings.TrimSpace(r.Header.Get("Authorization"))
	if h == "" {
		return holdfast.Principal{}, ErrNoCredentials
	}
	secret := h
	if scheme, rest, ok := strings.Cut(h, " "); ok {
		if !strings.EqualFold(scheme, "Bearer") {
			// Another scheme (Basic, ...) belongs to another authenticator.
			return holdfast.Principal{}, ErrNoCredentials
		}
		secret = strings.TrimSpace(rest)
	}
	return s.tokens.Authenticate(r.Context(), secret, s.now())
}

// principal returns the caller put in ctx by authenticate.
func principal(ctx context.Context) holdfast.Principal {
	p, _ := holdfast.PrincipalFrom(ctx)
	return p
}
