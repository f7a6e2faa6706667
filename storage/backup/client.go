// Package backup is the client side of backup and restore: it reads files,
// mail (mbox, Maildir, .eml), calendars (.ics, Microsoft Graph JSON) and
// contacts (.vcf, Graph JSON), cuts them into chunks with the account's
// chunker, asks the server which chunks it lacks, uploads only those and
// commits a snapshot; and it restores snapshots back to files. It talks to
// the server's /api/v1 backup and restore API only.
package backup

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/storage"
)

// Client calls a Holdfast server's backup and restore API with an API
// token. It is safe for concurrent use.
type Client struct {
	base  string
	token holdfast.Secret
	http  *http.Client
	// RetryFor bounds how long a request that failed in transit, or was
	// answered 429 or a transient 5xx, is retried, with exponential
	// backoff and jitter, never sooner than the server's Retry-After (see
	// retrying). Zero means DefaultRetryFor; set it before the first
	// request.
	RetryFor time.Duration
}

// DefaultRetryFor is how long a client retries a server that is
// unreachable or answers a transient failure.
const DefaultRetryFor = 2 * time.Minute

func (c *Client) retryFor() time.Duration {
	if c.RetryFor <= 0 {
		return DefaultRetryFor
	}
	return c.RetryFor
}

// NewClient returns a client of the server at baseURL (http or https).
// A nil hc uses a client without overall timeout (uploads and restores run
// for as long as they need; each request is bound by its context).
func NewClient(baseURL string, token holdfast.Secret, hc *http.Client) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%w: server URL %q is not an absolute http(s) URL", holdfast.ErrInvalid, baseURL)
	}
	if token == "" {
		return nil, fmt.Errorf("%w: an API token is required", holdfast.ErrInvalid)
	}
	if hc == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = 16
		hc = &http.Client{Transport: tr}
	}
	// Every request, streams included, goes through the retrying
	// transport.
	c := &Client{base: strings.TrimRight(u.String(), "/"), token: token}
	base := hc.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	retried := *hc
	retried.Transport = &retrying{base: base, retryFor: c.retryFor}
	c.http = &retried
	return c, nil
}

// APIError is an error answer of the server: its status and envelope.
type APIError struct {
	Status    int
	Code      string
	Message   string
	RequestID string
	Fields    []holdfast.FieldError
	Reasons   []string
	// RetryAfter is the server's Retry-After (in seconds form), if any.
	RetryAfter time.Duration
}

func (e *APIError) Error() string {
	msg := fmt.Sprintf("server: %d %s: %s", e.Status, e.Code, e.Message)
	if len(e.Reasons) > 0 {
		msg += " (" + strings.Join(e.Reasons, "; ") + ")"
	}
	if e.RequestID != "" {
		msg += " [request " + e.RequestID + "]"
	}
	return msg
}

// Is maps the server's status onto the domain's sentinels.
func (e *APIError) Is(target error) bool {
	switch target {
	case holdfast.ErrNotFound:
		return e.Status == http.StatusNotFound
	case holdfast.ErrDenied:
		return e.Status == http.StatusForbidden
	case holdfast.ErrUnauthenticated:
		return e.Status == http.StatusUnauthorized
	case holdfast.ErrInvalid:
		return e.Status == http.StatusUnprocessableEntity || e.Status == http.StatusBadRequest
	case holdfast.ErrConflict:
		return e.Status == http.StatusConflict
	case holdfast.ErrOverQuota:
		return e.Status == http.StatusConflict && e.Code == "quota_exceeded"
	case holdfast.ErrUnavailable:
		return e.Status == http.StatusServiceUnavailable
	case holdfast.ErrNoSpace:
		return e.Status == http.StatusInsufficientStorage
	}
	return false
}

// do sends a request with body (nil: none) and decodes a JSON answer into
// out (nil: discard). Transient failures are retried by the transport (see
// Client.RetryFor); any other answer, 507 included, is final at once.
func (c *Client) do(ctx context.Context, method, path, contentType string, body []byte, out any) error {
	err := c.send(ctx, method, path, contentType, body, out)
	var transit *url.Error
	switch {
	case ctx.Err() != nil:
		return err
	case errors.Is(err, holdfast.ErrUnavailable):
		return fmt.Errorf("server unavailable, still after retrying for up to %s: %w", c.retryFor(), err)
	case errors.As(err, &transit):
		return fmt.Errorf("server unreachable, still after retrying for up to %s: %w", c.retryFor(), err)
	}
	return err
}

