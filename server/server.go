// Package server is Holdfast's HTTP edge: the management API under
// /api/v1 (with its OpenAPI document), the AuthZEN 1.0 decision API under
// /access/v1 with its discovery document, Prometheus metrics, and the
// middleware every request passes: request id, access log, panic recovery,
// metrics and authentication.
//
// Every management call is decided by the engine first; a change runs in
// one store transaction together with its audit record. Errors are mapped to
// HTTP in one table (errors.go).
package server

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/admins"
	"github.com/holdfast/holdfast/alerts"
	"github.com/holdfast/holdfast/audit"
	chg "github.com/holdfast/holdfast/change"
	"github.com/holdfast/holdfast/devices"
	"github.com/holdfast/holdfast/directory"
	"github.com/holdfast/holdfast/export"
	"github.com/holdfast/holdfast/idp"
	"github.com/holdfast/holdfast/legalhold"
	"github.com/holdfast/holdfast/lockout"
	"github.com/holdfast/holdfast/policies"
	"github.com/holdfast/holdfast/reports"
	"github.com/holdfast/holdfast/scim"
	"github.com/holdfast/holdfast/sdg"
	"github.com/holdfast/holdfast/signin"
	"github.com/holdfast/holdfast/snapshots"
)

// Engine is the part of the decision engine (*authz.Engine) the server
// uses. Implementations must be safe for concurrent use.
type Engine interface {
	holdfast.Authorizer
	// Roles lists the account's roles (available catalog roles with the
	// account's edits, then custom roles), each with its effective rights.
	Roles(ctx context.Context, accountID string) ([]holdfast.Role, error)
	// Role returns one role of the account; missing: ErrNotFound.
	Role(ctx context.Context, accountID, id string) (holdfast.Role, error)
	// SaveRoleRights replaces the grants of a stored role through tx;
	// unknown rights: ErrInvalid.
	SaveRoleRights(ctx context.Context, tx holdfast.MetaStore, accountID, roleID string, rights []string) error
	// DeleteRoleRights removes the grants of a stored role through tx.
	DeleteRoleRights(ctx context.Context, tx holdfast.MetaStore, accountID, roleID string) error
	// Catalog is the rights catalog the engine decides with.
	Catalog() *policies.Catalog
}

// Authenticator resolves the credentials of a request to a principal. It
// returns ErrNoCredentials when the request carries no credential of its
// kind, so that the next authenticator is asked, and an error matching
// holdfast.ErrUnauthenticated for a credential it refuses. Any other error
// is a failure (500). Authenticators must be safe for concurrent use.
type Authenticator func(r *http.Request) (holdfast.Principal, error)

// ErrNoCredentials is what an Authenticator returns for a request without
// a credential of its kind.
var ErrNoCredentials = errors.New("no credentials")

// Options configure a Server.
type Options struct {
	Store  holdfast.MetaStore // required
	Engine Engine             // required
	Logger *slog.Logger       // nil discards
	// PublicURL is the base URL clients reach the server at, for example
	// https://holdfast.example.com. The AuthZEN discovery document names it
	// as the policy decision point; when empty it is derived from each
	// request (scheme and Host).
	PublicURL string
	// TrustedProxies are the load balancers or reverse proxies in front of
	// the server: from them, the client's address is taken from
	// X-Forwarded-For (see realIP). Empty trusts none.
	TrustedProxies []netip.Prefix
	// Registry receives the server's metrics; nil uses a private registry.
	// GET /metrics serves it when it is also a prometheus.Gatherer, and the
	// default gatherer otherwise.
	Registry prometheus.Registerer
	// Authenticators are asked, in order, after the API token (bearer)
	// authenticator: the place for a session cookie resolver.
	Authenticators []Authenticator
	// Clock is the one clock of every expiry, lockout and schedule
	// (sessions, links, sign-in limits, tokens, TOTP); nil is the wall
	// clock.
	Clock holdfast.Clock
	// Auth configures sign-in (sessions, passwords, SSO, SCIM); with a
	// nil Auth.Identity only API tokens authenticate.
	Auth AuthOptions
	// Data is the dedup store behind the backup and restore API
	// (snapshot.go); nil leaves those routes out.
	Data snapshots.Data
	// Export serves legal holds over WebDAV under /dav/holds/; nil uses
	// one over Data, and without Data /dav/holds answers 403.
	Export *export.Exporter
	// Audit verifies the audit trail against its key and checkpoints;
	// nil: GET /api/v1/audit/verify answers 503.
	Audit *audit.Service
	// Alerts configures the alerts service (webhooks, mail).
	Alerts AlertOptions
	// Mailer delivers scheduled reports; nil: schedules run, and each run
	// is recorded as failed.
	Mailer holdfast.Mailer
}

