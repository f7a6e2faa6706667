package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/holdfast/holdfast"
)

// The store is also the [holdfast.IdentityStore]: sign-in state lives in
// the metadata database so that replicas share it. None of these writes
// calls bump, so the account revision (and every decision cache keyed on
// it) is left alone by sessions and sign-in bookkeeping; only a change of
// the settings (PutIdentitySettings) does, so that the server can keep them
// in memory under the revision.
var _ holdfast.IdentityStore = (*Store)(nil)

const sessionColumns = `id, account_id, admin_id, method, created_at, last_seen_at, expires_at, pending, csrf, remote_ip, outside_since`

func scanSession(r scanner) (holdfast.Session, error) {
	var (
		s                      holdfast.Session
		created, seen, expires int64
		csrf                   string
		outside                sql.NullInt64
	)
	err := r.Scan(&s.ID, &s.AccountID, &s.AdminID, &s.Method, &created, &seen, &expires, &s.Pending, &csrf, &s.RemoteIP, &outside)
	if err != nil {
		return s, err
	}
	s.CreatedAt, s.LastSeenAt, s.ExpiresAt = fromMicros(created), fromMicros(seen), fromMicros(expires)
	s.CSRF = holdfast.Secret(csrf)
	s.OutsideSince = fromNullMicros(outside)
	return s, nil
}

// CreateSession stores a new session; a missing administrator is
// ErrNotFound, a taken id ErrConflict. Times are written back normalized.
func (s *Store) CreateSession(ctx context.Context, se *holdfast.Session) error {
	if se.ID == "" {
		return fmt.Errorf("%w: session id is required", holdfast.ErrInvalid)
	}
	se.CreatedAt, se.LastSeenAt, se.ExpiresAt = normTime(se.CreatedAt), normTime(se.LastSeenAt), normTime(se.ExpiresAt)
	se.OutsideSince = normTimePtr(se.OutsideSince)
	return s.write(ctx, func(s *Store) error {
		_, err := s.exec(ctx, `INSERT INTO sessions (`+sessionColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			se.ID, se.AccountID, se.AdminID, se.Method, micros(se.CreatedAt), micros(se.LastSeenAt), micros(se.ExpiresAt),
			se.Pending, se.CSRF.Reveal(), se.RemoteIP, nullMicros(se.OutsideSince))
		if err != nil {
			return s.fail("session", err, unique{"", "session already exists"})
		}
		return nil
	})
}

