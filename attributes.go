package holdfast

// AttributeQuery names the things a batch of decisions in one account is
// about. A store's LoadAttributes follows the references: the users of the
// devices, the profiles of the users, the roles of the administrators.
type AttributeQuery struct {
	AdminIDs    []string // administrators of the account, by id
	AdminEmails []string // administrators by email, in any account (as GetAdminByEmail)
	RoleIDs     []string // stored roles of the account
	UserIDs     []string // users, with their devices and holds
	DeviceIDs   []string // devices, with their users and those users' holds
	ProfileIDs  []string
}

// Attributes is what LoadAttributes found: each value as the single reads
// (GetAdmin, GetAdminByEmail, GetRole, GetUser, GetDevice, GetProfile,
// ListDevices, HoldsForUser) return it.
type Attributes struct {
	Admins   []Administrator // by id and by email
	Roles    []Role          // those named and those of the administrators
	Users    []User          // those named and those of the devices
	Devices  []Device        // those named
	Profiles []Profile       // those named and those of the users
	// UserDevices holds ListDevices(user) of every user in
	// AttributeQuery.UserIDs that exists (an empty list when it has none).
	UserDevices map[string][]Device
	// UserHolds holds HoldsForUser(user) of every user in Users (an empty
	// list when it has none).
	UserHolds map[string][]LegalHold
}
