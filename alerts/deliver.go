package alerts

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/google/uuid"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/holdfast/holdfast"
)

// Delivery limits.
const (
	// digestLimit bounds the alert events one digest carries; more wait
	// for the next one.
	digestLimit = 500
	// MaxAttempts is how many times a delivery is tried before it fails
	// for good.
	MaxAttempts = 8
	// sendTimeout bounds one webhook attempt.
	sendTimeout = 10 * time.Second
	// dueBatch bounds the deliveries one evaluation sends per account.
	dueBatch = 100
)

// RetryAfter is the wait before attempt n+1 of a delivery whose n-th
// attempt failed: exponential from one minute, doubling, at most six
// hours, without jitter so the log states when the next attempt is due.
func RetryAfter(n int) time.Duration {
	b := backoff.NewExponentialBackOff()
	b.InitialInterval, b.Multiplier, b.MaxInterval, b.RandomizationFactor = time.Minute, 2, 6*time.Hour, 0
	d := b.NextBackOff()
	for i := 1; i < n; i++ {
		d = b.NextBackOff()
	}
	return d
}

// Message is the body of a delivery: a Standard Webhooks payload whose
// data is the digest's alert events.
type Message struct {
	Type      string      `json:"type"`
	Timestamp time.Time   `json:"timestamp"`
	Data      MessageData `json:"data"`
}

// MessageData is what a digest says.
type MessageData struct {
	AccountID      string                `json:"account_id"`
	SubscriptionID string                `json:"subscription_id"`
	Events         []holdfast.AlertEvent `json:"events"`
}

// MessageType is the type of every alert message.
const MessageType = "alerts.digest"

// Digest gathers, for each subscription of the account whose digest is
// due, the history after its cursor: the kinds it asked for, about
// objects the engine lets its administrator see. A digest with any event
// becomes one pending delivery; the cursor moves past everything read, in
// the same transaction, so no event is sent twice or skipped.
func (s *Service) Digest(ctx context.Context, accountID string) error {
	page := holdfast.Page{Limit: holdfast.MaxPageSize}
	for {
		got, err := s.store.PageAlertSubscriptions(ctx, accountID, "", page)
		if err != nil {
			return err
		}
		for _, sub := range got.Items {
			if err := s.digestOne(ctx, sub); err != nil {
				return fmt.Errorf("subscription %s: %w", sub.ID, err)
			}
		}
		if got.Next == "" {
			return nil
		}
		page.Cursor = got.Next
	}
}

func (s *Service) digestOne(ctx context.Context, sub holdfast.AlertSubscription) error {
	now := s.now()
	last := sub.CreatedAt
	if sub.LastSentAt != nil {
		last = *sub.LastSentAt
	}
	if sub.DigestEvery > 0 && now.Sub(last) < sub.DigestEvery {
		return nil
	}
	events, err := s.store.ListAlertEvents(ctx, sub.AccountID, sub.Cursor, digestLimit)
	if err != nil || len(events) == 0 {
		return err
	}
	admin, err := s.store.GetAdmin(ctx, sub.AccountID, sub.AdminID)
	if err != nil {
		return err
	}
	p := holdfast.Principal{Kind: holdfast.PrincipalAdmin, AccountID: sub.AccountID, AdminID: admin.ID, Email: admin.Email}
	kept, err := s.visible(ctx, p, sub, events)
	if err != nil {
		return err
	}
	from := sub.Cursor
	sub.Cursor = events[len(events)-1].Seq
	return s.store.Tx(ctx, func(tx holdfast.MetaStore) error {
		// Another replica may have made this digest meanwhile: then its
		// cursor moved, and this one is dropped rather than sent twice.
		cur, err := tx.GetAlertSubscription(ctx, sub.AccountID, sub.ID)
		if errors.Is(err, holdfast.ErrNotFound) || (err == nil && cur.Cursor != from) {
			return nil
		}
		if err != nil {
			return err
		}
		if len(kept) > 0 {
			if err := s.queue(ctx, tx, sub, admin, kept, now); err != nil {
				return err
			}
			sub.LastSentAt = &now
		}
		sub.UpdatedAt = now
		return tx.UpdateAlertSubscription(ctx, &sub)
	})
}

