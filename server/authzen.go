package server

import (
	"context"
	"net/http"

	"github.com/holdfast/holdfast/authzen"
)

// registerAuthZEN mounts the AuthZEN 1.0 decision API (package authzen):
// the discovery document is public, the evaluations take an API token or
// a session like the rest of the API.
func (s *Server) registerAuthZEN() {
	az := authzen.New(authzen.Options{Engine: s.engine, Decided: s.metrics.decided, Authorize: s.authorizePEP,
		Edge: edge{s}, Logger: s.log})
	s.public("GET "+authzen.ConfigurationPath, http.HandlerFunc(az.Configuration))
	s.authed("POST "+authzen.EvaluationPath, az.Evaluation)
	s.authed("POST "+authzen.EvaluationsPath, az.Evaluations)
}

// authorizePEP refuses a caller whose token owner may not view the
// account's administrators: asking about them is as much as reading them.
func (s *Server) authorizePEP(ctx context.Context) error {
	_, err := s.decide(ctx, check{right: "admins.view", resource: accountEntity(ctx)})
	return err
}