// GetSession returns the session with the id; missing: ErrNotFound.
func (s *Store) GetSession(ctx context.Context, id string) (holdfast.Session, error) {
	se, err := scanSession(s.queryRow(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE id = ?`, id))
	if err != nil {
		return holdfast.Session{}, s.fail("session", err)
	}
	return se, nil
}

// UpdateSession writes the session's LastSeenAt and OutsideSince.
func (s *Store) UpdateSession(ctx context.Context, se *holdfast.Session) error {
	se.LastSeenAt = normTime(se.LastSeenAt)
	se.OutsideSince = normTimePtr(se.OutsideSince)
	return s.write(ctx, func(s *Store) error {
		return s.execOne(ctx, "session", `UPDATE sessions SET last_seen_at = ?, outside_since = ? WHERE id = ?`,
			micros(se.LastSeenAt), nullMicros(se.OutsideSince), se.ID)
	})
}

// DeleteSession removes a session; a missing one is not an error.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	return s.write(ctx, func(s *Store) error {
		_, err := s.exec(ctx, `DELETE FROM sessions WHERE id = ?`, id)
		if err != nil {
			return s.fail("session", err)
		}
		return nil
	})
}

// DeleteAdminSessions ends every session of the administrator.
func (s *Store) DeleteAdminSessions(ctx context.Context, accountID, adminID string) error {
	return s.write(ctx, func(s *Store) error {
		_, err := s.exec(ctx, `DELETE FROM sessions WHERE account_id = ? AND admin_id = ?`, accountID, adminID)
		if err != nil {
			return s.fail("sessions of administrator "+adminID, err)
		}
		return nil
	})
}

// DeleteExpiredSessions removes the sessions that ended before t.
func (s *Store) DeleteExpiredSessions(ctx context.Context, t time.Time) (int, error) {
	var n int64
	err := s.write(ctx, func(s *Store) error {
		res, err := s.exec(ctx, `DELETE FROM sessions WHERE expires_at < ?`, micros(t))
		if err != nil {
			return s.fail("expired sessions", err)
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}

const credentialColumns = `account_id, admin_id, password_history, password_changed_at, failed_logins, locked_until, totp_secret, totp_pending, totp_last_step, recovery_codes, updated_at`

// GetCredentials returns the administrator's password-login state; never
// stored: ErrNotFound.
func (s *Store) GetCredentials(ctx context.Context, accountID, adminID string) (holdfast.Credentials, error) {
	var (
		c               holdfast.Credentials
		history, codes  string
		changed, locked sql.NullInt64
		secret, pending string
		updated         int64
	)
	err := s.queryRow(ctx, `SELECT `+credentialColumns+` FROM admin_credentials WHERE account_id = ? AND admin_id = ?`,
		accountID, adminID).Scan(&c.AccountID, &c.AdminID, &history, &changed, &c.FailedLogins, &locked,
		&secret, &pending, &c.TOTPLastStep, &codes, &updated)
	if err != nil {
		return holdfast.Credentials{}, s.fail("credentials of administrator "+adminID, err)
	}
	if err := fromJSONStrings(history, &c.PasswordHistory); err != nil {
		return holdfast.Credentials{}, fmt.Errorf("%s: credentials of administrator %s: %w", s.d.Name, adminID, err)
	}
	if err := fromJSONStrings(codes, &c.RecoveryCodes); err != nil {
		return holdfast.Credentials{}, fmt.Errorf("%s: credentials of administrator %s: %w", s.d.Name, adminID, err)
	}
	c.PasswordChangedAt, c.LockedUntil = fromNullMicros(changed), fromNullMicros(locked)
	c.TOTPSecret, c.TOTPPending = holdfast.Secret(secret), holdfast.Secret(pending)
	c.UpdatedAt = fromMicros(updated)
	return c, nil
}

// PutCredentials creates or replaces the administrator's password-login
// state; a missing administrator is ErrNotFound.
func (s *Store) PutCredentials(ctx context.Context, c *holdfast.Credentials) error {
	if c.UpdatedAt.IsZero() {
		c.UpdatedAt = now()
	}
	c.UpdatedAt = normTime(c.UpdatedAt)
	c.PasswordChangedAt, c.LockedUntil = normTimePtr(c.PasswordChangedAt), normTimePtr(c.LockedUntil)
	history, err := jsonText(nonNil(c.PasswordHistory))
	if err != nil {
		return fmt.Errorf("%s: credentials: %w", s.d.Name, err)
	}
	codes, err := jsonText(nonNil(c.RecoveryCodes))
	if err != nil {
		return fmt.Errorf("%s: credentials: %w", s.d.Name, err)
	}
	return s.write(ctx, func(s *Store) error {
		_, err := s.exec(ctx, `INSERT INTO admin_credentials (`+credentialColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (account_id, admin_id) DO UPDATE SET password_history = excluded.password_history,
			password_changed_at = excluded.password_changed_at, failed_logins = excluded.failed_logins,
			locked_until = excluded.locked_until, totp_secret = excluded.totp_secret, totp_pending = excluded.totp_pending,
			totp_last_step = excluded.totp_last_step, recovery_codes = excluded.recovery_codes, updated_at = excluded.updated_at`,
			c.AccountID, c.AdminID, history, nullMicros(c.PasswordChangedAt), c.FailedLogins, nullMicros(c.LockedUntil),
			c.TOTPSecret.Reveal(), c.TOTPPending.Reveal(), c.TOTPLastStep, codes, micros(c.UpdatedAt))
		if err != nil {
			return s.fail("credentials of administrator "+c.AdminID, err)
		}
		return nil
	})
}

