// Package signin is the domain service of how administrators get in
// (rights-and-roles.md sections 5 and 6): sessions (creation, idle and
// absolute timeouts, a new id at every step, revocation), password
// sign-in (the fail-safe rules of idp.RoleRules, attempt limits and
// lockout, MFA: TOTP enrolment and verification, recovery codes), the
// setting, change and reset of passwords under the policy, reset,
// invitation and setup links (issued, used once, spent, voiding the
// others), the completion of a single sign-on, and the disabling of
// inactive administrators.
//
// The mechanics (argon2id, TOTP, the geofence's rules, the role rules)
// are in idp; this package applies them to the store. Every method takes
// what it needs (the principal, or the sign-in attempt), applies the
// rules and writes its audit record in the change's transaction
// (change.Runner): a sign-in or change that cannot be audited does not
// happen. The HTTP edge (server) reads cookies and forms, calls one
// method and writes the answer; it never decides. Time is the injected
// holdfast.Clock; secrets are compared in constant time and never logged.
package signin

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"sync"
	"time"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/change"
	"github.com/holdfast/holdfast/idp"
	"github.com/holdfast/holdfast/lockout"
)

// Defaults and fixed limits of sign-in.
const (
	DefaultIdleTimeout = 30 * time.Minute
	DefaultMaxAge      = 12 * time.Hour
	// PendingMaxAge bounds a session that still owes a sign-in step.
	PendingMaxAge = 10 * time.Minute
	// touchEvery is how stale a session's last-seen time may get before
	// it is written again.
	touchEvery = time.Minute
	// LinkValidity is how long reset, invitation and setup links work.
	LinkValidity = 24 * time.Hour
	// mailTimeout bounds the sending of one link.
	mailTimeout = 30 * time.Second
)

// Errors of sign-in. Every refused password sign-in is ErrBadLogin, so an
// answer never tells whether an email exists, is locked or disabled.
var (
	ErrBadLogin    = fmt.Errorf("%w: wrong email or password, or the account is locked", holdfast.ErrUnauthenticated)
	ErrSessionOver = fmt.Errorf("%w: the session is over; sign in again", holdfast.ErrUnauthenticated)
	ErrCSRF        = fmt.Errorf("%w: a change made with a session cookie needs the %s header of GET /auth/session", holdfast.ErrDenied, CSRFHeader)
	ErrSSORequired = fmt.Errorf("%w: this account signs in through its identity provider", holdfast.ErrDenied)
	ErrStepOwed    = fmt.Errorf("%w: finish signing in first", holdfast.ErrUnauthenticated)
	ErrWrongStep   = fmt.Errorf("%w: this session does not owe that step", holdfast.ErrUnauthenticated)
	ErrBadLink     = fmt.Errorf("%w: the link is invalid, used or expired; ask for a new one", holdfast.ErrInvalid)
	ErrWrongMFA    = fmt.Errorf("%w: wrong or reused code", holdfast.ErrUnauthenticated)
	// ErrBadSSO is every refused single sign-on: the IdP vouched for
	// someone who is not (or no longer) an administrator here.
	ErrBadSSO = fmt.Errorf("%w: single sign-on failed", holdfast.ErrUnauthenticated)
	// ErrOutsideFence is a sign-in or request from outside the account's
	// geofence.
	ErrOutsideFence = idp.ErrOutsideFence
)

// RetryError is a refusal after which the same step may be tried again
// (a wrong code, a password the policy refuses); other refusals start the
// sign-in over.
type RetryError struct {
	Step string // the session step to retry
	Err  error
}

func (e *RetryError) Error() string { return e.Err.Error() }
func (e *RetryError) Unwrap() error { return e.Err }

// retry marks err, when it is a refusal, as one after which step may be
// tried again.
func retry(step string, err error) error {
	if err == nil {
		return nil
	}
	return &RetryError{Step: step, Err: err}
}

// RetryStep returns the step err lets the caller try again, "" for none.
func RetryStep(err error) string {
	var r *RetryError
	if errors.As(err, &r) {
		return r.Step
	}
	return ""
}

// CSRFHeader carries a cookie session's CSRF token on every change.
const CSRFHeader = "X-CSRF-Token"

// Options configure a Service.
type Options struct {
	Changes *change.Runner // required: audits and applies
	Rules   *idp.RoleRules // required: how each role may sign in
	Guard   *lockout.Guard // required: the account keeps a platform administrator
	Clock   holdfast.Clock // nil: the wall clock
	Logger  *slog.Logger   // nil discards
	// Mailer sends reset and invitation links; nil only logs that a
	// message was dropped.
	Mailer holdfast.Mailer
	// IdleTimeout ends a session unused this long (default 30 minutes);
	// MaxAge ends any session this long after sign-in (default 12 hours).
	IdleTimeout, MaxAge time.Duration
	// Counted, when set, is told of every sign-in's method and outcome
	// (the server's metrics).
	Counted func(method, outcome string)
	// RequestID returns the request id ctx carries, for logs.
	RequestID func(ctx context.Context) string
}

