package holdfast

import "time"

// UserState is a backup user's state; being on legal hold is an overlay
// computed from holds, not a state.
type UserState string

// User states.
const (
	UserActive    UserState = "active"
	UserPreserved UserState = "preserved"
	UserDeleted   UserState = "deleted"
)

// User is a person whose devices and SaaS data are backed up.
type User struct {
	ID         string    `json:"id"`
	AccountID  string    `json:"account_id"`
	Email      string    `json:"email"` // unique per account, lower case
	Name       string    `json:"name"`
	ProfileID  string    `json:"profile_id"`
	State      UserState `json:"state"`
	ExternalID string    `json:"external_id,omitempty"` // SCIM externalId
	// DeletedAt and PurgeAfter are set while State is deleted; the user can
	// be restored until PurgeAfter.
	DeletedAt   *time.Time `json:"deleted_at,omitempty"`
	PurgeAfter  *time.Time `json:"purge_after,omitempty"`
	PreservedAt *time.Time `json:"preserved_at,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
}

// UserFilter narrows ListUsers. Zero fields do not filter.
type UserFilter struct {
	ProfileIDs []string
	State      UserState
	Search     string // case-insensitive substring of name or email
	Email      string // exact, case-insensitive
	ExternalID string // exact
	// Reach, when set, keeps only the users a workload-scoped administrator
	// reaches: see UserReach.
	Reach         *UserReach
	Limit, Offset int
}

// UserReach is the workload scope of an administrator as a user filter
// (PageUsers): a user is reached through a device of one of Workloads,
// through its profile when the profile is one of Profiles (its own
// workloads are in scope), or, with no device at all, when its profile is
// one of Bare (a profile without workloads: the user has none to be out of
// scope).
type UserReach struct {
	Workloads []string
	Profiles  []string
	Bare      []string
}
