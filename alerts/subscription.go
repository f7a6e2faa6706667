package alerts

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/netip"
	"net/url"
	"slices"
	"time"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/change"
	"github.com/holdfast/holdfast/egress"
)

// MaxDigest bounds a subscription's digest period.
const MaxDigest = 7 * 24 * time.Hour

// resourceSubscription names subscriptions in the audit trail.
const resourceSubscription = "alert_subscription"

// SubscriptionInput is a subscription as a caller creates or edits it.
// Absent (nil) members keep their value on an edit; AdminID and Channel
// are set at creation only.
type SubscriptionInput struct {
	AdminID       string    `json:"admin_id"`
	Channel       string    `json:"channel"`
	Kinds         *[]string `json:"kinds"`
	URL           *string   `json:"url"`
	DigestMinutes *int      `json:"digest_minutes"`
}

// Subscription is a subscription as the API shows it.
type Subscription struct {
	holdfast.AlertSubscription
	Kinds         []string `json:"kinds"`
	DigestMinutes int      `json:"digest_minutes"`
}

func view(a holdfast.AlertSubscription) Subscription {
	kinds := a.Kinds
	if kinds == nil {
		kinds = []string{}
	}
	return Subscription{AlertSubscription: a, Kinds: kinds, DigestMinutes: int(a.DigestEvery / time.Minute)}
}

// Created is a new subscription with its webhook signing secret, which is
// shown this once and never again ("" for email).
type Created struct {
	Subscription
	Secret string `json:"secret,omitempty"`
}

// apply merges in into a and validates the result, naming the fields.
func (s *Service) apply(in SubscriptionInput, a *holdfast.AlertSubscription) error {
	var v holdfast.ValidationError
	if in.Kinds != nil {
		a.Kinds = slices.Clone(*in.Kinds)
		for _, k := range a.Kinds {
			if !knownKind(k) {
				v.Add("kinds", "%q is not an alert kind", k)
			}
		}
	}
	if in.URL != nil {
		a.URL = *in.URL
	}
	if in.DigestMinutes != nil {
		d := time.Duration(*in.DigestMinutes) * time.Minute
		if d < 0 || d > MaxDigest {
			v.Add("digest_minutes", "must be between 0 (each evaluation) and %d", int(MaxDigest/time.Minute))
		}
		a.DigestEvery = d
	}
	switch a.Channel {
	case holdfast.AlertChannelEmail:
		if a.URL != "" {
			v.Add("url", "an email subscription has no URL")
		}
	case holdfast.AlertChannelWebhook:
		if err := s.checkTarget(a.URL); err != nil {
			v.Add("url", "%s", err.Error())
		}
	default:
		v.Add("channel", "must be %s or %s", holdfast.AlertChannelEmail, holdfast.AlertChannelWebhook)
	}
	return v.Err()
}

// checkTarget refuses a webhook URL the egress rules would refuse: not
// https (or http to loopback), or, unless the operator allows private
// targets, a host that is loopback, private or link-local by name or
// address. A public name resolving to a private address is refused when
// dialled (the egress client), and the attempt is logged as failed.
func (s *Service) checkTarget(raw string) error {
	u, err := url.Parse(raw)
	if raw == "" || err != nil || len(raw) > 2048 {
		return errors.New("must be an absolute https URL of at most 2048 bytes")
	}
	if err := egress.CheckURL(u); err != nil {
		return errors.New("must be an https URL (plain http only to a loopback host the operator allows)")
	}
	if u.User != nil {
		return errors.New("must not carry credentials; the signature authenticates the sender")
	}
	if s.allowPrivate {
		return nil
	}
	host := u.Hostname()
	if a, err := netip.ParseAddr(host); egress.LoopbackHost(host) || (err == nil && !egress.Public(a)) {
		return errors.New("names a loopback, private or link-local address, which the server does not call")
	}
	return nil
}

// NewSecret returns a Standard Webhooks signing secret: whsec_ and the
// base64 of 32 random bytes.
func NewSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand never fails
	return "whsec_" + base64.StdEncoding.EncodeToString(b)
}

