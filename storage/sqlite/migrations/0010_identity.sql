-- Sign-in state (holdfast.IdentityStore): sessions, password-login state,
-- single-use links, identity providers, identity links, sign-ins in
-- progress, used SAML assertion ids and per-account sign-in settings.
-- Secrets are stored as SHA-256 hex (sessions, links, auth requests).
-- None of these tables bumps the account revision.

CREATE TABLE sessions (
	id            TEXT PRIMARY KEY,
	account_id    TEXT NOT NULL,
	admin_id      TEXT NOT NULL,
	method        TEXT NOT NULL,
	created_at    BIGINT NOT NULL,
	last_seen_at  BIGINT NOT NULL,
	expires_at    BIGINT NOT NULL,
	pending       TEXT NOT NULL,
	csrf          TEXT NOT NULL,
	remote_ip     TEXT NOT NULL,
	outside_since BIGINT,
	FOREIGN KEY (account_id, admin_id) REFERENCES admins (account_id, id) ON DELETE CASCADE
);
CREATE INDEX sessions_admin_idx ON sessions (account_id, admin_id);
CREATE INDEX sessions_expires_idx ON sessions (expires_at);

CREATE TABLE admin_credentials (
	account_id          TEXT NOT NULL,
	admin_id            TEXT NOT NULL,
	password_history    TEXT NOT NULL,
	password_changed_at BIGINT,
	failed_logins       INTEGER NOT NULL,
	locked_until        BIGINT,
	totp_secret         TEXT NOT NULL,
	totp_pending        TEXT NOT NULL,
	totp_last_step      BIGINT NOT NULL,
	recovery_codes      TEXT NOT NULL,
	updated_at          BIGINT NOT NULL,
	PRIMARY KEY (account_id, admin_id),
	FOREIGN KEY (account_id, admin_id) REFERENCES admins (account_id, id) ON DELETE CASCADE
);

CREATE TABLE admin_links (
	id         TEXT PRIMARY KEY,
	account_id TEXT NOT NULL,
	admin_id   TEXT NOT NULL,
	purpose    TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL,
	used_at    BIGINT,
	FOREIGN KEY (account_id, admin_id) REFERENCES admins (account_id, id) ON DELETE CASCADE
);
CREATE INDEX admin_links_admin_idx ON admin_links (account_id, admin_id, purpose);

CREATE TABLE identity_providers (
	account_id          TEXT NOT NULL REFERENCES accounts (id),
	id                  TEXT NOT NULL,
	kind                TEXT NOT NULL,
	name                TEXT NOT NULL,
	issuer              TEXT NOT NULL,
	client_id           TEXT NOT NULL,
	client_secret       TEXT NOT NULL,
	metadata_url        TEXT NOT NULL,
	metadata_xml        TEXT NOT NULL,
	enabled             BOOLEAN NOT NULL,
	allow_idp_initiated BOOLEAN NOT NULL,
	created_at          BIGINT NOT NULL,
	updated_at          BIGINT NOT NULL,
	PRIMARY KEY (account_id, id)
);

CREATE TABLE identity_links (
	issuer     TEXT NOT NULL,
	subject    TEXT NOT NULL,
	account_id TEXT NOT NULL,
	admin_id   TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	PRIMARY KEY (issuer, subject),
	FOREIGN KEY (account_id, admin_id) REFERENCES admins (account_id, id) ON DELETE CASCADE
);
CREATE INDEX identity_links_admin_idx ON identity_links (account_id, admin_id);

CREATE TABLE auth_requests (
	id         TEXT PRIMARY KEY,
	account_id TEXT NOT NULL,
	idp_id     TEXT NOT NULL,
	nonce      TEXT NOT NULL,
	verifier   TEXT NOT NULL,
	request_id TEXT NOT NULL,
	return_to  TEXT NOT NULL,
	expires_at BIGINT NOT NULL
);

CREATE TABLE used_assertions (
	issuer     TEXT NOT NULL,
	id         TEXT NOT NULL,
	expires_at BIGINT NOT NULL,
	PRIMARY KEY (issuer, id)
);

CREATE TABLE identity_settings (
	account_id           TEXT PRIMARY KEY REFERENCES accounts (id),
	password_expiry_days INTEGER NOT NULL,
	geofence_enabled     BOOLEAN NOT NULL,
	geofence_allowed     TEXT NOT NULL,
	updated_at           BIGINT NOT NULL
);