func nonNil(v []string) []string {
	if v == nil {
		return []string{}
	}
	return v
}

const linkColumns = `id, account_id, admin_id, purpose, created_at, expires_at, used_at`

func scanLink(r scanner) (holdfast.Link, error) {
	var (
		l                holdfast.Link
		created, expires int64
		used             sql.NullInt64
	)
	if err := r.Scan(&l.ID, &l.AccountID, &l.AdminID, &l.Purpose, &created, &expires, &used); err != nil {
		return l, err
	}
	l.CreatedAt, l.ExpiresAt, l.UsedAt = fromMicros(created), fromMicros(expires), fromNullMicros(used)
	return l, nil
}

// CreateLink stores a single-use link; a missing administrator is
// ErrNotFound.
func (s *Store) CreateLink(ctx context.Context, l *holdfast.Link) error {
	if l.ID == "" {
		return fmt.Errorf("%w: link id is required", holdfast.ErrInvalid)
	}
	if l.CreatedAt.IsZero() {
		l.CreatedAt = now()
	}
	l.CreatedAt, l.ExpiresAt, l.UsedAt = normTime(l.CreatedAt), normTime(l.ExpiresAt), normTimePtr(l.UsedAt)
	return s.write(ctx, func(s *Store) error {
		_, err := s.exec(ctx, `INSERT INTO admin_links (`+linkColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			l.ID, l.AccountID, l.AdminID, l.Purpose, micros(l.CreatedAt), micros(l.ExpiresAt), nullMicros(l.UsedAt))
		if err != nil {
			return s.fail("link", err, unique{"", "link already exists"})
		}
		return nil
	})
}

// UseLink marks an unused, unexpired link used at t and returns it.
func (s *Store) UseLink(ctx context.Context, id string, t time.Time) (holdfast.Link, error) {
	t = normTime(t)
	var (
		l       holdfast.Link
		expired bool
	)
	err := s.write(ctx, func(s *Store) error {
		// An expired link is spent for good, so that a clock stepped back
		// later cannot bring it back.
		res, err := s.exec(ctx, `UPDATE admin_links SET used_at = ? WHERE id = ? AND used_at IS NULL AND expires_at <= ?`,
			micros(t), id, micros(t))
		if err != nil {
			return s.fail("link", err)
		}
		if n, err := res.RowsAffected(); err == nil && n > 0 {
			expired = true
			return nil
		}
		// The guarded UPDATE is the single-use check: of two concurrent
		// callers only one changes the row.
		err = s.execOne(ctx, "link", `UPDATE admin_links SET used_at = ? WHERE id = ? AND used_at IS NULL AND expires_at > ?`,
			micros(t), id, micros(t))
		if err != nil {
			return err
		}
		l, err = scanLink(s.queryRow(ctx, `SELECT `+linkColumns+` FROM admin_links WHERE id = ?`, id))
		if err != nil {
			return s.fail("link", err)
		}
		return nil
	})
	if err == nil && expired {
		err = fmt.Errorf("link: %w", holdfast.ErrNotFound)
	}
	return l, err
}

// RevokeLinks marks the administrator's unused links for purpose used.
func (s *Store) RevokeLinks(ctx context.Context, accountID, adminID, purpose string, t time.Time) error {
	return s.write(ctx, func(s *Store) error {
		_, err := s.exec(ctx, `UPDATE admin_links SET used_at = ? WHERE account_id = ? AND admin_id = ? AND purpose = ? AND used_at IS NULL`,
			micros(normTime(t)), accountID, adminID, purpose)
		if err != nil {
			return s.fail("links of administrator "+adminID, err)
		}
		return nil
	})
}

const idpColumns = `account_id, id, kind, name, issuer, client_id, client_secret, metadata_url, metadata_xml, enabled, allow_idp_initiated, created_at, updated_at`

