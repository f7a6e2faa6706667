package holdfast

import (
	"context"
	"errors"
	"time"
)

// Session is a signed-in administrator's server-side session. The cookie
// carries a random secret; the store keeps only its SHA-256 (ID), so a
// leaked database does not hand out live sessions.
type Session struct {
	ID        string    `json:"-"` // hex SHA-256 of the cookie secret
	AccountID string    `json:"account_id"`
	AdminID   string    `json:"admin_id"`
	Method    string    `json:"method"` // "password", "oidc", "saml"
	CreatedAt time.Time `json:"created_at"`
	// LastSeenAt moves on with use; a session idle for longer than the
	// idle timeout is over.
	LastSeenAt time.Time `json:"last_seen_at"`
	// ExpiresAt is the absolute end, whatever the use.
	ExpiresAt time.Time `json:"expires_at"`
	// Pending names the sign-in step still owed (SessionMFA,
	// SessionMFAEnroll, SessionPasswordChange); such a session
	// authenticates nothing but that step. "" is a full session.
	Pending string `json:"pending,omitempty"`
	// CSRF is the token cookie-authenticated changes must echo in the
	// X-CSRF-Token header.
	CSRF Secret `json:"-"`
	// RemoteIP is the address the session was created from.
	RemoteIP string `json:"remote_ip,omitempty"`
	// OutsideSince is when the session was first seen from an address the
	// account's geofence does not allow; nil while inside.
	OutsideSince *time.Time `json:"outside_since,omitempty"`
}

// Steps a pending session still owes.
const (
	SessionMFA            = "mfa"
	SessionMFAEnroll      = "mfa_enroll"
	SessionPasswordChange = "password_change"
)

// Credentials are an administrator's password-login state, kept beside the
// Administrator row (which holds the current password hash).
type Credentials struct {
	AccountID string `json:"account_id"`
	AdminID   string `json:"admin_id"`
	// PasswordHistory holds the argon2id hashes of earlier passwords,
	// newest first, so they are not reused.
	PasswordHistory   []string   `json:"-"`
	PasswordChangedAt *time.Time `json:"password_changed_at,omitempty"`
	FailedLogins      int        `json:"failed_logins"`
	LockedUntil       *time.Time `json:"locked_until,omitempty"`
	// TOTPSecret is the base32 TOTP seed; empty when MFA is not enrolled.
	TOTPSecret Secret `json:"-"`
	// TOTPPending is a seed offered for enrolment, not yet confirmed.
	TOTPPending Secret `json:"-"`
	// TOTPLastStep is the last time step accepted, so a code is used once.
	TOTPLastStep int64 `json:"-"`
	// RecoveryCodes are SHA-256 hex hashes of unused recovery codes.
	RecoveryCodes []string  `json:"-"`
	UpdatedAt     time.Time `json:"updated_at"`
}

// Link purposes.
const (
	LinkReset  = "reset"
	LinkInvite = "invite"
	// LinkSetup sets the first password of the platform administrator
	// that the first start created; serve prints it, nobody mails it.
	LinkSetup = "setup"
)

