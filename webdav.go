package holdfast

import (
	"context"
	"time"
)

// HoldCredential is a legal hold's own WebDAV credential: a generated user
// name and the hash of a generated password, which is shown once when it
// is made and never stored. It opens that hold only. Each hold has at most
// one; rotating replaces it.
type HoldCredential struct {
	AccountID string `json:"account_id"`
	HoldID    string `json:"hold_id"`
	// UserName is generated and unique across accounts.
	UserName string `json:"user_name"`
	// Hash is the SHA-256 of the password. The password is a 256-bit random
	// secret, so a fast hash is enough (as for API tokens); a slow one
	// would only make every WebDAV request, which each carries the
	// credential, expensive.
	Hash      []byte     `json:"-"`
	CreatedBy string     `json:"created_by,omitempty"` // administrator id
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"` // nil: never
}

// HoldAccessStore keeps the WebDAV credentials of legal holds, in the
// metadata database beside the holds.
//
// Contract (enforced by storage/storagetest):
//   - Get and Delete of a missing credential return an error matching
//     ErrNotFound.
//   - PutHoldCredential of a missing hold is ErrNotFound; a user name
//     another hold's credential has is ErrConflict; either changes
//     nothing.
//   - Deleting a hold deletes its credential.
//   - Rows of one account are never returned for another account.
//   - None of these writes changes an account's Revision.
//   - Implementations are safe for concurrent use. Every MetaStore is a
//     HoldAccessStore, so inside MetaStore.Tx the transaction-bound store's
//     credential writes join the transaction.
type HoldAccessStore interface {
	// PutHoldCredential creates or replaces the hold's credential. Times
	// are written back at the store's precision.
	PutHoldCredential(ctx context.Context, c *HoldCredential) error
	// GetHoldCredential returns the hold's credential.
	GetHoldCredential(ctx context.Context, accountID, holdID string) (HoldCredential, error)
	// GetHoldCredentialByUser finds a credential by its user name, in any
	// account.
	GetHoldCredentialByUser(ctx context.Context, userName string) (HoldCredential, error)
	// DeleteHoldCredential revokes the hold's credential.
	DeleteHoldCredential(ctx context.Context, accountID, holdID string) error
}
