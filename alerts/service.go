// Package alerts raises alerts from what the product records, keeps them
// as states with a dedup key and a history, and delivers them to the
// administrators who subscribed, by email or by webhooks signed as the
// Standard Webhooks specification describes.
//
// An alert is the state (firing, resolved) of one condition about one
// object: its dedup key is the kind and the object. Sources (source.go)
// observe the conditions; the evaluation (engine.go), run by a
// holdfast.Schedule on the injected clock, fires, repeats (after the
// repeat interval) and resolves alerts into the account's history. Each
// subscription gathers the history after its cursor into one digest per
// period, keeps only the alerts about objects the engine lets its
// administrator see, and queues a delivery; deliveries are retried with
// exponential backoff under the same message id (deliver.go).
package alerts

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/change"
)

// RightManage is the right every alert operation needs.
const RightManage = "alerts.manage"

// Options configure a Service.
type Options struct {
	Changes *change.Runner // required: the store, the engine and the clock
	Clock   holdfast.Clock // nil: the system clock
	Logger  *slog.Logger   // nil discards
	// Sources observe the alert kinds; nil: DefaultSources.
	Sources []Source
	// RepeatInterval is how long a firing alert waits to be sent again;
	// zero: DefaultRepeatInterval.
	RepeatInterval time.Duration
	// Client sends webhooks; it must be an egress client (no private
	// addresses unless the operator allows them). Nil refuses webhooks.
	Client *http.Client
	// AllowPrivate accepts webhook URLs naming loopback, private and
	// link-local hosts (the operator's flag); the client must allow them
	// too.
	AllowPrivate bool
	// Mailer sends email deliveries; nil leaves them pending as failed
	// attempts ("no mail transport").
	Mailer holdfast.Mailer
}

// Service is the alerts domain. It is safe for concurrent use.
type Service struct {
	changes      *change.Runner
	store        holdfast.MetaStore
	clock        holdfast.Clock
	log          *slog.Logger
	sources      []Source
	repeat       time.Duration
	client       *http.Client
	allowPrivate bool
	mailer       holdfast.Mailer
}

// New returns a Service over opts.
func New(opts Options) *Service {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	srcs := opts.Sources
	if srcs == nil {
		srcs = DefaultSources()
	}
	repeat := opts.RepeatInterval
	if repeat <= 0 {
		repeat = DefaultRepeatInterval
	}
	return &Service{changes: opts.Changes, store: opts.Changes.Store(), clock: holdfast.ClockOrSystem(opts.Clock),
		log: log.With("component", "alerts"), sources: srcs, repeat: repeat, client: opts.Client,
		allowPrivate: opts.AllowPrivate, mailer: opts.Mailer}
}

// now is the clock at the stores' precision.
func (s *Service) now() time.Time { return s.clock.Now().UTC().Truncate(time.Microsecond) }

const errorLevel = slog.LevelError

func attr(k, v string) slog.Attr { return slog.String(k, v) }

func accountEntity(p holdfast.Principal) holdfast.Entity {
	return holdfast.Entity{Type: holdfast.ResourceAccount, ID: p.AccountID}
}

// manage decides alerts.manage for p on the account.
func (s *Service) manage(ctx context.Context, p holdfast.Principal) error {
	_, err := s.changes.Decide(ctx, p, change.Check{Right: RightManage, Resource: accountEntity(p)})
	return err
}

// readRights are the rights any one of which lets an administrator see an
// alert's object, by object type.
var readRights = map[string][]string{
	holdfast.ResourceLegalHold:     {"legal_holds.view", "legal_holds.create_manage"},
	holdfast.ResourceAdministrator: {"admins.view"},
	holdfast.ResourceDevice:        {"users.view"},
	holdfast.ResourceUser:          {"users.view"},
}

// sees reports whether the engine lets p see the object of an alert.
func (s *Service) sees(ctx context.Context, p holdfast.Principal, objectType, objectID string) (bool, error) {
	rights, ok := readRights[objectType]
	if !ok {
		return false, nil
	}
	err := s.changes.AnyOf(ctx, p, holdfast.Entity{Type: objectType, ID: objectID}, rights...)
	if change.IsDenied(err) {
		return false, nil
	}
	return err == nil, err
}

// visibleTypes are the object types p may see at all (anywhere in the
// account): the alert lists show only alerts about those.
func (s *Service) visibleTypes(ctx context.Context, p holdfast.Principal) ([]string, error) {
	out := []string{}
	for _, t := range []string{holdfast.ResourceAdministrator, holdfast.ResourceDevice, holdfast.ResourceLegalHold, holdfast.ResourceUser} {
		ok, err := s.sees(ctx, p, t, "")
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, t)
		}
	}
	return out, nil
}

