package holdfast

import (
	"context"
	"encoding/json"
	"time"
)

// Alert kinds: the conditions an account's administrators can subscribe
// to. Each is observed by a source of package alerts.
const (
	AlertBackupFailed         = "backup_failed"
	AlertNotBackedUp          = "not_backed_up"
	AlertQuotaNearFull        = "quota_near_full"
	AlertDeviceDecommissioned = "device_decommissioned"
	AlertLegalHoldChanged     = "legal_hold_changed"
	AlertAdministratorLocked  = "administrator_locked_out"
	AlertSignInFromNewCountry = "sign_in_new_country"
)

// Alert states, and the history's third status.
const (
	AlertStateFiring   = "firing"
	AlertStateResolved = "resolved"
	AlertEventRepeat   = "repeat" // still firing after the repeat interval
)

// Alert channels and delivery states.
const (
	AlertChannelEmail      = "email"
	AlertChannelWebhook    = "webhook"
	AlertDeliveryPending   = "pending"
	AlertDeliveryDelivered = "delivered"
	AlertDeliveryFailed    = "failed"
)

// AlertKinds lists every alert kind, in the order the API documents them.
var AlertKinds = []string{AlertBackupFailed, AlertNotBackedUp, AlertQuotaNearFull, AlertDeviceDecommissioned,
	AlertLegalHoldChanged, AlertAdministratorLocked, AlertSignInFromNewCountry}

// Alert is the state of one condition about one object: its dedup key is
// (Kind, ObjectType, ObjectID), unique in the account, so a condition seen
// again while it fires updates the alert instead of raising another.
type Alert struct {
	AccountID  string          `json:"account_id"`
	ID         string          `json:"id"`
	Kind       string          `json:"kind"`
	ObjectType string          `json:"object_type"` // a decision resource type (device, legal_hold, administrator)
	ObjectID   string          `json:"object_id"`
	State      string          `json:"state"` // AlertStateFiring or AlertStateResolved
	Summary    string          `json:"summary"`
	Detail     json.RawMessage `json:"detail,omitempty"`
	// Count is how many times the condition was seen since it last fired.
	Count    int       `json:"count"`
	StartsAt time.Time `json:"starts_at"`
	// EndsAt, when set, is when a firing alert resolves unless seen again
	// (events such as a lockout or a change, which end by themselves).
	EndsAt *time.Time `json:"ends_at,omitempty"`
	// NotifiedAt is when the alert last fired or repeated: the repeat
	// interval counts from it.
	NotifiedAt time.Time  `json:"notified_at"`
	ResolvedAt *time.Time `json:"resolved_at,omitempty"`
	UpdatedAt  time.Time  `json:"updated_at"`
}

// AlertFilter narrows PageAlerts. Zero fields do not filter; a non-nil,
// empty ObjectTypes matches none.
type AlertFilter struct {
	Kind        string
	State       string
	ObjectTypes []string
}

// AlertEvent is one entry of an account's alert history: an alert fired,
// repeated (still firing after the repeat interval) or resolved. Seq
// counts from 1 per account, in commit order.
type AlertEvent struct {
	AccountID  string          `json:"account_id"`
	Seq        int64           `json:"seq"`
	AlertID    string          `json:"alert_id"`
	Kind       string          `json:"kind"`
	ObjectType string          `json:"object_type"`
	ObjectID   string          `json:"object_id"`
	Status     string          `json:"status"` // firing, repeat or resolved
	Summary    string          `json:"summary"`
	Detail     json.RawMessage `json:"detail,omitempty"`
	Time       time.Time       `json:"time"`
}

// AlertEventFilter narrows PageAlertEvents. Zero fields do not filter; a
// non-nil, empty ObjectTypes matches none.
type AlertEventFilter struct {
	Kind        string
	AlertID     string
	ObjectTypes []string
}

// AlertSubscription is what one administrator receives: the kinds (none:
// every kind), by one channel. Alerts reach the administrator only about
// objects the engine lets them see. Secret signs webhook deliveries; it is
// shown once, at creation, and never listed. Events after Cursor are not
// delivered yet; DigestEvery (0: each evaluation) gathers them into one
// message per period.
type AlertSubscription struct {
	AccountID   string        `json:"account_id"`
	ID          string        `json:"id"`
	AdminID     string        `json:"admin_id"`
	Kinds       []string      `json:"kinds"`
	Channel     string        `json:"channel"`
	URL         string        `json:"url,omitempty"`
	Secret      string        `json:"-"`
	DigestEvery time.Duration `json:"-"`
	Cursor      int64         `json:"-"`
	LastSentAt  *time.Time    `json:"last_sent_at,omitempty"`
	CreatedBy   string        `json:"created_by"`
	CreatedAt   time.Time     `json:"created_at"`
	UpdatedAt   time.Time     `json:"updated_at"`
}