// send is do without its messages.
func (c *Client) send(ctx context.Context, method, path, contentType string, body []byte, out any) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token.Reveal())
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		return readAPIError(resp)
	}
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("server: %s %s: decode answer: %w", method, path, err)
	}
	return nil
}

func readAPIError(resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var env struct {
		Error struct {
			Code      string                `json:"code"`
			Message   string                `json:"message"`
			RequestID string                `json:"request_id"`
			Fields    []holdfast.FieldError `json:"fields"`
			Reasons   []string              `json:"reasons"`
		} `json:"error"`
	}
	e := &APIError{Status: resp.StatusCode, Code: http.StatusText(resp.StatusCode)}
	if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && secs > 0 {
		e.RetryAfter = time.Duration(secs) * time.Second
	}
	if json.Unmarshal(b, &env) == nil && env.Error.Code != "" {
		e.Code, e.Message, e.RequestID = env.Error.Code, env.Error.Message, env.Error.RequestID
		e.Fields, e.Reasons = env.Error.Fields, env.Error.Reasons
	} else {
		e.Message = strings.TrimSpace(string(b))
	}
	return e
}

func (c *Client) doJSON(ctx context.Context, method, path string, in, out any) error {
	if in == nil {
		return c.do(ctx, method, path, "", nil, out)
	}
	b, err := json.Marshal(in)
	if err != nil {
		return err
	}
	return c.do(ctx, method, path, "application/json", b, out)
}

// Target is what the server answers to a backup start.
type Target struct {
	UserID     string         `json:"user_id"`
	DeviceID   string         `json:"device_id"`
	Device     string         `json:"device"`
	Source     storage.Source `json:"source"`
	ChunkerKey []byte         `json:"chunker_key"`
	// Policy is the device's effective backup policy (its user's
	// profile's): Run backs up its folders when given no path, and leaves
	// out the file types and sizes it excludes.
	Policy holdfast.BackupPolicy `json:"policy"`
}

// ReportRun tells the server a run of the device failed (result
// holdfast.BackupFailed) or committed a partial snapshot, with why.
func (c *Client) ReportRun(ctx context.Context, deviceID, result, why string) error {
	if len(why) > maxReportError {
		why = strings.ToValidUTF8(why[:maxReportError], "")
	}
	return c.doJSON(ctx, "POST", "/api/v1/backups/"+url.PathEscape(deviceID)+"/runs",
		map[string]string{"result": result, "error": why}, nil)
}

// maxReportError is the server's bound on a reported error.
const maxReportError = 2000

// Start resolves the user and the endpoint (device) or SaaS source (src)
// to back up, and returns the target with the account's chunker key.
func (c *Client) Start(ctx context.Context, user, device string, src storage.Source) (Target, error) {
	in := map[string]any{"user": user}
	if device != "" {
		in["device"] = device
	} else {
		in["source"] = src
	}
	var t Target
	if err := c.doJSON(ctx, "POST", "/api/v1/backups", in, &t); err != nil {
		return t, err
	}
	if len(t.ChunkerKey) != len(storage.ChunkerKey{}) {
		return t, fmt.Errorf("server: chunker key of %d bytes", len(t.ChunkerKey))
	}
	return t, nil
}

type refsBody struct {
	Refs []holdfast.ChunkRef `json:"refs"`
}

// maxRefsPerCall is the server's bound on one Missing call.
const maxRefsPerCall = 50_000

// Missing returns which of refs the server lacks.
func (c *Client) Missing(ctx context.Context, deviceID string, refs []holdfast.ChunkRef) ([]holdfast.ChunkRef, error) {
	var missing []holdfast.ChunkRef
	for len(refs) > 0 {
		n := min(len(refs), maxRefsPerCall)
		var out refsBody
		if err := c.doJSON(ctx, "POST", "/api/v1/backups/"+url.PathEscape(deviceID)+"/missing", refsBody{Refs: refs[:n]}, &out); err != nil {
			return nil, err
		}
		missing = append(missing, out.Refs...)
		refs = refs[n:]
	}
	return missing, nil
}