func scanIdP(r scanner) (holdfast.IdPConfig, error) {
	var (
		c                holdfast.IdPConfig
		secret           string
		created, updated int64
	)
	err := r.Scan(&c.AccountID, &c.ID, &c.Kind, &c.Name, &c.Issuer, &c.ClientID, &secret, &c.MetadataURL, &c.MetadataXML,
		&c.Enabled, &c.AllowIDPInitiated, &created, &updated)
	if err != nil {
		return c, err
	}
	c.ClientSecret = holdfast.Secret(secret)
	c.CreatedAt, c.UpdatedAt = fromMicros(created), fromMicros(updated)
	return c, nil
}

// PutIdP creates or replaces an IdP configuration; an empty ID becomes a
// random one, and a missing account is ErrNotFound.
func (s *Store) PutIdP(ctx context.Context, c *holdfast.IdPConfig) error {
	c.ID = newID(c.ID)
	stamp(&c.CreatedAt, &c.UpdatedAt)
	return s.write(ctx, func(s *Store) error {
		_, err := s.exec(ctx, `INSERT INTO identity_providers (`+idpColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (account_id, id) DO UPDATE SET kind = excluded.kind, name = excluded.name, issuer = excluded.issuer,
			client_id = excluded.client_id, client_secret = excluded.client_secret, metadata_url = excluded.metadata_url,
			metadata_xml = excluded.metadata_xml, enabled = excluded.enabled, allow_idp_initiated = excluded.allow_idp_initiated,
			updated_at = excluded.updated_at`,
			c.AccountID, c.ID, c.Kind, c.Name, c.Issuer, c.ClientID, c.ClientSecret.Reveal(), c.MetadataURL, c.MetadataXML,
			c.Enabled, c.AllowIDPInitiated, micros(c.CreatedAt), micros(c.UpdatedAt))
		if err != nil {
			return s.fail("identity provider "+c.ID, err)
		}
		return nil
	})
}

// GetIdP returns one IdP of the account; missing: ErrNotFound.
func (s *Store) GetIdP(ctx context.Context, accountID, id string) (holdfast.IdPConfig, error) {
	c, err := scanIdP(s.queryRow(ctx, `SELECT `+idpColumns+` FROM identity_providers WHERE account_id = ? AND id = ?`, accountID, id))
	if err != nil {
		return holdfast.IdPConfig{}, s.fail("identity provider "+id, err)
	}
	return c, nil
}

// ListIdPs lists the account's IdPs by name.
func (s *Store) ListIdPs(ctx context.Context, accountID string) ([]holdfast.IdPConfig, error) {
	return list(ctx, s, "identity providers", scanIdP,
		`SELECT `+idpColumns+` FROM identity_providers WHERE account_id = ? ORDER BY name, id`, accountID)
}

// PageIdPs returns one page of the account's IdPs by (name, id).
func (s *Store) PageIdPs(ctx context.Context, accountID string, p holdfast.Page) (holdfast.Paged[holdfast.IdPConfig], error) {
	var c conds
	c.add("account_id = ?", accountID)
	return pageOf(ctx, s, keyed[holdfast.IdPConfig]{table: "identity_providers", columns: idpColumns, scan: scanIdP,
		key: func(c holdfast.IdPConfig) (string, string) { return c.Name, c.ID }}, c, p)
}

// ListEnabledIdPs lists the enabled IdPs of every account.
func (s *Store) ListEnabledIdPs(ctx context.Context) ([]holdfast.IdPConfig, error) {
	return list(ctx, s, "identity providers", scanIdP,
		`SELECT `+idpColumns+` FROM identity_providers WHERE enabled ORDER BY name, account_id, id`)
}

// DeleteIdP removes the IdP and the identity links made through it.
func (s *Store) DeleteIdP(ctx context.Context, accountID, id string) error {
	return s.write(ctx, func(s *Store) error {
		c, err := scanIdP(s.queryRow(ctx, `SELECT `+idpColumns+` FROM identity_providers WHERE account_id = ? AND id = ?`, accountID, id))
		if err != nil {
			return s.fail("identity provider "+id, err)
		}
		if _, err := s.exec(ctx, `DELETE FROM identity_links WHERE account_id = ? AND issuer = ?`, accountID, c.Issuer); err != nil {
			return s.fail("identity links of "+id, err)
		}
		return s.execOne(ctx, "identity provider "+id, `DELETE FROM identity_providers WHERE account_id = ? AND id = ?`, accountID, id)
	})
}

// CreateIdentityLink links an administrator to issuer+subject.
func (s *Store) CreateIdentityLink(ctx context.Context, l *holdfast.IdentityLink) error {
	if l.CreatedAt.IsZero() {
		l.CreatedAt = now()
	}
	l.CreatedAt = normTime(l.CreatedAt)
	return s.write(ctx, func(s *Store) error {
		_, err := s.exec(ctx, `INSERT INTO identity_links (issuer, subject, account_id, admin_id, created_at) VALUES (?, ?, ?, ?, ?)`,
			l.Issuer, l.Subject, l.AccountID, l.AdminID, micros(l.CreatedAt))
		if err != nil {
			return s.fail("identity link", err, unique{"", "this identity is already linked"})
		}
		return nil
	})
}

// GetIdentityLink finds the link of issuer+subject; missing: ErrNotFound.
func (s *Store) GetIdentityLink(ctx context.Context, issuer, subject string) (holdfast.IdentityLink, error) {
	l, err := scanIdentityLink(s.queryRow(ctx, `SELECT issuer, subject, account_id, admin_id, created_at FROM identity_links WHERE issuer = ? AND subject = ?`,
		issuer, subject))
	if err != nil {
		return holdfast.IdentityLink{}, s.fail("identity link", err)
	}
	return l, nil
}

// ListIdentityLinks lists the administrator's identity links.
func (s *Store) ListIdentityLinks(ctx context.Context, accountID, adminID string) ([]holdfast.IdentityLink, error) {
	return list(ctx, s, "identity links", scanIdentityLink,
		`SELECT issuer, subject, account_id, admin_id, created_at FROM identity_links WHERE account_id = ? AND admin_id = ? ORDER BY created_at, issuer, subject`,
		accountID, adminID)
}

func scanIdentityLink(r scanner) (holdfast.IdentityLink, error) {
	var (
		l       holdfast.IdentityLink
		created int64
	)
	if err := r.Scan(&l.Issuer, &l.Subject, &l.AccountID, &l.AdminID, &created); err != nil {
		return l, err
	}
	l.CreatedAt = fromMicros(created)
	return l, nil
}

// CreateAuthRequest stores a sign-in in progress.
func (s *Store) CreateAuthRequest(ctx context.Context, r *holdfast.AuthRequest) error {
	if r.ID == "" {
		return fmt.Errorf("%w: auth request id is required", holdfast.ErrInvalid)
	}
	r.ExpiresAt = normTime(r.ExpiresAt)
	return s.write(ctx, func(s *Store) error {
		// Abandoned sign-ins are swept here, the one place they pile up.
		if _, err := s.exec(ctx, `DELETE FROM auth_requests WHERE expires_at < ?`, micros(now())); err != nil {
			return s.fail("expired auth requests", err)
		}
		_, err := s.exec(ctx, `INSERT INTO auth_requests (id, account_id, idp_id, nonce, verifier, request_id, return_to, expires_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, r.ID, r.AccountID, r.IdPID, r.Nonce.Reveal(), r.Verifier.Reveal(), r.RequestID,
			r.ReturnTo, micros(r.ExpiresAt))
		if err != nil {
			return s.fail("auth request", err, unique{"", "auth request already exists"})
		}
		return nil
	})
}

// TakeAuthRequest returns and removes an unexpired sign-in in progress.
func (s *Store) TakeAuthRequest(ctx context.Context, id string, t time.Time) (holdfast.AuthRequest, error) {
	var r holdfast.AuthRequest
	err := s.write(ctx, func(s *Store) error {
		var (
			nonce, verifier string
			expires         int64
		)
		err := s.queryRow(ctx, `SELECT id, account_id, idp_id, nonce, verifier, request_id, return_to, expires_at FROM auth_requests WHERE id = ?`,
			id).Scan(&r.ID, &r.AccountID, &r.IdPID, &nonce, &verifier, &r.RequestID, &r.ReturnTo, &expires)
		if err != nil {
			return s.fail("auth request", err)
		}
		r.Nonce, r.Verifier, r.ExpiresAt = holdfast.Secret(nonce), holdfast.Secret(verifier), fromMicros(expires)
		// Deleting is the single-use check: a concurrent taker deletes
		// nothing and gets ErrNotFound.
		if err := s.execOne(ctx, "auth request", `DELETE FROM auth_requests WHERE id = ?`, id); err != nil {
			return err
		}
		if !t.Before(r.ExpiresAt) {
			return fmt.Errorf("auth request expired: %w", holdfast.ErrNotFound)
		}
		return nil
	})
	if err != nil {
		return holdfast.AuthRequest{}, err
	}
	return r, nil
}

// UseAssertion records an assertion id; a recorded one is ErrConflict.
func (s *Store) UseAssertion(ctx context.Context, issuer, id string, expires time.Time) error {
	return s.write(ctx, func(s *Store) error {
		if _, err := s.exec(ctx, `DELETE FROM used_assertions WHERE expires_at < ?`, micros(now())); err != nil {
			return s.fail("expired assertions", err)
		}
		_, err := s.exec(ctx, `INSERT INTO used_assertions (issuer, id, expires_at) VALUES (?, ?, ?)`, issuer, id, micros(normTime(expires)))
		if err != nil {
			return s.fail("assertion", err, unique{"", "assertion " + id + " was already used"})
		}
		return nil
	})
}

// GetIdentitySettings returns the account's sign-in settings, or the
// defaults when none were stored.
func (s *Store) GetIdentitySettings(ctx context.Context, accountID string) (holdfast.IdentitySettings, error) {
	var (
		st      = holdfast.IdentitySettings{AccountID: accountID}
		allowed string
		updated int64
	)
	err := s.queryRow(ctx, `SELECT password_expiry_days, geofence_enabled, geofence_allowed, updated_at FROM identity_settings WHERE account_id = ?`,
		accountID).Scan(&st.PasswordExpiryDays, &st.GeofenceEnabled, &allowed, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return holdfast.DefaultIdentitySettings(accountID), nil
	}
	if err != nil {
		return st, s.fail("identity settings", err)
	}
	if err := fromJSONStrings(allowed, &st.GeofenceAllowed); err != nil {
		return st, fmt.Errorf("%s: identity settings: %w", s.d.Name, err)
	}
	st.GeofenceAllowed = nonNil(st.GeofenceAllowed)
	st.UpdatedAt = fromMicros(updated)
	return st, nil
}

// PutIdentitySettings stores the account's sign-in settings; a missing
// account is ErrNotFound.
func (s *Store) PutIdentitySettings(ctx context.Context, st *holdfast.IdentitySettings) error {
	if st.UpdatedAt.IsZero() {
		st.UpdatedAt = now()
	}
	st.UpdatedAt = normTime(st.UpdatedAt)
	st.GeofenceAllowed = nonNil(st.GeofenceAllowed)
	allowed, err := jsonText(st.GeofenceAllowed)
	if err != nil {
		return fmt.Errorf("%s: identity settings: %w", s.d.Name, err)
	}
	return s.write(ctx, func(s *Store) error {
		if err := s.bump(ctx, st.AccountID); err != nil {
			return err
		}
		_, err := s.exec(ctx, `INSERT INTO identity_settings (account_id, password_expiry_days, geofence_enabled, geofence_allowed, updated_at)
			VALUES (?, ?, ?, ?, ?) ON CONFLICT (account_id) DO UPDATE SET password_expiry_days = excluded.password_expiry_days,
			geofence_enabled = excluded.geofence_enabled, geofence_allowed = excluded.geofence_allowed, updated_at = excluded.updated_at`,
			st.AccountID, st.PasswordExpiryDays, st.GeofenceEnabled, allowed, micros(st.UpdatedAt))
		if err != nil {
			return s.fail("identity settings", err)
		}
		return nil
	})
}