// AlertQuery narrows ListAlerts and History. Zero fields do not filter.
type AlertQuery struct {
	Kind    string
	State   string
	AlertID string
}

func (q AlertQuery) validate() error {
	var v holdfast.ValidationError
	if q.Kind != "" && !knownKind(q.Kind) {
		v.Add("kind", "%q is not an alert kind", q.Kind)
	}
	if q.State != "" && q.State != holdfast.AlertStateFiring && q.State != holdfast.AlertStateResolved {
		v.Add("state", "must be %s or %s", holdfast.AlertStateFiring, holdfast.AlertStateResolved)
	}
	return v.Err()
}

func knownKind(k string) bool {
	for _, v := range holdfast.AlertKinds {
		if v == k {
			return true
		}
	}
	return false
}

// scope validates q, decides alerts.manage for p and returns the object
// types p may see, which narrow every alert list.
func (s *Service) scope(ctx context.Context, p holdfast.Principal, q AlertQuery) ([]string, error) {
	if err := q.validate(); err != nil {
		return nil, err
	}
	if err := s.manage(ctx, p); err != nil {
		return nil, err
	}
	return s.visibleTypes(ctx, p)
}

// ListAlerts returns one page of the account's alerts (alerts.manage), by
// kind and object, only about object types the engine lets p see.
func (s *Service) ListAlerts(ctx context.Context, p holdfast.Principal, q AlertQuery, page holdfast.Page) (holdfast.Paged[holdfast.Alert], error) {
	types, err := s.scope(ctx, p, q)
	if err != nil {
		return holdfast.Paged[holdfast.Alert]{Items: []holdfast.Alert{}}, err
	}
	got, err := s.store.PageAlerts(ctx, p.AccountID, holdfast.AlertFilter{Kind: q.Kind, State: q.State, ObjectTypes: types}, page)
	if err != nil {
		return got, err
	}
	for i := range got.Items {
		a := &got.Items[i]
		if err := s.mask(ctx, p, a.ObjectType, &a.ObjectID, &a.Summary, &a.Detail); err != nil {
			return holdfast.Paged[holdfast.Alert]{Items: []holdfast.Alert{}}, err
		}
	}
	return got, nil
}

// History returns one page of the account's alert history, newest first
// (alerts.manage), only about object types the engine lets p see.
func (s *Service) History(ctx context.Context, p holdfast.Principal, q AlertQuery, page holdfast.Page) (holdfast.Paged[holdfast.AlertEvent], error) {
	types, err := s.scope(ctx, p, q)
	if err != nil {
		return holdfast.Paged[holdfast.AlertEvent]{Items: []holdfast.AlertEvent{}}, err
	}
	got, err := s.store.PageAlertEvents(ctx, p.AccountID, holdfast.AlertEventFilter{Kind: q.Kind, AlertID: q.AlertID, ObjectTypes: types}, page)
	if err != nil {
		return got, err
	}
	for i := range got.Items {
		e := &got.Items[i]
		if err := s.mask(ctx, p, e.ObjectType, &e.ObjectID, &e.Summary, &e.Detail); err != nil {
			return holdfast.Paged[holdfast.AlertEvent]{Items: []holdfast.AlertEvent{}}, err
		}
	}
	return got, nil
}

// mask blanks what an alert says about an object p may not see (a device
// of another profile, a hold of another legal hold type): the list keeps
// the row, so pages and totals stay exact, but never names the object.
func (s *Service) mask(ctx context.Context, p holdfast.Principal, objectType string, id, summary *string, detail *json.RawMessage) error {
	ok, err := s.sees(ctx, p, objectType, *id)
	if err != nil || ok {
		return err
	}
	*id, *summary, *detail = "", "an alert about a "+strings.ReplaceAll(objectType, "_", " ")+" outside your scope", nil
	return nil
}

// Deliveries returns one page of a subscription's delivery log, newest
// first (alerts.manage).
func (s *Service) Deliveries(ctx context.Context, p holdfast.Principal, subscriptionID string, page holdfast.Page) (holdfast.Paged[holdfast.AlertDelivery], error) {
	empty := holdfast.Paged[holdfast.AlertDelivery]{Items: []holdfast.AlertDelivery{}}
	if _, err := s.GetSubscription(ctx, p, subscriptionID); err != nil {
		return empty, err
	}
	return s.store.PageAlertDeliveries(ctx, p.AccountID, holdfast.AlertDeliveryFilter{SubscriptionID: subscriptionID}, page)
}
