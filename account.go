package holdfast

import (
	"slices"
	"time"
)

// Edition is a licence edition; the ids are those of the rights catalog.
type Edition string

// Editions of the rights catalog.
const (
	EditionElitePlus  Edition = "elite_plus" // deprecated, still served
	EditionElite      Edition = "elite"
	EditionEnterprise Edition = "enterprise"
	EditionBusiness   Edition = "business"
)

// Editions lists every edition, newest licence model first.
var Editions = []Edition{EditionElitePlus, EditionElite, EditionEnterprise, EditionBusiness}

// Valid reports whether e is a catalog edition.
func (e Edition) Valid() bool { return slices.Contains(Editions, e) }

// Add-on ids of the rights catalog. Both are off by default.
const (
	AddonGovernance              = "addon_governance"
	AddonSensitiveDataGovernance = "addon_sensitive_data_governance"
)

// Addons lists every add-on id.
var Addons = []string{AddonGovernance, AddonSensitiveDataGovernance}

// Account is one tenant: an edition, its add-ons and its settings.
type Account struct {
	ID        string          `json:"id"`
	Name      string          `json:"name"`
	Edition   Edition         `json:"edition"`
	Addons    []string        `json:"addons"`
	Settings  AccountSettings `json:"settings"`
	CreatedAt time.Time       `json:"created_at"`
	UpdatedAt time.Time       `json:"updated_at"`
}

// HasAddon reports whether the account has the add-on id.
func (a Account) HasAddon(id string) bool { return slices.Contains(a.Addons, id) }

// AccountSettings are the account-level settings the platform administrator
// owns (section 6 of rights-and-roles.md).
type AccountSettings struct {
	// RollbackDays is how long a deleted user can be restored (default 30).
	RollbackDays int `json:"rollback_days"`
	// InactiveAdminDays disables administrators after this many days without
	// a sign-in (15 to 180, default 180).
	InactiveAdminDays int `json:"inactive_admin_days"`
	// AuditRetentionDays is how long audit records are kept; 0 keeps them forever.
	AuditRetentionDays int `json:"audit_retention_days"`
	// SSOEnforced turns off password sign-in for everyone except platform
	// administrators (fail-safe) and legal administrators.
	SSOEnforced bool `json:"sso_enforced"`
}

// DefaultAccountSettings returns the settings a new account starts with.
func DefaultAccountSettings() AccountSettings {
	return AccountSettings{RollbackDays: 30, InactiveAdminDays: 180}
}
