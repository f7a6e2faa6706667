package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"github.com/holdfast/holdfast"
)

var _ holdfast.AlertStore = (*Store)(nil)

const alertColumns = `account_id, id, kind, object_type, object_id, state, summary, detail, seen, starts_at, ends_at,
	notified_at, resolved_at, updated_at`

func scanAlert(r scanner) (holdfast.Alert, error) {
	var (
		a                         holdfast.Alert
		detail                    sql.NullString
		starts, notified, updated int64
		ends, resolved            sql.NullInt64
	)
	err := r.Scan(&a.AccountID, &a.ID, &a.Kind, &a.ObjectType, &a.ObjectID, &a.State, &a.Summary, &detail, &a.Count,
		&starts, &ends, &notified, &resolved, &updated)
	if err != nil {
		return a, err
	}
	a.Detail = rawJSON(detail)
	a.StartsAt, a.NotifiedAt, a.UpdatedAt = fromMicros(starts), fromMicros(notified), fromMicros(updated)
	a.EndsAt, a.ResolvedAt = fromNullMicros(ends), fromNullMicros(resolved)
	return a, nil
}

func rawJSON(v sql.NullString) json.RawMessage {
	if !v.Valid {
		return nil
	}
	return json.RawMessage(v.String)
}

func nullJSON(v json.RawMessage) any {
	if len(v) == 0 {
		return nil
	}
	return string(v)
}

// GetAlertByKey returns the alert of a dedup key; none: ErrNotFound.
func (s *Store) GetAlertByKey(ctx context.Context, accountID, kind, objectType, objectID string) (holdfast.Alert, error) {
	a, err := scanAlert(s.queryRow(ctx, `SELECT `+alertColumns+` FROM alerts
		WHERE account_id = ? AND kind = ? AND object_type = ? AND object_id = ?`, accountID, kind, objectType, objectID))
	if err != nil {
		return holdfast.Alert{}, s.fail("alert "+kind+" of "+objectType+" "+objectID, err)
	}
	return a, nil
}

// GetAlert returns one alert; missing: ErrNotFound.
func (s *Store) GetAlert(ctx context.Context, accountID, id string) (holdfast.Alert, error) {
	a, err := scanAlert(s.queryRow(ctx, `SELECT `+alertColumns+` FROM alerts WHERE account_id = ? AND id = ?`, accountID, id))
	if err != nil {
		return holdfast.Alert{}, s.fail("alert "+id, err)
	}
	return a, nil
}