// Link is a single-use e-mailed link (password reset or invitation). The
// store keeps only the SHA-256 of its secret.
type Link struct {
	ID        string     `json:"id"` // hex SHA-256 of the secret
	AccountID string     `json:"account_id"`
	AdminID   string     `json:"admin_id"`
	Purpose   string     `json:"purpose"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt time.Time  `json:"expires_at"`
	UsedAt    *time.Time `json:"used_at,omitempty"`
}

// IdP kinds.
const (
	IdPOIDC = "oidc"
	IdPSAML = "saml"
)

// IdPConfig is an account's identity provider for administrator sign-in.
type IdPConfig struct {
	ID        string `json:"id"`
	AccountID string `json:"account_id"`
	Kind      string `json:"kind"` // IdPOIDC or IdPSAML
	Name      string `json:"name"` // shown on the sign-in button
	// OIDC: Issuer, ClientID, ClientSecret. SAML: MetadataURL or
	// MetadataXML of the IdP; Issuer is then the IdP's entity id.
	Issuer       string `json:"issuer,omitempty"`
	ClientID     string `json:"client_id,omitempty"`
	ClientSecret Secret `json:"-"`
	MetadataURL  string `json:"metadata_url,omitempty"`
	MetadataXML  string `json:"metadata_xml,omitempty"`
	Enabled      bool   `json:"enabled"`
	// AllowIDPInitiated accepts unsolicited SAML responses (off by
	// default; when on, InResponseTo cannot be checked).
	AllowIDPInitiated bool      `json:"allow_idp_initiated"`
	CreatedAt         time.Time `json:"created_at"`
	UpdatedAt         time.Time `json:"updated_at"`
}

// IdentityLink ties an administrator to an IdP identity. After the first
// sign-in it is found by Issuer and Subject, never by email.
type IdentityLink struct {
	AccountID string    `json:"account_id"`
	AdminID   string    `json:"admin_id"`
	Issuer    string    `json:"issuer"`
	Subject   string    `json:"subject"`
	CreatedAt time.Time `json:"created_at"`
}

// AuthRequest is a sign-in in progress at an IdP: what the callback must
// find again. It is taken (read and removed) once.
type AuthRequest struct {
	ID        string    `json:"id"` // hex SHA-256 of the OIDC state / SAML relay state
	AccountID string    `json:"account_id"`
	IdPID     string    `json:"idp_id"`
	Nonce     Secret    `json:"-"`                    // OIDC nonce
	Verifier  Secret    `json:"-"`                    // OIDC PKCE code verifier
	RequestID string    `json:"request_id,omitempty"` // SAML AuthnRequest ID
	ReturnTo  string    `json:"return_to,omitempty"`  // local path after sign-in
	ExpiresAt time.Time `json:"expires_at"`
}

// IdentitySettings are the account's sign-in settings that are not in
// AccountSettings.
type IdentitySettings struct {
	AccountID string `json:"account_id"`
	// PasswordExpiryDays is how long an administrator password lasts (1 to
	// 99, default 60).
	PasswordExpiryDays int `json:"password_expiry_days"`
	// GeofenceEnabled restricts console and API access to GeofenceAllowed:
	// single addresses, hyphen ranges (a-b) and CIDR blocks.
	GeofenceEnabled bool      `json:"geofence_enabled"`
	GeofenceAllowed []string  `json:"geofence_allowed"`
	UpdatedAt       time.Time `json:"updated_at"`
}

// DefaultIdentitySettings returns the settings of an account that never
// stored any.
func DefaultIdentitySettings(accountID string) IdentitySettings {
	return IdentitySettings{AccountID: accountID, PasswordExpiryDays: 60, GeofenceAllowed: []string{}}
}

// IdentityStore keeps the sign-in state: sessions, password-login state,
// single-use links, identity providers and links to their identities,
// sign-ins in progress, used SAML assertion ids and sign-in settings. It
// lives in the metadata database so that replicas share it.
//
// Contract (enforced by storage/storagetest):
//   - Get of a missing row returns an error matching ErrNotFound.
//   - Rows of one account are never returned for another account.
//   - None of these writes changes an account's Revision: sessions are
//     written on every request and must not flush the decision caches.
//   - Take and Use operations are atomic: of two concurrent callers
//     exactly one succeeds.
//   - Implementations are safe for concurrent use.
type IdentityStore interface {
	CreateSession(ctx context.Context, s *Session) error
	GetSession(ctx context.Context, id string) (Session, error)
	// UpdateSession writes LastSeenAt and OutsideSince; missing: ErrNotFound.
	UpdateSession(ctx context.Context, s *Session) error
	// DeleteSession removes one session; missing: nil.
	DeleteSession(ctx context.Context, id string) error
	// DeleteAdminSessions ends every session of the administrator.
	DeleteAdminSessions(ctx context.Context, accountID, adminID string) error
	// DeleteExpiredSessions removes sessions whose ExpiresAt is before t.
	DeleteExpiredSessions(ctx context.Context, t time.Time) (int, error)

	// GetCredentials returns the administrator's password-login state;
	// never stored: ErrNotFound.
	GetCredentials(ctx context.Context, accountID, adminID string) (Credentials, error)
	// PutCredentials creates or replaces it.
	PutCredentials(ctx context.Context, c *Credentials) error

	CreateLink(ctx context.Context, l *Link) error
	// UseLink marks the link used at t and returns it. An unknown, used or
	// expired link is ErrNotFound; an expired one is marked used as well,
	// so that it stays dead when the clock is later stepped back.
	UseLink(ctx context.Context, id string, t time.Time) (Link, error)
	// RevokeLinks marks every unused link of the administrator for purpose
	// used, so that only the newest one works.
	RevokeLinks(ctx context.Context, accountID, adminID, purpose string, t time.Time) error

	// PutIdP creates or replaces an IdP configuration.
	PutIdP(ctx context.Context, c *IdPConfig) error
	GetIdP(ctx context.Context, accountID, id string) (IdPConfig, error)
	ListIdPs(ctx context.Context, accountID string) ([]IdPConfig, error)
	// PageIdPs returns one page of the account's IdPs by name.
	PageIdPs(ctx context.Context, accountID string, p Page) (Paged[IdPConfig], error)
	// ListEnabledIdPs lists the enabled IdPs of every account, for the
	// sign-in page.
	ListEnabledIdPs(ctx context.Context) ([]IdPConfig, error)
	// DeleteIdP removes an IdP and its identity links; missing: ErrNotFound.
	DeleteIdP(ctx context.Context, accountID, id string) error

	// CreateIdentityLink links an administrator to issuer+subject; the
	// pair already linked: ErrConflict.
	CreateIdentityLink(ctx context.Context, l *IdentityLink) error
	GetIdentityLink(ctx context.Context, issuer, subject string) (IdentityLink, error)
	// ListIdentityLinks lists the administrator's links, oldest first.
	ListIdentityLinks(ctx context.Context, accountID, adminID string) ([]IdentityLink, error)

	CreateAuthRequest(ctx context.Context, r *AuthRequest) error
	// TakeAuthRequest returns and removes the request; unknown or expired
	// at t: ErrNotFound.
	TakeAuthRequest(ctx context.Context, id string, t time.Time) (AuthRequest, error)

	// UseAssertion records a SAML assertion id of issuer, kept until
	// expires. An id already recorded is ErrConflict: a replay.
	UseAssertion(ctx context.Context, issuer, id string, expires time.Time) error

	// GetIdentitySettings returns the account's settings, the defaults
	// when none were stored.
	GetIdentitySettings(ctx context.Context, accountID string) (IdentitySettings, error)
	// PutIdentitySettings stores them and moves the account's Revision
	// on, so a reader may keep them under the revision.
	PutIdentitySettings(ctx context.Context, s *IdentitySettings) error
}

// The endpoints of this server that identity providers are told about
// (registered once by the IdP's administrator, so they never change).
const (
	OIDCCallbackPath = "/auth/oidc/callback"
	SAMLMetadataPath = "/auth/saml/metadata"
	SAMLACSPath      = "/auth/saml/acs"
)

// ErrIdPRefused matches every answer of an identity provider that failed
// its checks; the message says why, for the log, never for the browser.
var ErrIdPRefused = errors.New("identity provider answer refused")

// IdPStart is a sign-in begun at an identity provider: where the browser
// goes, and what its answer is checked against later.
type IdPStart struct {
	URL       string
	Nonce     Secret // OIDC nonce
	Verifier  Secret // OIDC PKCE code verifier
	RequestID string // SAML AuthnRequest id
}

// IdPIdentity is whom an identity provider's answer vouches for.
type IdPIdentity struct {
	Subject       string
	Email         string
	EmailVerified bool
	// AssertionID, when set, is an id never to accept again before
	// ReplayUntil (SAML).
	AssertionID string
	ReplayUntil time.Time
}

// IdentityProviders signs administrators in through the identity providers
// their accounts configured (IdPConfig, OIDC or SAML). The implementation
// (idp/sso over idp/oidc and idp/saml) is wired in cmd/holdfast; the server
// knows only this seam. base is the server's base URL, under which the
// endpoints above are. Implementations are safe for concurrent use.
type IdentityProviders interface {
	// Start begins a sign-in at c, bound to state.
	Start(ctx context.Context, c IdPConfig, base, state string) (IdPStart, error)
	// Finish checks answer (OIDC: the authorization code; SAML: the
	// decoded response) to the sign-in req (a zero req: an unsolicited
	// SAML answer) and returns whom it vouches for. A refused answer
	// matches ErrIdPRefused; any other error is the provider's failure.
	Finish(ctx context.Context, c IdPConfig, base string, answer []byte, req AuthRequest) (IdPIdentity, error)
	// Check fetches what c names (OIDC discovery, SAML metadata) and
	// returns c completed (SAML: the issuer its metadata names). A refusal
	// is a *ValidationError naming the field.
	Check(ctx context.Context, c IdPConfig) (IdPConfig, error)
	// Forget drops what is kept of the IdP id (it changed or went away).
	Forget(id string)
	// Metadata is this server's SAML service provider metadata.
	Metadata(base string) ([]byte, error)
	// Issuer is the issuer an unsolicited answer names, read before any
	// check (it only picks the configuration to check against); "" none.
	Issuer(answer []byte) string
}