// Server serves Holdfast's HTTP API. It is safe for concurrent use.
type Server struct {
	store  holdfast.MetaStore
	tokens *idp.Tokens
	engine Engine
	// guard keeps every account a platform administrator who can sign in.
	guard *lockout.Guard
	// roleRules decide sign-in by role: fail-safe password, MFA, WebDAV
	// token login.
	roleRules *idp.RoleRules
	log       *slog.Logger
	publicURL string
	clock     holdfast.Clock
	now       func() time.Time // clock.Now
	metrics   *metrics
	authn     []Authenticator
	mux       *http.ServeMux
	// routes lists every registered pattern, in registration order, for the
	// OpenAPI completeness test. Immutable after New.
	routes  []string
	handler http.Handler
	// auth is the sign-in machinery; nil when sign-in is off. Immutable
	// after New.
	auth *authState
	// changes decides, audits and applies every change (package change).
	changes *chg.Runner
	// directory is the users, devices and profiles service.
	directory *directory.Service
	// devices is the device lifecycle service (decommission, upgrades,
	// the command queue).
	devices *devices.Service
	// admins owns administrators, roles, settings, tokens and the trail's
	// listing.
	admins *admins.Service
	data   snapshots.Data     // nil: no backup and restore API
	snaps  *snapshots.Service // nil without data
	holds  *legalhold.Service
	sdg    *sdg.Service
	export *export.Exporter
	audit  *audit.Service // nil: no verification
	// reports runs reports and their schedules.
	reports *reports.Service
	// trustedProxies are Options.TrustedProxies, masked. Immutable.
	trustedProxies []netip.Prefix
	// faults limits the logging of dependency failures.
	faults faultLog
	// scim serves /scim/v2; set by registerSCIM.
	scim *scim.Handler
	// signin owns sessions, passwords, MFA, links and SSO completion.
	signin *signin.Service
	// alerts raises and delivers alerts; its loop runs outside the server.
	alerts *alerts.Service
}

// New returns a server over opts.Store and opts.Engine.
func New(opts Options) (*Server, error) {
	if opts.Store == nil {
		return nil, errors.New("server: a store is required")
	}
	if opts.Engine == nil {
		return nil, errors.New("server: an engine is required")
	}
	s, err := newServer(opts)
	if err != nil {
		return nil, err
	}
	if err := s.initServices(opts); err != nil {
		return nil, err
	}
	s.authn = append([]Authenticator{s.bearerToken}, opts.Authenticators...)
	s.registerRoutes()
	if err := s.initAuth(opts.Auth); err != nil {
		return nil, err
	}
	s.handler = s.realIP(s.observe(s.recoverPanics(s.jsonMisses(s.mux))))
	return s, nil
}

// newServer returns the server's own state over opts: clock, logger,
// public URL, metrics, the route table.
func newServer(opts Options) (*Server, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	clock := holdfast.ClockOrSystem(opts.Clock)
	publicURL, err := normalizePublicURL(opts.PublicURL)
	if err != nil {
		return nil, err
	}
	m, err := newMetrics(opts.Registry, opts.Engine)
	if err != nil {
		return nil, err
	}
	return &Server{
		store:          opts.Store,
		tokens:         idp.NewTokens(opts.Store),
		engine:         opts.Engine,
		guard:          newGuard(opts.Engine),
		roleRules:      idp.NewRoleRules(opts.Engine, opts.Engine.Catalog()),
		log:            log.With("component", "server"),
		publicURL:      publicURL,
		trustedProxies: maskedPrefixes(opts.TrustedProxies),
		clock:          clock,
		now:            clock.Now,
		metrics:        m,
		mux:            http.NewServeMux(),
		data:           opts.Data,
		export:         opts.Export,
		audit:          opts.Audit,
	}, nil
}

