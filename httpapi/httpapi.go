// Package httpapi is what the HTTP handlers mounted in the server (SCIM)
// share with it: the sentinel of a request that cannot be read, which the
// server's one error table maps to 400; Edge, the server's error table,
// envelope and input checks as a handler package sees them; and WriteJSON,
// the one way a JSON answer is written.
package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
)

// ErrBadRequest is a request the server cannot read: malformed JSON, a
// wrong content type, a bad query parameter (400 bad_request).
var ErrBadRequest = errors.New("bad request")

// Edge is the server a handler package is mounted in. Implementations
// must be safe for concurrent use.
type Edge interface {
	// Describe maps err through the server's one error table to the
	// status and the message a client may be shown (a 5xx says only
	// "internal error").
	Describe(r *http.Request, err error) (status int, message string)
	// WriteError writes err in the server's JSON error envelope, logging
	// a 5xx once with its request id.
	WriteError(w http.ResponseWriter, r *http.Request, err error)
	// ReadJSON reads r's body, bounded, into v with the server's input
	// checks (UTF-8, control characters); unknown members are ignored.
	// A body it cannot read is an error the table maps to 4xx.
	ReadJSON(w http.ResponseWriter, r *http.Request, v any) error
	// ReadBody reads r's body, bounded, once it is sent as JSON (a
	// missing or other content type is a bad request).
	ReadBody(w http.ResponseWriter, r *http.Request) ([]byte, error)
	// CheckJSON checks every string of the JSON value raw with the
	// server's input checks, naming the member at fault.
	CheckJSON(raw []byte) error
	// DecodeError turns an encoding/json decoding error into the bad
	// request a client can act on.
	DecodeError(err error) error
	// RequestID is the id of the request in ctx, for the log.
	RequestID(ctx context.Context) string
	// BaseURL is the URL clients reach the server at, without a
	// trailing slash.
	BaseURL(r *http.Request) string
}

// WriteJSON encodes v into a buffer first, so an encoding failure can
// still become a clean 500, then writes the status and the body. It
// returns only encoding errors, before anything is written.
func WriteJSON(w http.ResponseWriter, status int, v any) error {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		return fmt.Errorf("encode response: %w", err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	// A failed write means the client is gone; the status is already out,
	// so there is nothing left to tell anyone.
	_, _ = w.Write(buf.Bytes())
	return nil
}