// AlertDelivery is one message to one subscription (a digest of alert
// events) and its attempts: the delivery log. ID is the message id a
// webhook carries (webhook-id), the same on every retry, so a receiver
// can drop a message it already has.
type AlertDelivery struct {
	AccountID      string          `json:"account_id"`
	ID             string          `json:"id"`
	SubscriptionID string          `json:"subscription_id"`
	Channel        string          `json:"channel"`
	Target         string          `json:"target"` // the URL or the email address
	Events         int             `json:"events"` // how many alert events the message carries
	Body           json.RawMessage `json:"-"`
	State          string          `json:"state"` // pending, delivered or failed
	Attempts       int             `json:"attempts"`
	LastStatus     int             `json:"last_status,omitempty"`
	LastError      string          `json:"last_error,omitempty"`
	NextAt         *time.Time      `json:"next_at,omitempty"`
	CreatedAt      time.Time       `json:"created_at"`
	DeliveredAt    *time.Time      `json:"delivered_at,omitempty"`
}

// AlertDeliveryFilter narrows PageAlertDeliveries. Zero fields do not
// filter. DueBy lists pending deliveries whose next attempt is due by it.
type AlertDeliveryFilter struct {
	SubscriptionID string
	DueBy          *time.Time
}

// AlertStore keeps alerts, their history, subscriptions, deliveries and
// the evaluation cursors. Its writes do not change the account's
// revision: none is decision data. Lists page by keyset: alerts by their
// dedup key, events newest first, subscriptions oldest first, deliveries
// newest first; a cursor the list did not return is ErrInvalid.
type AlertStore interface {
	// GetAlertByKey returns the alert of a dedup key; none: ErrNotFound.
	GetAlertByKey(ctx context.Context, accountID, kind, objectType, objectID string) (Alert, error)
	GetAlert(ctx context.Context, accountID, id string) (Alert, error)
	// PutAlert creates the alert of its dedup key (setting ID when empty)
	// or replaces the existing one's fields, keeping its ID (written back).
	PutAlert(ctx context.Context, a *Alert) error
	PageAlerts(ctx context.Context, accountID string, f AlertFilter, p Page) (Paged[Alert], error)

	// AppendAlertEvent appends e to the account's history, setting Seq.
	AppendAlertEvent(ctx context.Context, e *AlertEvent) error
	PageAlertEvents(ctx context.Context, accountID string, f AlertEventFilter, p Page) (Paged[AlertEvent], error)
	// ListAlertEvents returns at most limit events after afterSeq, oldest
	// first.
	ListAlertEvents(ctx context.Context, accountID string, afterSeq int64, limit int) ([]AlertEvent, error)
	// LastAlertEventSeq is the Seq of the account's newest event (0: none).
	LastAlertEventSeq(ctx context.Context, accountID string) (int64, error)

	// GetAlertCursor returns a named evaluation cursor (0 when unset).
	GetAlertCursor(ctx context.Context, accountID, name string) (int64, error)
	PutAlertCursor(ctx context.Context, accountID, name string, value int64) error

	CreateAlertSubscription(ctx context.Context, s *AlertSubscription) error
	GetAlertSubscription(ctx context.Context, accountID, id string) (AlertSubscription, error)
	// PageAlertSubscriptions lists the account's subscriptions, only
	// adminID's when it is set.
	PageAlertSubscriptions(ctx context.Context, accountID, adminID string, p Page) (Paged[AlertSubscription], error)
	// UpdateAlertSubscription replaces Kinds, URL, DigestEvery, Cursor,
	// LastSentAt and UpdatedAt.
	UpdateAlertSubscription(ctx context.Context, s *AlertSubscription) error
	DeleteAlertSubscription(ctx context.Context, accountID, id string) error

	CreateAlertDelivery(ctx context.Context, d *AlertDelivery) error
	// UpdateAlertDelivery replaces State, Attempts, LastStatus, LastError,
	// NextAt and DeliveredAt.
	UpdateAlertDelivery(ctx context.Context, d *AlertDelivery) error
	GetAlertDelivery(ctx context.Context, accountID, id string) (AlertDelivery, error)
	PageAlertDeliveries(ctx context.Context, accountID string, f AlertDeliveryFilter, p Page) (Paged[AlertDelivery], error)
}