// initServices builds the domain services the handlers call, all over one
// change runner.
func (s *Server) initServices(opts Options) error {
	s.changes = chg.New(chg.Options{Store: s.store, Authorizer: meteredAuthorizer{Authorizer: s.engine, m: s.metrics},
		Clock: s.clock, Logger: s.log, RequestID: requestIDFrom})
	s.holds = legalhold.New(s.store, legalhold.Options{Now: s.clock.Now, Changes: s.changes, KnownSource: s.knownWorkload, Snapshots: opts.Data})
	s.sdg = sdg.New(sdg.Options{Changes: s.changes, KnownWorkload: s.knownWorkload})
	if opts.Data != nil {
		s.snaps = snapshots.New(opts.Data, s.changes)
	}
	s.directory = newDirectory(s)
	s.devices = devices.New(devices.Options{Runner: s.changes, Scope: s.directory})
	s.alerts = alerts.New(alerts.Options{Changes: s.changes, Clock: s.clock, Logger: s.log, Sources: opts.Alerts.Sources,
		RepeatInterval: opts.Alerts.RepeatInterval, Client: opts.Alerts.Client, AllowPrivate: opts.Alerts.AllowPrivate,
		Mailer: opts.Alerts.Mailer})
	var err error
	if s.admins, err = admins.New(admins.Options{Changes: s.changes, Engine: s.engine, Void: signin.VoidCredentials, Verifier: opts.Audit}); err != nil {
		return err
	}
	if s.signin, err = s.newSignin(opts.Auth); err != nil {
		return err
	}
	if s.export == nil && opts.Data != nil {
		s.export = export.New(export.Options{Data: opts.Data, Meta: opts.Store, Parent: s.workloadParent})
	}
	s.reports = newReports(s, opts)
	return nil
}

// newSignin builds the sign-in service of opts; it serves the sweeps and
// the disabling of administrators even with sign-in off.
func (s *Server) newSignin(opts AuthOptions) (*signin.Service, error) {
	return signin.New(signin.Options{Changes: s.changes, Rules: s.roleRules, Guard: s.guard, Clock: s.clock,
		Logger: s.log, Mailer: opts.Mailer, IdleTimeout: opts.IdleTimeout, MaxAge: opts.MaxAge, RequestID: requestIDFrom,
		Counted: func(method, outcome string) { s.metrics.signIns.WithLabelValues(method, outcome).Inc() }})
}

// newGuard builds the lockout guard from the rights the engine's catalog
// names.
func newGuard(e Engine) *lockout.Guard {
	rules := e.Catalog().Rules
	return lockout.New(e, rules.PlatformAdminRight, rules.FailsafeRight)
}

// Handler returns the HTTP handler of every route, wrapped in the
// middleware.
func (s *Server) Handler() http.Handler { return s.handler }

// registerRoutes is the route table.
func (s *Server) registerRoutes() {
	s.public("GET /metrics", s.metrics.handler)
	s.registerAuthZEN()

	s.public("GET /api/v1/openapi.json", http.HandlerFunc(s.openAPI))

	s.registerAdminRoutes()
	s.registerDirectoryRoutes()

	s.authed("GET /api/v1/legal-hold-types", s.listHoldTypes)
	s.authed("POST /api/v1/legal-hold-types", s.createHoldType)
	s.authed("PATCH /api/v1/legal-hold-types/{id}", s.updateHoldType)
	s.authed("DELETE /api/v1/legal-hold-types/{id}", s.deleteHoldType)
	s.registerHoldRoutes()

	s.authed("GET /api/v1/account", s.getAccount)
	s.authed("PATCH /api/v1/account/settings", s.updateSettings)

	s.authed("GET /api/v1/audit", s.listAudit)
	s.authed("GET /api/v1/audit/verify", s.verifyAudit)
	s.authed("GET /api/v1/audit/export", s.exportAudit)

	s.registerSnapshotRoutes()
	s.registerSDGRoutes()
	s.registerDeviceRoutes()
	s.registerComplianceRoutes()
	s.registerReportRoutes()
	s.registerSCIM()
	s.registerAlertRoutes()
}

