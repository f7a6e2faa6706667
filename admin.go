package holdfast

import "time"

// AdminState is an administrator's state.
type AdminState string

// Administrator states (platform API values ACTIVE / DISABLED).
const (
	AdminActive   AdminState = "active"
	AdminDisabled AdminState = "disabled"
)

// Scopes is an administrator's access control: which profiles, workloads,
// legal hold types, EW organizations and admin groups its role reaches.
// A role uses only the scope kinds it declares; the others are ignored.
type Scopes struct {
	AllProfiles       bool     `json:"all_profiles,omitempty"`
	Profiles          []string `json:"profiles,omitempty"`
	AllWorkloads      bool     `json:"all_workloads,omitempty"`
	Workloads         []string `json:"workloads,omitempty"`
	AllLegalHoldTypes bool     `json:"all_legal_hold_types,omitempty"`
	LegalHoldTypes    []string `json:"legal_hold_types,omitempty"`
	Organizations     []string `json:"organizations,omitempty"`
	AdminGroups       []string `json:"admin_groups,omitempty"`
}

// Administrator is a person who manages an account.
type Administrator struct {
	ID          string     `json:"id"`
	AccountID   string     `json:"account_id"`
	Name        string     `json:"name"`
	Email       string     `json:"email"` // unique across accounts, lower case
	Country     string     `json:"country,omitempty"`
	TimeZone    string     `json:"time_zone,omitempty"`
	RoleID      string     `json:"role"`
	Scopes      Scopes     `json:"scopes"`
	State       AdminState `json:"state"`
	CreatedBy   string     `json:"created_by,omitempty"` // administrator id; "" for the bootstrap administrator
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
	LastLoginAt *time.Time `json:"last_login_at,omitempty"`
	// PasswordHash is an encoded argon2id hash; never serialized.
	PasswordHash string `json:"-"`
}

// AdminFilter narrows ListAdmins. Zero fields do not filter.
type AdminFilter struct {
	RoleID  string
	Product string // "platform", "insync" or "enterprise_workloads"; needs RoleIDs
	// RoleIDs restricts to these roles (the server expands Product to it).
	RoleIDs []string
	// LastLoginBefore keeps administrators whose last sign-in is before it,
	// including those who never signed in.
	LastLoginBefore *time.Time
	NeverLoggedIn   bool
	Search          string // case-insensitive substring of name or email
	State           AdminState
	Limit, Offset   int
}
