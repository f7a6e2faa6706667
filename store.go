package holdfast

import (
	"context"
	"time"
)

// PolicyRule is one Casbin rule row (ptype p or g, values v0..v5), as a
// Casbin adapter persists it.
type PolicyRule struct {
	PType string   `json:"ptype"`
	V     []string `json:"v"`
}

// MetaStore is the metadata store: accounts, administrators, roles,
// profiles, users, devices, legal hold types and holds, API tokens, Casbin
// rules and the audit trail.
//
// Contract (enforced by storage/storagetest):
//   - Get/Update/Delete of a missing row return an error matching ErrNotFound.
//   - A unique key taken (administrator email, profile name, user email per
//     account, type name per account, role name per account) returns
//     ErrConflict and changes nothing.
//   - Every write in an account increments that account's Revision; every
//     write of Casbin rules increments PolicyRevision. Decisions key their
//     caches on both.
//   - Rows of one account are never returned for another account.
//   - Audit records are append-only: there is no method to change one,
//     PruneAudit removes only the oldest ones (never the newest), and
//     AppendAudit assigns Seq, PrevHash and Hash (a MAC under the store's
//     audit key, set when it is opened) atomically.
//   - Tx runs fn in one transaction: all of its writes land or none does.
//   - Implementations are safe for concurrent use.
//   - It keeps the legal holds' WebDAV credentials too (HoldAccessStore),
//     the Sensitive Data Governance definitions (SDGStore) and the sign-in
//     state (IdentityStore), and the store Tx hands to fn
//     does as well, inside the transaction, so that a change and the
//     sign-in state it touches land together.
type MetaStore interface {
	HoldAccessStore
	AlertStore
	IdentityStore
	DeviceCommandStore
	ActivationKeyStore
	DeviceMappingStore
	SDGStore
	ReportStore

	// Tx runs fn with a store whose reads and writes share one transaction.
	// An error from fn rolls everything back. Nested Tx calls join the outer
	// transaction.
	Tx(ctx context.Context, fn func(tx MetaStore) error) error
	Close() error

	CreateAccount(ctx context.Context, a *Account) error
	GetAccount(ctx context.Context, id string) (Account, error)
	ListAccounts(ctx context.Context) ([]Account, error)
	UpdateAccount(ctx context.Context, a *Account) error
	// Revision is the account's data revision.
	Revision(ctx context.Context, accountID string) (int64, error)

	CreateAdmin(ctx context.Context, a *Administrator) error
	GetAdmin(ctx context.Context, accountID, id string) (Administrator, error)
	// GetAdminByEmail looks an administrator up across accounts (emails are
	// globally unique), case-insensitively.
	GetAdminByEmail(ctx context.Context, email string) (Administrator, error)
	ListAdmins(ctx context.Context, accountID string, f AdminFilter) ([]Administrator, error)
	// PageAdmins returns one page of the account's administrators matching
	// f (its Limit and Offset are not looked at), by name then id, with the
	// total that match. A cursor it did not return is ErrInvalid.
	PageAdmins(ctx context.Context, accountID string, f AdminFilter, p Page) (Paged[Administrator], error)
	UpdateAdmin(ctx context.Context, a *Administrator) error
	DeleteAdmin(ctx context.Context, accountID, id string) error
	CountAdminsWithRole(ctx context.Context, accountID, roleID string) (int, error)
	// RecordLogin sets the administrator's last login time.
	RecordLogin(ctx context.Context, accountID, id string, at time.Time) error

	// Roles stored per account: custom roles and overrides of editable
	// predefined roles. Catalog roles are not stored.
	CreateRole(ctx context.Context, r *Role) error
	GetRole(ctx context.Context, accountID, id string) (Role, error)
	ListRoles(ctx context.Context, accountID string) ([]Role, error)
	UpdateRole(ctx context.Context, r *Role) error
	DeleteRole(ctx context.Context, accountID, id string) error

	CreateProfile(ctx context.Context, p *Profile) error
	GetProfile(ctx context.Context, accountID, id string) (Profile, error)
	ListProfiles(ctx context.Context, accountID string) ([]Profile, error)
	UpdateProfile(ctx context.Context, p *Profile) error
	DeleteProfile(ctx context.Context, accountID, id string) error
	CountUsersInProfile(ctx context.Context, accountID, profileID string) (int, error)
	// PageProfiles returns one page of the account's profiles, by name then
	// ID, only those of ids when ids is not nil (an empty ids matches
	// none), with the total matching.
	PageProfiles(ctx context.Context, accountID string, ids []string, p Page) (Paged[Profile], error)

	CreateUser(ctx context.Context, u *User) error
	GetUser(ctx context.Context, accountID, id string) (User, error)
	GetUserByEmail(ctx context.Context, accountID, email string) (User, error)
	ListUsers(ctx context.Context, accountID string, f UserFilter) ([]User, error)
	// PageUsers returns one page of the account's users matching f (its
	// Limit and Offset are ignored; a non-nil, empty ProfileIDs matches
	// none), by name then ID, with the total matching f.
	PageUsers(ctx context.Context, accountID string, f UserFilter, p Page) (Paged[User], error)
	UpdateUser(ctx context.Context, u *User) error
	// PurgeUser removes the user row and its devices for good.
	PurgeUser(ctx context.Context, accountID, id string) error

	// CreateDevice and UpdateDevice refuse, with ErrConflict, a name
	// another device of the same user has: backups find an endpoint by
	// its user and name.
	CreateDevice(ctx context.Context, d *Device) error
	GetDevice(ctx context.Context, accountID, id string) (Device, error)
	// ListDevices lists the account's devices, only userID's when it is set.
	ListDevices(ctx context.Context, accountID, userID string) ([]Device, error)
	// PageDevices returns one page of the account's devices matching f, by
	// name then ID, with the total matching f.
	PageDevices(ctx context.Context, accountID string, f DeviceFilter, p Page) (Paged[Device], error)
	UpdateDevice(ctx context.Context, d *Device) error
	DeleteDevice(ctx context.Context, accountID, id string) error

	// RecordBackup writes run into the device's backup status and returns
	// it (CreateDevice and UpdateDevice never touch it). A committed run
	// sets LastBackupAt and StoredBytes and adds the change of the stored
	// bytes to the storage series on the run's UTC day; deleting a device
	// or purging a user takes its bytes out of the series. It changes
	// nothing a decision reads: the account's Revision stays.
	RecordBackup(ctx context.Context, accountID, deviceID string, run BackupRun) (BackupStatus, error)
	// UserStoredBytes sums the StoredBytes of the user's devices.
	UserStoredBytes(ctx context.Context, accountID, userID string) (int64, error)
	// ComplianceSummary counts the devices matching f by their user's
	// profile, workload and compliance state at now (the rule of
	// Compliance, which it must agree with), ordered by those.
	ComplianceSummary(ctx context.Context, accountID string, f DeviceFilter, now time.Time) ([]ComplianceCount, error)
	// StorageSeries is the bytes stored by the devices of f's profiles and
	// workloads at the end of each UTC day from from to to, one point a day.
	StorageSeries(ctx context.Context, accountID string, f DeviceFilter, from, to time.Time) ([]UsagePoint, error)

	CreateHoldType(ctx context.Context, t *LegalHoldType) error
	GetHoldType(ctx context.Context, accountID, id string) (LegalHoldType, error)
	ListHoldTypes(ctx context.Context, accountID string) ([]LegalHoldType, error)
	// PageHoldTypes returns one page of the account's legal hold types, by
	// name then ID, only those of ids when ids is not nil (an empty ids
	// matches none), with the total matching.
	PageHoldTypes(ctx context.Context, accountID string, ids []string, p Page) (Paged[LegalHoldType], error)
	UpdateHoldType(ctx context.Context, t *LegalHoldType) error
	DeleteHoldType(ctx context.Context, accountID, id string) error

	CreateHold(ctx context.Context, h *LegalHold) error
	GetHold(ctx context.Context, accountID, id string) (LegalHold, error)
	ListHolds(ctx context.Context, accountID string) ([]LegalHold, error)
	// PageHolds returns one page of the account's legal holds matching f,
	// by name then ID, with the total matching f.
	PageHolds(ctx context.Context, accountID string, f HoldFilter, p Page) (Paged[LegalHold], error)
	UpdateHold(ctx context.Context, h *LegalHold) error
	// DeleteHold removes the hold and its custodians.
	DeleteHold(ctx context.Context, accountID, id string) error
	// AddCustodian adds a user to a hold; already there: ErrConflict.
	AddCustodian(ctx context.Context, accountID string, c *Custodian) error
	RemoveCustodian(ctx context.Context, accountID, holdID, userID string) error
	ListCustodians(ctx context.Context, accountID, holdID string) ([]Custodian, error)
	// PageCustodians returns one page of the hold's custodians in the order
	// they were added (then by user ID), with the total; a missing hold has
	// none.
	PageCustodians(ctx context.Context, accountID, holdID string, p Page) (Paged[Custodian], error)
	// HoldsForUser returns every hold the user is a custodian of.
	HoldsForUser(ctx context.Context, accountID, userID string) ([]LegalHold, error)

	// LoadAttributes reads what deciding a batch of questions about the
	// account needs, in a fixed number of queries however many ids q
	// names (see AttributeQuery). Ids that do not exist are left out.
	LoadAttributes(ctx context.Context, accountID string, q AttributeQuery) (Attributes, error)

	CreateToken(ctx context.Context, t *APIToken) error
	// GetTokenByHash finds a token by the SHA-256 of its secret, revoked or not.
	GetTokenByHash(ctx context.Context, hash []byte) (APIToken, error)
	ListTokens(ctx context.Context, accountID, adminID string) ([]APIToken, error)
	RevokeToken(ctx context.Context, accountID, id string, at time.Time) error
	TouchToken(ctx context.Context, accountID, id string, at time.Time) error

	// ListPolicyRules returns every stored Casbin rule.
	ListPolicyRules(ctx context.Context) ([]PolicyRule, error)
	AddPolicyRules(ctx context.Context, rules []PolicyRule) error
	RemovePolicyRules(ctx context.Context, rules []PolicyRule) error
	// RemoveFilteredPolicyRules removes rules of ptype whose values from
	// fieldIndex on equal fieldValues ("" matches anything).
	RemoveFilteredPolicyRules(ctx context.Context, ptype string, fieldIndex int, fieldValues ...string) error
	PolicyRevision(ctx context.Context) (int64, error)

	// AppendAudit appends r to its account's trail, setting Seq, PrevHash
	// and Hash.
	AppendAudit(ctx context.Context, r *AuditRecord) error
	// PruneAudit removes the account's records with Seq <= throughSeq,
	// except the newest record, which the chain continues from. It returns
	// how many it removed.
	PruneAudit(ctx context.Context, accountID string, throughSeq int64) (int64, error)
	ListAudit(ctx context.Context, accountID string, f AuditFilter) ([]AuditRecord, error)
	// PageAudit returns one page of the account's records matching f (its
	// Limit is not looked at) in Seq order (descending with f.Newest), with
	// the total that match. A cursor it did not return is ErrInvalid.
	PageAudit(ctx context.Context, accountID string, f AuditFilter, p Page) (Paged[AuditRecord], error)
}
