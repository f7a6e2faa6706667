package server

import (
	"io"
	"net/http"

	"github.com/holdfast/holdfast/scim"
)

// registerSCIM mounts SCIM (package scim) at /scim/v2. Provisioning
// clients hold an API token; a console session (cookie) is not a SCIM
// credential, so a page an administrator has open can never be made to
// provision through it.
func (s *Server) registerSCIM() {
	s.scim = scim.New(s.directory, edge{s})
	for _, rt := range s.scim.Routes() {
		s.routes = append(s.routes, rt.Pattern)
		s.mux.Handle(rt.Pattern, s.route(rt.Pattern, s.authenticateWith([]Authenticator{s.bearerToken}, rt.Handler)))
	}
}

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

func (e edge) BaseURL(r *http.Request) string { return e.s.baseURL(r) }
