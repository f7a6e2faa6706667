package backup

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/cenkalti/backoff/v5"
)

// retrying is the client's transport: it sends a request again when it
// failed in transit (connection refused or reset, closed before an
// answer: a replica that died, a proxy that lost it) or was answered 429
// or a transient 5xx (500, 502, 503, 504), with exponential backoff and
// jitter, never sooner than the server's Retry-After, for up to retryFor
// in all. Every request of the backup and restore API may be sent again:
// asking which chunks are missing changes nothing, an upload of a chunk
// the server has is a no-op, and a commit is idempotent (see Run). When
// the retries run out, the last answer (or error) is returned as it came.
// A request whose body cannot be sent again (no GetBody) is sent once.
type retrying struct {
	base     http.RoundTripper
	retryFor func() time.Duration
}

// maxRetryInterval bounds one wait between tries.
const maxRetryInterval = 30 * time.Second

func (t *retrying) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil && req.Body != http.NoBody && req.GetBody == nil {
		return t.base.RoundTrip(req)
	}
	ctx := req.Context()
	wait := &retryAfter{ExponentialBackOff: backoff.NewExponentialBackOff()}
	wait.MaxInterval = maxRetryInterval
	attempt := 0
	resp, err := backoff.Retry(ctx, func() (*http.Response, error) {
		r, err := t.try(req, attempt)
		attempt++
		switch {
		case err != nil && permanent(err):
			return nil, backoff.Permanent(err)
		case err != nil:
			return nil, err
		case !transientStatus(r.StatusCode):
			return r, nil
		}
		wait.floor = retryAfterHeader(r.Header, time.Now())
		return buffered(r), errTransient
	}, backoff.WithBackOff(wait), backoff.WithMaxElapsedTime(t.retryFor()))
	if errors.Is(err, errTransient) {
		return resp, nil // the last answer, for the caller to read
	}
	if err != nil {
		return nil, err
	}
	return resp, nil
}

// try sends attempt n of req, with a fresh body after the first.
func (t *retrying) try(req *http.Request, n int) (*http.Response, error) {
	if n == 0 || req.GetBody == nil {
		return t.base.RoundTrip(req)
	}
	body, err := req.GetBody()
	if err != nil {
		return nil, backoff.Permanent(err)
	}
	r := req.Clone(req.Context())
	r.Body = body
	return t.base.RoundTrip(r)
}

var errTransient = errors.New("transient answer")

// transientStatus reports whether an answer may differ if the request is
// sent again soon: too many requests, an internal error, a proxy that
// could not reach the server, a server that cannot serve now. A full
// store (507) is not: it stays full until someone acts.
func transientStatus(code int) bool {
	switch code {
	case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// permanent reports a transport error that trying again cannot cure: a
// certificate the client does not trust.
func permanent(err error) bool {
	var verify *tls.CertificateVerificationError
	var unknown x509.UnknownAuthorityError
	var host x509.HostnameError
	return errors.As(err, &verify) || errors.As(err, &unknown) || errors.As(err, &host)
}

// retryAfterHeader is the wait a Retry-After header asks for, in seconds
// or as an HTTP date; 0 when there is none.
func retryAfterHeader(h http.Header, now time.Time) time.Duration {
	v := h.Get("Retry-After")
	if v == "" {
		return 0
	}
	if secs, err := strconv.Atoi(v); err == nil && secs > 0 {
		return time.Duration(secs) * time.Second
	}
	if at, err := http.ParseTime(v); err == nil && at.After(now) {
		return at.Sub(now)
	}
	return 0
}

// buffered reads an error answer's body (bounded) and closes the
// connection's, so it can be returned after later tries.
func buffered(r *http.Response) *http.Response {
	b, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	_ = r.Body.Close()
	r.Body = io.NopCloser(bytes.NewReader(b))
	r.ContentLength = int64(len(b))
	return r
}

// retryAfter is exponential backoff with jitter that never waits less
// than the server's last Retry-After.
type retryAfter struct {
	*backoff.ExponentialBackOff
	floor time.Duration
}

func (r *retryAfter) NextBackOff() time.Duration {
	return max(r.ExponentialBackOff.NextBackOff(), r.floor)
}
