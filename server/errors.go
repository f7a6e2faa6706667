package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"sync"
	"time"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/httpapi"
)

// Errors of the HTTP layer itself; the table below maps them like the
// domain's sentinels.
var (
	// errBadRequest is a request the server cannot read: malformed JSON, a
	// wrong content type, a bad query parameter.
	// The handler packages the server mounts (scim) return it too.
	errBadRequest = httpapi.ErrBadRequest
	// errTooLarge is a body over maxBodyBytes.
	errTooLarge = errors.New("request body too large")
	// errUpstream is an identity provider that cannot be reached or
	// answers nonsense: not the caller's fault, and not ours.
	errUpstream = errors.New("identity provider unavailable")
	// errRateLimited is a client over a request limit.
	errRateLimited = errors.New("rate limited")
)

// retryAfterSeconds is the Retry-After of a 503: how long a client waits
// before it asks a dependency that was down again.
const retryAfterSeconds = "5"

// maxBodyBytes bounds every request body.
const maxBodyBytes = 1 << 20

// errorMapping is one row of the table from errors to HTTP.
type errorMapping struct {
	err    error
	status int
	code   string
}

// errorTable is the only mapping from errors to HTTP responses. The first
// row whose error matches (errors.Is) wins, so ErrHeld, which is also a
// kind of conflict, comes before ErrConflict. Anything unmatched is a 500.
var errorTable = []errorMapping{
	{holdfast.ErrUnauthenticated, http.StatusUnauthorized, "unauthenticated"},
	{holdfast.ErrDenied, http.StatusForbidden, "forbidden"},
	{holdfast.ErrNotFound, http.StatusNotFound, "not_found"},
	{errNoRoute, http.StatusNotFound, "not_found"},
	{errMethod, http.StatusMethodNotAllowed, "method_not_allowed"},
	{errBadRequest, http.StatusBadRequest, "bad_request"},
	{errTooLarge, http.StatusRequestEntityTooLarge, "too_large"},
	{holdfast.ErrInvalid, http.StatusUnprocessableEntity, "invalid"},
	{holdfast.ErrHeld, http.StatusConflict, "legal_hold"},
	{holdfast.ErrOverQuota, http.StatusConflict, "quota_exceeded"},
	{holdfast.ErrConflict, http.StatusConflict, "conflict"},
	{errRateLimited, http.StatusTooManyRequests, "rate_limited"},
	{errUpstream, http.StatusBadGateway, "upstream"},
	// A dependency that is down or full comes before the deadline: a store
	// call that ran out of its own deadline is translated to ErrUnavailable
	// and may still wrap context.DeadlineExceeded.
	{holdfast.ErrNoSpace, http.StatusInsufficientStorage, "insufficient_storage"},
	{holdfast.ErrUnavailable, http.StatusServiceUnavailable, "unavailable"},
	{context.DeadlineExceeded, http.StatusGatewayTimeout, "timeout"},
	// The client left: nobody reads this response, and it is not a
	// server failure to log.
	{context.Canceled, 499, "canceled"},
}

// errorBody is the JSON error envelope's inner object.
type errorBody struct {
	Code      string `json:"code"`
	Message   string `json:"message"`
	RequestID string `json:"request_id"`
	// Fields lists each invalid input field (code "invalid").
	Fields []holdfast.FieldError `json:"fields,omitempty"`
	// DecisionID and Reasons explain a refusal (code "forbidden").
	DecisionID string   `json:"decision_id,omitempty"`
	Reasons    []string `json:"reasons,omitempty"`
}

// errorEnvelope is {"error": {...}}, the body of every error response.
type errorEnvelope struct {
	Error errorBody `json:"error"`
}

// describeError maps err to its status and envelope through errorTable. A
// 500 says only "internal error"; the caller logs the chain.
func describeError(err error, requestID string) (int, errorBody) {
	body := errorBody{Code: "internal", Message: "internal error", RequestID: requestID}
	status := http.StatusInternalServerError
	for _, m := range errorTable {
		if errors.Is(err, m.err) {
			status, body.Code, body.Message = m.status, m.code, err.Error()
			break
		}
	}
	var dep *holdfast.DependencyError
	if status >= 500 && errors.As(err, &dep) {
		// The cause names paths, hosts and drivers: the log gets it, the
		// client gets what failed and what to do.
		body.Message = dep.Message()
	}
	var verr *holdfast.ValidationError
	if (status == http.StatusUnprocessableEntity || status == http.StatusBadRequest) && errors.As(err, &verr) {
		body.Fields = verr.Fields
	}
	var denied *holdfast.DeniedError
	if status == http.StatusForbidden && errors.As(err, &denied) {
		body.DecisionID = denied.Decision.ID
		body.Reasons = denied.Decision.Reasons
		body.Message = denied.Error()
	}
	return status, body
}

