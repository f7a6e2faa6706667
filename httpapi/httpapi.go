// Package httpapi is what the HTTP handlers mounted in the server (SCIM)
// share with it: the sentinel of a request that cannot be read, which the
// server's one error table maps to 400, and Edge, the server's error
// table, envelope and input checks as a handler package sees them.
package httpapi

import (
	"errors"
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
	// BaseURL is the URL clients reach the server at, without a
	// trailing slash.
	BaseURL(r *http.Request) string
}
