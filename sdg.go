package holdfast

import (
	"context"
	"time"
)

// The kinds of Sensitive Data Governance definitions an account keeps.
const (
	SDGKindType     = "type"     // a custom sensitive data type
	SDGKindTemplate = "template" // a custom policy template
	SDGKindPolicy   = "policy"   // a compliance policy
	SDGKindSettings = "settings" // the account's SDG settings (one, id "settings")
)

// SDGObject is one Sensitive Data Governance definition of an account: its
// kind, id and name (unique per account and kind), and its body, JSON the
// sdg package reads and writes.
type SDGObject struct {
	AccountID string    `json:"account_id"`
	Kind      string    `json:"kind"`
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Body      []byte    `json:"body"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// SDGStore keeps the Sensitive Data Governance definitions. They are not
// decision data: writes do not change the account's revision.
//
// Contract (storage/storagetest): a missing object is ErrNotFound; a name
// taken within the account and kind, or an id taken, is ErrConflict and
// changes nothing; objects of one account or kind never show in another.
type SDGStore interface {
	// CreateSDGObject stores a new object (an empty ID gets a new one; zero
	// times become now, written back at the store's precision).
	CreateSDGObject(ctx context.Context, o *SDGObject) error
	GetSDGObject(ctx context.Context, accountID, kind, id string) (SDGObject, error)
	// UpdateSDGObject replaces the name, body and UpdatedAt (zero: now).
	UpdateSDGObject(ctx context.Context, o *SDGObject) error
	DeleteSDGObject(ctx context.Context, accountID, kind, id string) error
	// PageSDGObjects returns one page of the account's objects of kind, by
	// name then id, with the total.
	PageSDGObjects(ctx context.Context, accountID, kind string, p Page) (Paged[SDGObject], error)
}
