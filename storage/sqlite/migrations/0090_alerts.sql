-- Alerts (holdfast.AlertStore): one row per dedup key (kind and object),
-- the history of their transitions, the administrators' subscriptions,
-- the delivery log and the evaluation cursors. These writes do not bump
-- the account revision: none of it is decision data.

CREATE TABLE alerts (
	account_id  TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	id          TEXT NOT NULL,
	kind        TEXT NOT NULL,
	object_type TEXT NOT NULL,
	object_id   TEXT NOT NULL,
	state       TEXT NOT NULL,
	summary     TEXT NOT NULL,
	detail      TEXT,
	seen        BIGINT NOT NULL,
	starts_at   BIGINT NOT NULL,
	ends_at     BIGINT,
	notified_at BIGINT NOT NULL,
	resolved_at BIGINT,
	updated_at  BIGINT NOT NULL,
	PRIMARY KEY (account_id, id)
);
-- The dedup key, and the list's order.
CREATE UNIQUE INDEX alerts_key ON alerts (account_id, kind, object_type, object_id);
CREATE INDEX alerts_state_idx ON alerts (account_id, state, kind, object_type, object_id);

CREATE TABLE alert_events (
	account_id  TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	seq         BIGINT NOT NULL,
	alert_id    TEXT NOT NULL,
	kind        TEXT NOT NULL,
	object_type TEXT NOT NULL,
	object_id   TEXT NOT NULL,
	status      TEXT NOT NULL,
	summary     TEXT NOT NULL,
	detail      TEXT,
	at          BIGINT NOT NULL,
	PRIMARY KEY (account_id, seq)
);
CREATE INDEX alert_events_alert_idx ON alert_events (account_id, alert_id, seq);

CREATE TABLE alert_cursors (
	account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	name       TEXT NOT NULL,
	value      BIGINT NOT NULL,
	PRIMARY KEY (account_id, name)
);

CREATE TABLE alert_subscriptions (
	account_id   TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	id           TEXT NOT NULL,
	admin_id     TEXT NOT NULL,
	kinds        TEXT NOT NULL,
	channel      TEXT NOT NULL,
	url          TEXT NOT NULL,
	secret       TEXT NOT NULL,
	digest_every BIGINT NOT NULL,
	cursor_seq   BIGINT NOT NULL,
	last_sent_at BIGINT,
	created_by   TEXT NOT NULL,
	created_at   BIGINT NOT NULL,
	updated_at   BIGINT NOT NULL,
	PRIMARY KEY (account_id, id),
	FOREIGN KEY (account_id, admin_id) REFERENCES admins (account_id, id) ON DELETE CASCADE
);
CREATE INDEX alert_subscriptions_order_idx ON alert_subscriptions (account_id, created_at, id);
CREATE INDEX alert_subscriptions_admin_idx ON alert_subscriptions (account_id, admin_id, created_at, id);

CREATE TABLE alert_deliveries (
	account_id      TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	id              TEXT NOT NULL,
	subscription_id TEXT NOT NULL,
	channel         TEXT NOT NULL,
	target          TEXT NOT NULL,
	events          BIGINT NOT NULL,
	body            TEXT NOT NULL,
	state           TEXT NOT NULL,
	attempts        BIGINT NOT NULL,
	last_status     BIGINT NOT NULL,
	last_error      TEXT NOT NULL,
	next_at         BIGINT,
	created_at      BIGINT NOT NULL,
	delivered_at    BIGINT,
	PRIMARY KEY (account_id, id)
);
CREATE INDEX alert_deliveries_order_idx ON alert_deliveries (account_id, created_at, id);
CREATE INDEX alert_deliveries_sub_idx ON alert_deliveries (account_id, subscription_id, created_at, id);
CREATE INDEX alert_deliveries_due_idx ON alert_deliveries (account_id, state, next_at);