// visible keeps the events of the subscription's kinds about objects p
// may see; each object is asked of the engine once.
func (s *Service) visible(ctx context.Context, p holdfast.Principal, sub holdfast.AlertSubscription, events []holdfast.AlertEvent) ([]holdfast.AlertEvent, error) {
	seen := map[string]bool{}
	var kept []holdfast.AlertEvent
	for _, e := range events {
		if len(sub.Kinds) > 0 && !slices.Contains(sub.Kinds, e.Kind) {
			continue
		}
		key := e.ObjectType + "\x00" + e.ObjectID
		ok, asked := seen[key]
		if !asked {
			var err error
			if ok, err = s.sees(ctx, p, e.ObjectType, e.ObjectID); err != nil {
				return nil, err
			}
			seen[key] = ok
		}
		if ok {
			kept = append(kept, e)
		}
	}
	return kept, nil
}

// queue stores the pending delivery of a digest.
func (s *Service) queue(ctx context.Context, tx holdfast.MetaStore, sub holdfast.AlertSubscription, admin holdfast.Administrator, events []holdfast.AlertEvent, now time.Time) error {
	body, err := json.Marshal(Message{Type: MessageType, Timestamp: now,
		Data: MessageData{AccountID: sub.AccountID, SubscriptionID: sub.ID, Events: events}})
	if err != nil {
		return err
	}
	target := sub.URL
	if sub.Channel == holdfast.AlertChannelEmail {
		target = admin.Email
	}
	d := holdfast.AlertDelivery{AccountID: sub.AccountID, ID: "msg_" + uuid.NewString(), SubscriptionID: sub.ID,
		Channel: sub.Channel, Target: target, Events: len(events), Body: body, State: holdfast.AlertDeliveryPending,
		NextAt: &now, CreatedAt: now}
	return tx.CreateAlertDelivery(ctx, &d)
}

// Deliver attempts the account's pending deliveries that are due. Each
// attempt is recorded: delivered, or failed with its status and error and
// the next attempt due after RetryAfter, or failed for good after
// MaxAttempts.
func (s *Service) Deliver(ctx context.Context, accountID string) error {
	now := s.now()
	due, err := s.store.PageAlertDeliveries(ctx, accountID, holdfast.AlertDeliveryFilter{DueBy: &now}, holdfast.Page{Limit: dueBatch})
	if err != nil {
		return err
	}
	for _, d := range due.Items {
		status, err := s.attempt(ctx, d)
		s.record(&d, status, err, s.now())
		if uerr := s.store.UpdateAlertDelivery(ctx, &d); uerr != nil {
			return uerr
		}
	}
	return nil
}

// record notes one attempt's outcome in d.
func (s *Service) record(d *holdfast.AlertDelivery, status int, err error, now time.Time) {
	d.Attempts++
	d.LastStatus = status
	if err == nil {
		d.State, d.LastError, d.NextAt, d.DeliveredAt = holdfast.AlertDeliveryDelivered, "", nil, &now
		return
	}
	d.LastError = err.Error()
	if d.Attempts >= MaxAttempts || errors.Is(err, errPermanent) {
		d.State, d.NextAt = holdfast.AlertDeliveryFailed, nil
		return
	}
	next := now.Add(RetryAfter(d.Attempts))
	d.NextAt = &next
}

// errPermanent marks a delivery that no retry can help.
var errPermanent = errors.New("not retried")

