package holdfast

import (
	"log/slog"
	"time"
)

// APIToken is a bearer credential of an administrator. Only its hash is
// stored; the secret is shown once at creation.
type APIToken struct {
	ID         string     `json:"id"`
	AccountID  string     `json:"account_id"`
	AdminID    string     `json:"admin_id"`
	Name       string     `json:"name"`
	Hash       []byte     `json:"-"`      // SHA-256 of the secret
	Prefix     string     `json:"prefix"` // first characters of the secret, to recognise it
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  *time.Time `json:"expires_at,omitempty"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
}

// Secret is a string that never appears in logs.
type Secret string

// LogValue hides the secret from log/slog.
func (Secret) LogValue() slog.Value { return slog.StringValue("REDACTED") }

// String hides the secret from fmt.
func (Secret) String() string { return "REDACTED" }

// Reveal returns the secret itself.
func (s Secret) Reveal() string { return string(s) }
