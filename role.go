package holdfast

import "time"

// Products of the catalog.
const (
	ProductPlatform            = "platform"
	ProductInSync              = "insync"
	ProductEnterpriseWorkloads = "enterprise_workloads"
)

// Scope kinds a role can be bound to.
const (
	ScopePlatform       = "platform"
	ScopeProductAccount = "product_account"
	ScopeWorkload       = "workload"
	ScopeProfile        = "profile"
	ScopeLegalHoldType  = "legal_hold_type"
	ScopeOrganization   = "organization"
	ScopeAdminGroup     = "admin_group"
)

// Role is a set of rights. Predefined roles come from the catalog; an account
// stores its custom roles and its edits of editable predefined roles (then
// OverrideOf names the predefined role and ID equals it).
type Role struct {
	ID           string    `json:"id"`
	AccountID    string    `json:"account_id,omitempty"` // "" for catalog roles
	Name         string    `json:"name"`
	Description  string    `json:"description,omitempty"`
	Product      string    `json:"product"`
	Scope        []string  `json:"scope"`
	Predefined   bool      `json:"predefined"`
	OverrideOf   string    `json:"override_of,omitempty"`
	ImportedFrom string    `json:"imported_from,omitempty"`
	Rights       []string  `json:"rights"`
	CreatedBy    string    `json:"created_by,omitempty"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}