// attempt sends d once by its channel; it returns the HTTP status of a
// webhook attempt (0 when none came back).
func (s *Service) attempt(ctx context.Context, d holdfast.AlertDelivery) (int, error) {
	sub, err := s.store.GetAlertSubscription(ctx, d.AccountID, d.SubscriptionID)
	if errors.Is(err, holdfast.ErrNotFound) {
		return 0, fmt.Errorf("%w: the subscription was deleted", errPermanent)
	}
	if err != nil {
		return 0, err
	}
	if d.Channel == holdfast.AlertChannelEmail {
		return 0, s.sendMail(ctx, d)
	}
	return s.sendWebhook(ctx, d, sub.Secret)
}

// sendWebhook posts d's body signed as Standard Webhooks says: webhook-id
// (d.ID, the same on every retry), webhook-timestamp and webhook-signature
// (v1, the base64 HMAC-SHA256 of id.timestamp.body under the secret).
// Only a 2xx answer delivers. The error never holds the secret.
func (s *Service) sendWebhook(ctx context.Context, d holdfast.AlertDelivery, secret string) (int, error) {
	if s.client == nil {
		return 0, fmt.Errorf("%w: webhooks are not enabled on this server", errPermanent)
	}
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		return 0, fmt.Errorf("%w: the subscription's secret is unusable", errPermanent)
	}
	ts := s.clock.Now()
	sig, err := wh.Sign(d.ID, ts, d.Body)
	if err != nil {
		return 0, fmt.Errorf("%w: cannot sign", errPermanent)
	}
	ctx, cancel := context.WithTimeout(ctx, sendTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.Target, bytes.NewReader(d.Body))
	if err != nil {
		return 0, fmt.Errorf("%w: bad target URL", errPermanent)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Holdfast-Webhooks/1")
	req.Header.Set(standardwebhooks.HeaderWebhookID, d.ID)
	req.Header.Set(standardwebhooks.HeaderWebhookTimestamp, strconv.FormatInt(ts.Unix(), 10))
	req.Header.Set(standardwebhooks.HeaderWebhookSignature, sig)
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, sendError(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return resp.StatusCode, fmt.Errorf("the receiver answered %d", resp.StatusCode)
	}
	return resp.StatusCode, nil
}

// sendError says why a request failed without echoing URLs or bodies; a
// target the egress rules refuse is not retried.
func sendError(err error) error {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "egress: refused"):
		return fmt.Errorf("%w: the target is refused (not a public address)", errPermanent)
	case errors.Is(err, context.DeadlineExceeded) || strings.Contains(msg, "Client.Timeout"):
		return errors.New("the receiver did not answer in time")
	}
	return errors.New("the receiver could not be reached")
}

// sendMail sends d to its administrator's address through the Mailer.
func (s *Service) sendMail(ctx context.Context, d holdfast.AlertDelivery) error {
	if s.mailer == nil {
		return errors.New("no mail transport is configured")
	}
	var m Message
	if err := json.Unmarshal(d.Body, &m); err != nil {
		return fmt.Errorf("%w: unreadable message", errPermanent)
	}
	return s.mailer.Send(ctx, holdfast.Message{To: []string{d.Target}, Subject: subject(m.Data.Events), Text: text(m.Data.Events)})
}

// subject counts a digest's events by status.
func subject(events []holdfast.AlertEvent) string {
	n := map[string]int{}
	for _, e := range events {
		n[e.Status]++
	}
	var parts []string
	for _, st := range []string{holdfast.AlertStateFiring, holdfast.AlertEventRepeat, holdfast.AlertStateResolved} {
		if n[st] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n[st], st))
		}
	}
	return "Holdfast alerts: " + strings.Join(parts, ", ")
}

// text lists a digest's events, one a line.
func text(events []holdfast.AlertEvent) string {
	var b strings.Builder
	for _, e := range events {
		fmt.Fprintf(&b, "%s  %-8s  %s  %s\n", e.Time.UTC().Format(time.RFC3339), e.Status, e.Kind, e.Summary)
	}
	return b.String()
}
