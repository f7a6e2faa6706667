package server

import (
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