// Service is the sign-in domain service. It is safe for concurrent use.
type Service struct {
	changes   *change.Runner
	store     holdfast.MetaStore
	rules     *idp.RoleRules
	guard     *lockout.Guard
	clock     holdfast.Clock
	log       *slog.Logger
	mailer    holdfast.Mailer
	idle      time.Duration
	maxAge    time.Duration
	counted   func(method, outcome string)
	requestID func(context.Context) string
	// settings caches identity settings (the geofence) per revision.
	settings idp.SettingsCache
	// attempts limits sign-in attempts per client address.
	attempts Limiter
	// dummyHash is verified against when an email is unknown, so that the
	// answer takes as long as for a known one; made at first use.
	dummyHash func() (string, error)
	// failureLocks serialize, per administrator (striped by id), the
	// read-modify-write of the failed sign-in count (countFailure).
	failureLocks [64]sync.Mutex
}

// New returns the service over opts.
func New(opts Options) (*Service, error) {
	if opts.Changes == nil || opts.Rules == nil || opts.Guard == nil {
		return nil, errors.New("signin: a change runner, role rules and a lockout guard are required")
	}
	s := &Service{changes: opts.Changes, store: opts.Changes.Store(), rules: opts.Rules, guard: opts.Guard,
		clock: holdfast.ClockOrSystem(opts.Clock), log: opts.Logger, mailer: opts.Mailer, idle: opts.IdleTimeout,
		maxAge: opts.MaxAge, counted: opts.Counted, requestID: opts.RequestID}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.idle <= 0 {
		s.idle = DefaultIdleTimeout
	}
	if s.maxAge <= 0 {
		s.maxAge = DefaultMaxAge
	}
	if s.counted == nil {
		s.counted = func(string, string) {}
	}
	if s.requestID == nil {
		s.requestID = func(context.Context) string { return "" }
	}
	s.dummyHash = sync.OnceValues(func() (string, error) { return idp.HashPassword("dummy password for unknown emails") })
	return s, nil
}

// IdleTimeout is how long an unused session lives.
func (s *Service) IdleTimeout() time.Duration { return s.idle }

// now is the service's clock in UTC.
func (s *Service) now() time.Time { return s.clock.Now().UTC() }

// burn spends the work of one password check on a hash nobody has, so a
// refusal before the password is proven takes as long as after.
func (s *Service) burn(password string) {
	if h, err := s.dummyHash(); err == nil {
		_, _ = idp.VerifyPassword(h, password)
	}
}

// failureLock returns the lock of adminID's failure count.
func (s *Service) failureLock(adminID string) *sync.Mutex {
	h := fnv.New32a()
	h.Write([]byte(adminID))
	return &s.failureLocks[h.Sum32()%uint32(len(s.failureLocks))]
}

// NewSecret returns n random bytes as unpadded base64url: a session,
// link or state secret.
func NewSecret(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return base64.RawURLEncoding.EncodeToString(b)
}

// SecretID is the store key of a secret: hex SHA-256. Secrets are random
// and long, so a fast hash is enough.
func SecretID(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// SecretEqual compares two secrets in constant time.
func SecretEqual(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// Credentials returns the administrator's password-login state through
// ids, empty when none was stored yet.
func Credentials(ctx context.Context, ids holdfast.IdentityStore, a holdfast.Administrator) (holdfast.Credentials, error) {
	c, err := ids.GetCredentials(ctx, a.AccountID, a.ID)
	if errors.Is(err, holdfast.ErrNotFound) {
		return holdfast.Credentials{AccountID: a.AccountID, AdminID: a.ID}, nil
	}
	return c, err
}

// actor is the administrator as the principal of its own sign-in.
func actor(a holdfast.Administrator) holdfast.Principal {
	return holdfast.Principal{Kind: holdfast.PrincipalAdmin, AccountID: a.AccountID, AdminID: a.ID, Email: a.Email}
}

// signInRecord counts a sign-in and returns its audit record.
func (s *Service) signInRecord(ctx context.Context, admin holdfast.Administrator, method, outcome, reason string) (holdfast.AuditRecord, error) {
	detail := map[string]any{"method": method}
	if reason != "" {
		detail["reason"] = reason
	}
	s.counted(method, outcome)
	return s.changes.NewRecord(ctx, actor(admin), change.Record{Action: "auth.sign_in",
		ResourceType: holdfast.ResourceAdministrator, ResourceID: admin.ID, Outcome: outcome, Detail: detail})
}

// auditSignIn appends the record of a sign-in that changed nothing (a
// refused one); it lands even when the client left, and a failure to
// write it is logged, not returned.
func (s *Service) auditSignIn(ctx context.Context, admin holdfast.Administrator, method, outcome, reason string) {
	detail := map[string]any{"method": method}
	if reason != "" {
		detail["reason"] = reason
	}
	s.counted(method, outcome)
	s.changes.Log(ctx, actor(admin), change.Record{Action: "auth.sign_in",
		ResourceType: holdfast.ResourceAdministrator, ResourceID: admin.ID, Outcome: outcome, Detail: detail})
}

// logError logs a failure that has no caller to return to.
func (s *Service) logError(ctx context.Context, msg string, err error) {
	s.log.LogAttrs(ctx, slog.LevelError, msg, slog.String("request_id", s.requestID(ctx)), slog.String("error", err.Error()))
}