// CreateSubscription subscribes an administrator (p, or one p may view)
// to alert kinds by one channel (alerts.manage). A webhook subscription's
// signing secret is returned this once. The subscription starts at the
// history's end: it receives what happens from now on.
func (s *Service) CreateSubscription(ctx context.Context, p holdfast.Principal, in SubscriptionInput) (Created, error) {
	now := s.now()
	a := holdfast.AlertSubscription{AccountID: p.AccountID, Channel: in.Channel, Kinds: []string{}, CreatedBy: p.AdminID,
		CreatedAt: now, UpdatedAt: now}
	if err := s.apply(in, &a); err != nil {
		return Created{}, err
	}
	a.AdminID = in.AdminID
	if a.AdminID == "" {
		a.AdminID = p.AdminID
	}
	if a.Channel == holdfast.AlertChannelWebhook {
		a.Secret = NewSecret()
	}
	c := change.Change{Action: "alert_subscription.create", ResourceType: resourceSubscription,
		Checks: []change.Check{{Right: RightManage, Resource: accountEntity(p)}}}
	if a.AdminID != p.AdminID {
		// Subscribing another administrator needs seeing them.
		c.Checks = append(c.Checks, change.Check{Right: "admins.view",
			Resource: holdfast.Entity{Type: holdfast.ResourceAdministrator, ID: a.AdminID}})
	}
	adminID := a.AdminID
	_, err := s.changes.Apply(ctx, p, c, func(tx holdfast.MetaStore) (string, any, error) {
		if _, err := tx.GetAdmin(ctx, p.AccountID, adminID); err != nil {
			return "", nil, err
		}
		last, err := tx.LastAlertEventSeq(ctx, p.AccountID)
		if err != nil {
			return "", nil, err
		}
		a.Cursor = last
		if err := tx.CreateAlertSubscription(ctx, &a); err != nil {
			return "", nil, err
		}
		return a.ID, detailOf(a), nil
	})
	if err != nil {
		return Created{}, err
	}
	return Created{Subscription: view(a), Secret: a.Secret}, nil
}

// detailOf is a subscription's audit detail, which never holds its secret.
func detailOf(a holdfast.AlertSubscription) map[string]any {
	return map[string]any{"admin_id": a.AdminID, "channel": a.Channel, "kinds": a.Kinds, "url": a.URL,
		"digest_minutes": int(a.DigestEvery / time.Minute)}
}

// GetSubscription returns one subscription (alerts.manage).
func (s *Service) GetSubscription(ctx context.Context, p holdfast.Principal, id string) (Subscription, error) {
	if err := s.manage(ctx, p); err != nil {
		return Subscription{}, err
	}
	a, err := s.store.GetAlertSubscription(ctx, p.AccountID, id)
	return view(a), err
}

// ListSubscriptions returns one page of the account's subscriptions,
// adminID's only when set, oldest first (alerts.manage).
func (s *Service) ListSubscriptions(ctx context.Context, p holdfast.Principal, adminID string, page holdfast.Page) (holdfast.Paged[Subscription], error) {
	out := holdfast.Paged[Subscription]{Items: []Subscription{}}
	if err := page.Validate(); err != nil {
		return out, err
	}
	if err := s.manage(ctx, p); err != nil {
		return out, err
	}
	got, err := s.store.PageAlertSubscriptions(ctx, p.AccountID, adminID, page)
	if err != nil {
		return out, err
	}
	out.Next, out.Total = got.Next, got.Total
	for _, a := range got.Items {
		out.Items = append(out.Items, view(a))
	}
	return out, nil
}

// UpdateSubscription edits a subscription's kinds, URL or digest period
// (alerts.manage); its secret and cursor stay.
func (s *Service) UpdateSubscription(ctx context.Context, p holdfast.Principal, id string, in SubscriptionInput) (Subscription, error) {
	if in.AdminID != "" || in.Channel != "" {
		var v holdfast.ValidationError
		v.Add("channel", "the administrator and the channel are set at creation; make another subscription")
		return Subscription{}, v.Err()
	}
	var out holdfast.AlertSubscription
	c := change.Change{Action: "alert_subscription.update", ResourceType: resourceSubscription, ResourceID: id,
		Checks: []change.Check{{Right: RightManage, Resource: accountEntity(p)}}}
	_, err := s.changes.Apply(ctx, p, c, func(tx holdfast.MetaStore) (string, any, error) {
		a, err := tx.GetAlertSubscription(ctx, p.AccountID, id)
		if err != nil {
			return "", nil, err
		}
		if err := s.apply(in, &a); err != nil {
			return "", nil, err
		}
		a.UpdatedAt = s.now()
		if err := tx.UpdateAlertSubscription(ctx, &a); err != nil {
			return "", nil, err
		}
		out = a
		return id, detailOf(a), nil
	})
	return view(out), err
}

// DeleteSubscription removes a subscription (alerts.manage); its delivery
// log stays, and its pending deliveries fail at their next attempt.
func (s *Service) DeleteSubscription(ctx context.Context, p holdfast.Principal, id string) error {
	c := change.Change{Action: "alert_subscription.delete", ResourceType: resourceSubscription, ResourceID: id,
		Checks: []change.Check{{Right: RightManage, Resource: accountEntity(p)}}}
	_, err := s.changes.Apply(ctx, p, c, func(tx holdfast.MetaStore) (string, any, error) {
		a, err := tx.GetAlertSubscription(ctx, p.AccountID, id)
		if err != nil {
			return "", nil, err
		}
		return id, detailOf(a), tx.DeleteAlertSubscription(ctx, p.AccountID, id)
	})
	return err
}