// registerAdminRoutes is the route table of administrators and roles.
func (s *Server) registerAdminRoutes() {
	s.authed("GET /api/v1/administrators", s.listAdmins)
	s.authed("POST /api/v1/administrators", s.createAdmin)
	s.authed("GET /api/v1/administrators/{id}", s.getAdmin)
	s.authed("PATCH /api/v1/administrators/{id}", s.updateAdmin)
	s.authed("DELETE /api/v1/administrators/{id}", s.deleteAdmin)

	s.authed("GET /api/v1/roles", s.listRoles)
	s.authed("POST /api/v1/roles", s.createRole)
	s.authed("GET /api/v1/roles/{id}", s.getRole)
	s.authed("PATCH /api/v1/roles/{id}", s.updateRole)
	s.authed("DELETE /api/v1/roles/{id}", s.deleteRole)
	s.authed("GET /api/v1/rights", s.listRights)
}

// registerDirectoryRoutes is the route table of profiles, users and
// devices.
func (s *Server) registerDirectoryRoutes() {
	s.authed("GET /api/v1/profiles", s.listProfiles)
	s.authed("POST /api/v1/profiles", s.createProfile)
	s.authed("GET /api/v1/profiles/{id}", s.getProfile)
	s.authed("PATCH /api/v1/profiles/{id}", s.updateProfile)
	s.authed("DELETE /api/v1/profiles/{id}", s.deleteProfile)

	s.authed("GET /api/v1/users", s.listUsers)
	s.authed("POST /api/v1/users", s.createUser)
	s.authed("GET /api/v1/users/{id}", s.getUser)
	s.authed("PATCH /api/v1/users/{id}", s.updateUser)
	s.authed("DELETE /api/v1/users/{id}", s.deleteUser)
	s.authed("POST /api/v1/users/{id}/preserve", s.preserveUser)
	s.authed("POST /api/v1/users/{id}/activate", s.activateUser)
	s.authed("POST /api/v1/users/{id}/restore", s.restoreUser)

	s.authed("GET /api/v1/devices", s.listDevices)
	s.authed("POST /api/v1/devices", s.createDevice)
	s.authed("GET /api/v1/devices/{id}", s.getDevice)
	s.authed("PATCH /api/v1/devices/{id}", s.updateDevice)
	s.authed("DELETE /api/v1/devices/{id}", s.deleteDevice)
}

// apiFunc is a handler that returns its error for the edge to write.
type apiFunc func(w http.ResponseWriter, r *http.Request) error

// public registers a route that needs no credentials.
func (s *Server) public(pattern string, h http.Handler) {
	s.routes = append(s.routes, pattern)
	s.mux.Handle(pattern, s.route(pattern, h))
}

// authed registers a route for authenticated callers: the request's
// principal is in its context when fn runs.
func (s *Server) authed(pattern string, fn apiFunc) {
	s.routes = append(s.routes, pattern)
	s.mux.Handle(pattern, s.route(pattern, s.authenticate(s.api(fn))))
}

// api adapts fn to http.Handler, writing its error in the envelope.
func (s *Server) api(fn apiFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := fn(w, r); err != nil {
			s.writeError(w, r, err)
		}
	})
}

func maskedPrefixes(ps []netip.Prefix) []netip.Prefix {
	out := make([]netip.Prefix, 0, len(ps))
	for _, p := range ps {
		out = append(out, p.Masked())
	}
	return out
}