// PutAlert creates the alert of its dedup key or replaces its fields,
// keeping the stored ID, which it writes back into a.
func (s *Store) PutAlert(ctx context.Context, a *holdfast.Alert) error {
	a.ID = newID(a.ID)
	stamp(&a.StartsAt, &a.UpdatedAt)
	a.NotifiedAt = normTime(a.NotifiedAt)
	a.EndsAt, a.ResolvedAt = normTimePtr(a.EndsAt), normTimePtr(a.ResolvedAt)
	what := "alert " + a.Kind + " of " + a.ObjectType + " " + a.ObjectID
	return s.write(ctx, func(s *Store) error {
		_, err := s.exec(ctx, `INSERT INTO alerts (`+alertColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (account_id, kind, object_type, object_id) DO UPDATE SET state = excluded.state,
			summary = excluded.summary, detail = excluded.detail, seen = excluded.seen, starts_at = excluded.starts_at,
			ends_at = excluded.ends_at, notified_at = excluded.notified_at, resolved_at = excluded.resolved_at,
			updated_at = excluded.updated_at`,
			a.AccountID, a.ID, a.Kind, a.ObjectType, a.ObjectID, a.State, a.Summary, nullJSON(a.Detail), a.Count,
			micros(a.StartsAt), nullMicros(a.EndsAt), micros(a.NotifiedAt), nullMicros(a.ResolvedAt), micros(a.UpdatedAt))
		if err != nil {
			return s.fail(what, err, unique{"", "alert " + a.ID + " already exists"})
		}
		return s.queryRow(ctx, `SELECT id FROM alerts WHERE account_id = ? AND kind = ? AND object_type = ? AND object_id = ?`,
			a.AccountID, a.Kind, a.ObjectType, a.ObjectID).Scan(&a.ID)
	})
}

// PageAlerts returns one page of the account's alerts matching f, by
// dedup key (kind, object type, object id).
func (s *Store) PageAlerts(ctx context.Context, accountID string, f holdfast.AlertFilter, p holdfast.Page) (holdfast.Paged[holdfast.Alert], error) {
	var c conds
	c.add("account_id = ?", accountID)
	if f.Kind != "" {
		c.add("kind = ?", f.Kind)
	}
	if f.State != "" {
		c.add("state = ?", f.State)
	}
	c.in("object_type", f.ObjectTypes)
	return pageBy(ctx, s, pageQuery[holdfast.Alert]{
		what: "alerts", columns: alertColumns, from: "alerts" + c.where(), args: c.args,
		order: "kind, object_type, object_id",
		after: func(key []string) (string, []any, error) {
			if len(key) != 3 {
				return "", nil, badCursor()
			}
			return "(kind > ? OR (kind = ? AND (object_type > ? OR (object_type = ? AND object_id > ?))))",
				[]any{key[0], key[0], key[1], key[1], key[2]}, nil
		},
		key:  func(a holdfast.Alert) []string { return []string{a.Kind, a.ObjectType, a.ObjectID} },
		scan: scanAlert,
	}, p)
}

const alertEventColumns = `account_id, seq, alert_id, kind, object_type, object_id, status, summary, detail, at`

func scanAlertEvent(r scanner) (holdfast.AlertEvent, error) {
	var (
		e      holdfast.AlertEvent
		detail sql.NullString
		at     int64
	)
	if err := r.Scan(&e.AccountID, &e.Seq, &e.AlertID, &e.Kind, &e.ObjectType, &e.ObjectID, &e.Status, &e.Summary,
		&detail, &at); err != nil {
		return e, err
	}
	e.Detail, e.Time = rawJSON(detail), fromMicros(at)
	return e, nil
}

// AppendAlertEvent appends e to the account's history with the next Seq.
// Two appends racing for one Seq cannot both commit (the primary key), so
// events commit in Seq order and a reader's cursor never skips one.
func (s *Store) AppendAlertEvent(ctx context.Context, e *holdfast.AlertEvent) error {
	if e.Time.IsZero() {
		e.Time = now()
	}
	e.Time = normTime(e.Time)
	ev := *e
	err := s.write(ctx, func(s *Store) error {
		if err := s.queryRow(ctx, `SELECT COALESCE(MAX(seq), 0) + 1 FROM alert_events WHERE account_id = ?`,
			ev.AccountID).Scan(&ev.Seq); err != nil {
			return s.fail("alert history of account "+ev.AccountID, err)
		}
		_, err := s.exec(ctx, `INSERT INTO alert_events (`+alertEventColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			ev.AccountID, ev.Seq, ev.AlertID, ev.Kind, ev.ObjectType, ev.ObjectID, ev.Status, ev.Summary,
			nullJSON(ev.Detail), micros(ev.Time))
		if err != nil {
			return s.fail("alert history of account "+ev.AccountID, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	*e = ev
	return nil
}

// PageAlertEvents returns one page of the account's history matching f,
// newest first.
func (s *Store) PageAlertEvents(ctx context.Context, accountID string, f holdfast.AlertEventFilter, p holdfast.Page) (holdfast.Paged[holdfast.AlertEvent], error) {
	var c conds
	c.add("account_id = ?", accountID)
	if f.Kind != "" {
		c.add("kind = ?", f.Kind)
	}
	if f.AlertID != "" {
		c.add("alert_id = ?", f.AlertID)
	}
	c.in("object_type", f.ObjectTypes)
	return pageBy(ctx, s, pageQuery[holdfast.AlertEvent]{
		what: "alert history", columns: alertEventColumns, from: "alert_events" + c.where(), args: c.args,
		order: "seq DESC",
		after: func(key []string) (string, []any, error) {
			if len(key) != 1 {
				return "", nil, badCursor()
			}
			seq, err := strconv.ParseInt(key[0], 10, 64)
			if err != nil {
				return "", nil, badCursor()
			}
			return "seq < ?", []any{seq}, nil
		},
		key:  func(e holdfast.AlertEvent) []string { return []string{strconv.FormatInt(e.Seq, 10)} },
		scan: scanAlertEvent,
	}, p)
}

// ListAlertEvents returns at most limit events after afterSeq, oldest
// first.
func (s *Store) ListAlertEvents(ctx context.Context, accountID string, afterSeq int64, limit int) ([]holdfast.AlertEvent, error) {
	return list(ctx, s, "alert history", scanAlertEvent, `SELECT `+alertEventColumns+` FROM alert_events
		WHERE account_id = ? AND seq > ? ORDER BY seq LIMIT ?`, accountID, afterSeq, int64(max(limit, 1)))
}

// LastAlertEventSeq is the Seq of the account's newest event, 0 for none.
func (s *Store) LastAlertEventSeq(ctx context.Context, accountID string) (int64, error) {
	var seq int64
	err := s.queryRow(ctx, `SELECT COALESCE(MAX(seq), 0) FROM alert_events WHERE account_id = ?`, accountID).Scan(&seq)
	if err != nil {
		return 0, s.fail("alert history of account "+accountID, err)
	}
	return seq, nil
}

// GetAlertCursor returns the named cursor, 0 when it was never set.
func (s *Store) GetAlertCursor(ctx context.Context, accountID, name string) (int64, error) {
	var v int64
	err := s.queryRow(ctx, `SELECT value FROM alert_cursors WHERE account_id = ? AND name = ?`, accountID, name).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, s.fail("alert cursor "+name, err)
	}
	return v, nil
}

// PutAlertCursor sets the named cursor.
func (s *Store) PutAlertCursor(ctx context.Context, accountID, name string, value int64) error {
	return s.write(ctx, func(s *Store) error {
		_, err := s.exec(ctx, `INSERT INTO alert_cursors (account_id, name, value) VALUES (?, ?, ?)
			ON CONFLICT (account_id, name) DO UPDATE SET value = excluded.value`, accountID, name, value)
		if err != nil {
			return s.fail("alert cursor "+name, err)
		}
		return nil
	})
}

const alertSubscriptionColumns = `account_id, id, admin_id, kinds, channel, url, secret, digest_every, cursor_seq,
	last_sent_at, created_by, created_at, updated_at`

func scanAlertSubscription(r scanner) (holdfast.AlertSubscription, error) {
	var (
		a                holdfast.AlertSubscription
		kinds            string
		digest           int64
		created, updated int64
		lastSent         sql.NullInt64
	)
	if err := r.Scan(&a.AccountID, &a.ID, &a.AdminID, &kinds, &a.Channel, &a.URL, &a.Secret, &digest, &a.Cursor,
		&lastSent, &a.CreatedBy, &created, &updated); err != nil {
		return a, err
	}
	if err := fromJSONStrings(kinds, &a.Kinds); err != nil {
		return a, err
	}
	a.DigestEvery = time.Duration(digest) * time.Microsecond
	a.LastSentAt, a.CreatedAt, a.UpdatedAt = fromNullMicros(lastSent), fromMicros(created), fromMicros(updated)
	return a, nil
}

// CreateAlertSubscription stores a new subscription; a missing
// administrator is ErrNotFound.
func (s *Store) CreateAlertSubscription(ctx context.Context, a *holdfast.AlertSubscription) error {
	a.ID = newID(a.ID)
	stamp(&a.CreatedAt, &a.UpdatedAt)
	a.LastSentAt = normTimePtr(a.LastSentAt)
	kinds, err := jsonText(nonNil(a.Kinds))
	if err != nil {
		return err
	}
	return s.write(ctx, func(s *Store) error {
		_, err := s.exec(ctx, `INSERT INTO alert_subscriptions (`+alertSubscriptionColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			a.AccountID, a.ID, a.AdminID, kinds, a.Channel, a.URL, a.Secret, a.DigestEvery.Microseconds(), a.Cursor,
			nullMicros(a.LastSentAt), a.CreatedBy, micros(a.CreatedAt), micros(a.UpdatedAt))
		if err != nil {
			return s.fail("alert subscription "+a.ID, err, unique{"", "alert subscription " + a.ID + " already exists"})
		}
		return nil
	})
}

// GetAlertSubscription returns one subscription; missing: ErrNotFound.
func (s *Store) GetAlertSubscription(ctx context.Context, accountID, id string) (holdfast.AlertSubscription, error) {
	a, err := scanAlertSubscription(s.queryRow(ctx, `SELECT `+alertSubscriptionColumns+` FROM alert_subscriptions
		WHERE account_id = ? AND id = ?`, accountID, id))
	if err != nil {
		return holdfast.AlertSubscription{}, s.fail("alert subscription "+id, err)
	}
	return a, nil
}

// PageAlertSubscriptions returns one page of the account's subscriptions
// (adminID's only when set), oldest first.
func (s *Store) PageAlertSubscriptions(ctx context.Context, accountID, adminID string, p holdfast.Page) (holdfast.Paged[holdfast.AlertSubscription], error) {
	var c conds
	c.add("account_id = ?", accountID)
	if adminID != "" {
		c.add("admin_id = ?", adminID)
	}
	return pageBy(ctx, s, pageQuery[holdfast.AlertSubscription]{
		what: "alert subscriptions", columns: alertSubscriptionColumns, from: "alert_subscriptions" + c.where(),
		args: c.args, order: "created_at, id", after: timeIDAfter(">"),
		key:  func(a holdfast.AlertSubscription) []string { return timeIDKey(a.CreatedAt, a.ID) },
		scan: scanAlertSubscription,
	}, p)
}

// timeIDAfter is the keyset condition of a (created_at, id) order; cmp is
// ">" ascending, "<" descending.
func timeIDAfter(cmp string) func(key []string) (string, []any, error) {
	return func(key []string) (string, []any, error) {
		if len(key) != 2 {
			return "", nil, badCursor()
		}
		at, err := strconv.ParseInt(key[0], 10, 64)
		if err != nil {
			return "", nil, badCursor()
		}
		return "(created_at " + cmp + " ? OR (created_at = ? AND id " + cmp + " ?))", []any{at, at, key[1]}, nil
	}
}

func timeIDKey(at time.Time, id string) []string {
	return []string{strconv.FormatInt(micros(at), 10), id}
}

// UpdateAlertSubscription replaces the subscription's kinds, URL, digest
// period, cursor, last sending and UpdatedAt (zero: now).
func (s *Store) UpdateAlertSubscription(ctx context.Context, a *holdfast.AlertSubscription) error {
	if a.UpdatedAt.IsZero() {
		a.UpdatedAt = now()
	}
	a.UpdatedAt, a.LastSentAt = normTime(a.UpdatedAt), normTimePtr(a.LastSentAt)
	kinds, err := jsonText(nonNil(a.Kinds))
	if err != nil {
		return err
	}
	return s.write(ctx, func(s *Store) error {
		res, err := s.exec(ctx, `UPDATE alert_subscriptions SET kinds = ?, url = ?, digest_every = ?, cursor_seq = ?,
			last_sent_at = ?, updated_at = ? WHERE account_id = ? AND id = ?`,
			kinds, a.URL, a.DigestEvery.Microseconds(), a.Cursor, nullMicros(a.LastSentAt), micros(a.UpdatedAt),
			a.AccountID, a.ID)
		return s.affectedOne("alert subscription "+a.ID, res, err)
	})
}

// DeleteAlertSubscription removes a subscription; missing: ErrNotFound.
// Its delivery log stays.
func (s *Store) DeleteAlertSubscription(ctx context.Context, accountID, id string) error {
	return s.write(ctx, func(s *Store) error {
		return s.execOne(ctx, "alert subscription "+id,
			`DELETE FROM alert_subscriptions WHERE account_id = ? AND id = ?`, accountID, id)
	})
}

const alertDeliveryColumns = `account_id, id, subscription_id, channel, target, events, body, state, attempts,
	last_status, last_error, next_at, created_at, delivered_at`

func scanAlertDelivery(r scanner) (holdfast.AlertDelivery, error) {
	var (
		d               holdfast.AlertDelivery
		body            string
		created         int64
		next, delivered sql.NullInt64
	)
	if err := r.Scan(&d.AccountID, &d.ID, &d.SubscriptionID, &d.Channel, &d.Target, &d.Events, &body, &d.State,
		&d.Attempts, &d.LastStatus, &d.LastError, &next, &created, &delivered); err != nil {
		return d, err
	}
	d.Body, d.CreatedAt = json.RawMessage(body), fromMicros(created)
	d.NextAt, d.DeliveredAt = fromNullMicros(next), fromNullMicros(delivered)
	return d, nil
}

// CreateAlertDelivery stores a new delivery; a taken ID is ErrConflict.
func (s *Store) CreateAlertDelivery(ctx context.Context, d *holdfast.AlertDelivery) error {
	d.ID = newID(d.ID)
	if d.CreatedAt.IsZero() {
		d.CreatedAt = now()
	}
	d.CreatedAt, d.NextAt, d.DeliveredAt = normTime(d.CreatedAt), normTimePtr(d.NextAt), normTimePtr(d.DeliveredAt)
	return s.write(ctx, func(s *Store) error {
		_, err := s.exec(ctx, `INSERT INTO alert_deliveries (`+alertDeliveryColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			d.AccountID, d.ID, d.SubscriptionID, d.Channel, d.Target, d.Events, string(d.Body), d.State, d.Attempts,
			d.LastStatus, d.LastError, nullMicros(d.NextAt), micros(d.CreatedAt), nullMicros(d.DeliveredAt))
		if err != nil {
			return s.fail("alert delivery "+d.ID, err, unique{"", "alert delivery " + d.ID + " already exists"})
		}
		return nil
	})
}

// UpdateAlertDelivery records an attempt: state, attempts, last status
// and error, next attempt and delivery time.
func (s *Store) UpdateAlertDelivery(ctx context.Context, d *holdfast.AlertDelivery) error {
	d.NextAt, d.DeliveredAt = normTimePtr(d.NextAt), normTimePtr(d.DeliveredAt)
	return s.write(ctx, func(s *Store) error {
		res, err := s.exec(ctx, `UPDATE alert_deliveries SET state = ?, attempts = ?, last_status = ?, last_error = ?,
			next_at = ?, delivered_at = ? WHERE account_id = ? AND id = ?`,
			d.State, d.Attempts, d.LastStatus, d.LastError, nullMicros(d.NextAt), nullMicros(d.DeliveredAt),
			d.AccountID, d.ID)
		return s.affectedOne("alert delivery "+d.ID, res, err)
	})
}

// GetAlertDelivery returns one delivery; missing: ErrNotFound.
func (s *Store) GetAlertDelivery(ctx context.Context, accountID, id string) (holdfast.AlertDelivery, error) {
	d, err := scanAlertDelivery(s.queryRow(ctx, `SELECT `+alertDeliveryColumns+` FROM alert_deliveries
		WHERE account_id = ? AND id = ?`, accountID, id))
	if err != nil {
		return holdfast.AlertDelivery{}, s.fail("alert delivery "+id, err)
	}
	return d, nil
}

// PageAlertDeliveries returns one page of the account's deliveries
// matching f, newest first.
func (s *Store) PageAlertDeliveries(ctx context.Context, accountID string, f holdfast.AlertDeliveryFilter, p holdfast.Page) (holdfast.Paged[holdfast.AlertDelivery], error) {
	var c conds
	c.add("account_id = ?", accountID)
	if f.SubscriptionID != "" {
		c.add("subscription_id = ?", f.SubscriptionID)
	}
	if f.DueBy != nil {
		c.add("state = ? AND next_at <= ?", holdfast.AlertDeliveryPending, micros(*f.DueBy))
	}
	return pageBy(ctx, s, pageQuery[holdfast.AlertDelivery]{
		what: "alert deliveries", columns: alertDeliveryColumns, from: "alert_deliveries" + c.where(), args: c.args,
		order: "created_at DESC, id DESC", after: timeIDAfter("<"),
		key:  func(d holdfast.AlertDelivery) []string { return timeIDKey(d.CreatedAt, d.ID) },
		scan: scanAlertDelivery,
	}, p)
}
