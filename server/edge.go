package server

import (
	"context"
	"fmt"
	"io"
	"net/http"
)

// edge is the server as the handler packages it mounts see it
// (httpapi.Edge): its one error table and envelope, its strict input
// and its public URL.
type edge struct{ s *Server }

func (e edge) Describe(r *http.Request, err error) (int, string) {
	status, body := describeError(err, requestIDFrom(r.Context()))
	return status, body.Message
}

func (e edge) WriteError(w http.ResponseWriter, r *http.Request, err error) {
	e.s.writeError(w, r, err)
}

func (e edge) ReadJSON(w http.ResponseWriter, r *http.Request, v any) error {
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		return bodyError(err)
	}
	return unmarshalStrict(raw, v, false)
}

func (e edge) ReadBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if r.Header.Get("Content-Type") == "" {
		return nil, fmt.Errorf("%w: Content-Type must be application/json", errBadRequest)
	}
	if err := requireJSON(r); err != nil {
		return nil, err
	}
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		return nil, bodyError(err)
	}
	return raw, nil
}

func (e edge) CheckJSON(raw []byte) error           { return checkJSON(raw) }
func (e edge) DecodeError(err error) error          { return bodyError(err) }
func (e edge) RequestID(ctx context.Context) string { return requestIDFrom(ctx) }
func (e edge) BaseURL(r *http.Request) string       { return e.s.baseURL(r) }
