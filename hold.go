package holdfast

import (
	"context"
	"time"
)

// LegalHoldType classifies holds; legal administrators are scoped by type.
type LegalHoldType struct {
	ID         string    `json:"id"`
	AccountID  string    `json:"account_id"`
	Name       string    `json:"name"`       // unique per account
	Predefined bool      `json:"predefined"` // Human Resources, Information Security, Legal: never renamed
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// Predefined legal hold type names.
var PredefinedLegalHoldTypes = []string{"Human Resources", "Information Security", "Legal"}

// Data access kinds of a hold (v4 labels; v3 labels are accepted as aliases).
const (
	AccessAllData   = "all"
	AccessLastData  = "last"
	AccessDateRange = "date_range"
)

// LegalHold preserves custodians' data for litigation.
type LegalHold struct {
	ID          string `json:"id"`
	AccountID   string `json:"account_id"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	TypeID      string `json:"type_id,omitempty"` // "" = untyped ("--")
	// DataAccess is AccessAllData, AccessLastData or AccessDateRange.
	DataAccess       string     `json:"data_access"`
	From             *time.Time `json:"from,omitempty"`
	To               *time.Time `json:"to,omitempty"`
	DeletedFilesOnly bool       `json:"deleted_files_only,omitempty"`
	// Sources narrows the hold to these workloads; empty holds everything.
	Sources   []string  `json:"sources,omitempty"`
	CreatedBy string    `json:"created_by,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// HoldFilter narrows PageHolds. A nil TypeIDs does not filter; a non-nil
// one keeps only the holds of those types ("" is an untyped hold), and an
// empty one matches none.
type HoldFilter struct {
	TypeIDs []string
}

// Custodian is a user placed on a hold.
type Custodian struct {
	HoldID  string    `json:"hold_id"`
	UserID  string    `json:"user_id"`
	AddedBy string    `json:"added_by,omitempty"`
	AddedAt time.Time `json:"added_at"`
}

// HoldChecker answers whether a user's data is held. Retention, compaction
// and user deletion ask it before removing anything. Implementations must be
// safe for concurrent use; an error means "treat as held".
type HoldChecker interface {
	// HoldsFor returns the holds covering the user (none: empty, nil error).
	HoldsFor(ctx context.Context, accountID, userID string) ([]LegalHold, error)
}