// writeError writes err in the envelope. It logs a 5xx once, with the
// full chain; a client that went away is not logged.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	reqID := requestIDFrom(r.Context())
	status, body := describeError(err, reqID)
	if status >= 500 {
		attrs := []slog.Attr{slog.String("request_id", reqID), slog.String("method", r.Method),
			slog.String("path", r.URL.Path), slog.Int("status", status), slog.String("error", err.Error())}
		logIt := true
		var dep *holdfast.DependencyError
		if errors.As(err, &dep) {
			// A dependency down or full fails every request until it is
			// back: log the condition, not each request of it.
			var suppressed int
			logIt, suppressed = s.faults.note(dep.Dependency+": "+dep.Kind.Error(), s.now())
			if suppressed > 0 {
				attrs = append(attrs, slog.Int("suppressed", suppressed))
			}
		}
		if logIt {
			s.log.LogAttrs(r.Context(), slog.LevelError, "request failed", attrs...)
		}
	}
	switch status {
	case http.StatusUnauthorized:
		w.Header().Set("WWW-Authenticate", `Bearer realm="holdfast"`)
	case http.StatusServiceUnavailable:
		w.Header().Set("Retry-After", retryAfterSeconds)
	}
	if err := writeJSON(w, status, errorEnvelope{Error: body}); err != nil {
		s.log.LogAttrs(r.Context(), slog.LevelError, "write error response",
			slog.String("request_id", reqID), slog.String("error", err.Error()))
	}
}

// faultLogEvery is how often a continuing dependency failure is logged
// again, with the count of failures not logged since.
const faultLogEvery = time.Minute

// faultLog limits the logging of dependency failures to one line per
// condition (dependency and kind) per faultLogEvery. The zero value is
// ready; it is safe for concurrent use.
type faultLog struct {
	mu   sync.Mutex
	seen map[string]*faultState // guarded by mu
}

type faultState struct {
	logged     time.Time
	suppressed int
}

// note records one failure of condition at now and reports whether to log
// it, with how many failures went unlogged before it.
func (l *faultLog) note(condition string, now time.Time) (bool, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.seen == nil {
		l.seen = make(map[string]*faultState)
	}
	st, ok := l.seen[condition]
	if ok && now.Sub(st.logged) < faultLogEvery && now.Sub(st.logged) >= 0 {
		st.suppressed++
		return false, 0
	}
	n := 0
	if ok {
		n = st.suppressed
	}
	l.seen[condition] = &faultState{logged: now}
	return true, n
}

// writeJSON writes v as the JSON answer (httpapi.WriteJSON).
func writeJSON(w http.ResponseWriter, status int, v any) error {
	return httpapi.WriteJSON(w, status, v)
}

// decodeJSON reads one JSON value of at most maxBodyBytes from r's body
// into v, refusing unknown members, trailing data and strings that fail
// checkJSON. It returns errors matching errBadRequest or errTooLarge.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	return decodeJSONLimit(w, r, v, maxBodyBytes)
}

// decodeJSONLimit is decodeJSON with a body limit of limit bytes, for the
// few bodies (snapshot manifests, chunk lists) that are larger by nature.
func decodeJSONLimit(w http.ResponseWriter, r *http.Request, v any, limit int64) error {
	if err := requireJSON(r); err != nil {
		return err
	}
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		return bodyError(err)
	}
	return unmarshalStrict(raw, v, true)
}

// unmarshalStrict decodes raw, one JSON value, into v. Its strings pass
// checkJSON before any of them is decoded, so a bad string in a member of
// a type with its own decoding (a time, a chunk ref) is named as well.
func unmarshalStrict(raw []byte, v any, disallowUnknown bool) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if disallowUnknown {
		dec.DisallowUnknownFields()
	}
	if json.Valid(raw) {
		if err := checkJSON(raw); err != nil {
			return err
		}
	}
	if err := dec.Decode(v); err != nil {
		return bodyError(err)
	}
	if err := dec.Decode(&struct{}{}); !errors.Is(err, io.EOF) {
		if err == nil {
			return fmt.Errorf("%w: request body holds more than one JSON value", errBadRequest)
		}
		return bodyError(err)
	}
	return nil
}

// requireJSON refuses a body sent with a content type other than JSON. An
// absent Content-Type is taken as JSON.
func requireJSON(r *http.Request) error {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return nil
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		return fmt.Errorf("%w: content type %q is not application/json", errBadRequest, ct)
	}
	return nil
}

// bodyError turns a decoding error into a message a client can act on.
func bodyError(err error) error {
	var (
		maxErr    *http.MaxBytesError
		syntaxErr *json.SyntaxError
		typeErr   *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &maxErr):
		return fmt.Errorf("%w: the limit is %d bytes", errTooLarge, maxErr.Limit)
	case errors.Is(err, io.EOF):
		return fmt.Errorf("%w: request body is empty", errBadRequest)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("%w: request body is truncated JSON", errBadRequest)
	case errors.As(err, &syntaxErr):
		return fmt.Errorf("%w: malformed JSON at byte %d", errBadRequest, syntaxErr.Offset)
	case errors.As(err, &typeErr):
		if typeErr.Field != "" {
			return fmt.Errorf("%w: %s must be %s, not %s", errBadRequest, typeErr.Field, typeErr.Type, typeErr.Value)
		}
		return fmt.Errorf("%w: request body must be %s, not %s", errBadRequest, typeErr.Type, typeErr.Value)
	default:
		// json's own messages (unknown field) name the problem well.
		return fmt.Errorf("%w: %s", errBadRequest, err.Error())
	}
}