// PutChunk uploads one chunk's plaintext.
func (c *Client) PutChunk(ctx context.Context, deviceID string, ref holdfast.ChunkRef, data []byte) error {
	return c.do(ctx, "PUT", "/api/v1/backups/"+url.PathEscape(deviceID)+"/chunks/"+ref.String(),
		"application/octet-stream", data, nil)
}

// PutChunks uploads a batch of chunks in one request (POST
// .../chunks, each framed as ref, big-endian length and plaintext); the
// server answers once all are durable.
func (c *Client) PutChunks(ctx context.Context, deviceID string, chunks []pendingChunk) error {
	n := 0
	for _, ch := range chunks {
		n += chunkFrameHeader + len(ch.data)
	}
	body := make([]byte, 0, n)
	for _, ch := range chunks {
		body = append(body, ch.ref[:]...)
		body = binary.BigEndian.AppendUint32(body, uint32(len(ch.data)))
		body = append(body, ch.data...)
	}
	return c.do(ctx, "POST", "/api/v1/backups/"+url.PathEscape(deviceID)+"/chunks", "application/octet-stream", body, nil)
}

// chunkFrameHeader is a batch frame's ref and length; maxUploadBatch the
// bytes of chunk data the client puts in one batch (the server takes up to
// 16 MaxChunk).
const (
	chunkFrameHeader = 36
	maxUploadBatch   = 8 << 20
)

// Commit stores a snapshot of the target's items.
func (c *Client) Commit(ctx context.Context, t Target, at time.Time, items []storage.Item) (storage.Snapshot, error) {
	var sn storage.Snapshot
	in := map[string]any{"source": t.Source, "items": items}
	if !at.IsZero() {
		in["time"] = at
	}
	err := c.doJSON(ctx, "POST", "/api/v1/backups/"+url.PathEscape(t.DeviceID)+"/snapshots", in, &sn)
	return sn, err
}

// Snapshots lists a user's (id or email) snapshots, oldest first,
// following the list's pages to the last.
func (c *Client) Snapshots(ctx context.Context, user string) ([]storage.Snapshot, error) {
	var all []storage.Snapshot
	cursor := ""
	for {
		var out struct {
			Snapshots  []storage.Snapshot `json:"snapshots"`
			NextCursor string             `json:"next_cursor"`
		}
		path := "/api/v1/snapshots?limit=1000&user_id=" + url.QueryEscape(user)
		if cursor != "" {
			path += "&cursor=" + url.QueryEscape(cursor)
		}
		if err := c.doJSON(ctx, "GET", path, nil, &out); err != nil {
			return nil, err
		}
		all = append(all, out.Snapshots...)
		if out.NextCursor == "" {
			return all, nil
		}
		cursor = out.NextCursor
	}
}

// Snapshot returns a snapshot with its items.
func (c *Client) Snapshot(ctx context.Context, id string) (storage.Snapshot, error) {
	var sn storage.Snapshot
	err := c.doJSON(ctx, "GET", "/api/v1/snapshots/"+url.PathEscape(id), nil, &sn)
	return sn, err
}

// Content opens an item's bytes. The caller closes the reader.
func (c *Client) Content(ctx context.Context, snapID, path string) (io.ReadCloser, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", c.base+"/api/v1/snapshots/"+url.PathEscape(snapID)+"/content?path="+url.QueryEscape(path), nil)
	if err != nil {
		return nil, err
	}
	return c.stream(req)
}

// RestoreStream opens a tar stream of a snapshot's items at paths, in that
// order (POST .../restore). The caller closes the reader.
func (c *Client) RestoreStream(ctx context.Context, snapID string, paths []string) (io.ReadCloser, error) {
	body, err := json.Marshal(map[string]any{"paths": paths})
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, "POST", c.base+"/api/v1/snapshots/"+url.PathEscape(snapID)+"/restore", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	return c.stream(req)
}

// stream sends req and returns the body of a 200 answer.
func (c *Client) stream(req *http.Request) (io.ReadCloser, error) {
	req.Header.Set("Authorization", "Bearer "+c.token.Reveal())
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		return nil, readAPIError(resp)
	}
	return resp.Body, nil
}

// isMissingChunks reports whether err is a commit refused for missing
// chunks (422 with fields named "chunks").
func isMissingChunks(err error) bool {
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != http.StatusUnprocessableEntity {
		return false
	}
	for _, f := range ae.Fields {
		if f.Field == "chunks" {
			return true
		}
	}
	return false
}
