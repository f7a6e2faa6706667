-- Holdfast metadata schema (PostgreSQL). Times are Unix microseconds (UTC);
-- JSON-valued fields are TEXT. Every per-account table is keyed by
-- (account_id, id) so one account's rows can never reference another's.

CREATE TABLE accounts (
	id         TEXT PRIMARY KEY,
	name       TEXT NOT NULL,
	edition    TEXT NOT NULL,
	addons     TEXT NOT NULL,
	settings   TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL,
	revision   BIGINT NOT NULL DEFAULT 1
);

CREATE TABLE admins (
	account_id    TEXT NOT NULL REFERENCES accounts (id),
	id            TEXT NOT NULL,
	name          TEXT NOT NULL,
	email         TEXT NOT NULL,
	country       TEXT NOT NULL,
	time_zone     TEXT NOT NULL,
	role_id       TEXT NOT NULL,
	scopes        TEXT NOT NULL,
	state         TEXT NOT NULL,
	created_by    TEXT NOT NULL,
	created_at    BIGINT NOT NULL,
	updated_at    BIGINT NOT NULL,
	last_login_at BIGINT,
	password_hash TEXT NOT NULL,
	PRIMARY KEY (account_id, id)
);
-- Emails are unique across accounts: they name who signs in.
CREATE UNIQUE INDEX admins_email_key ON admins (lower(email));
CREATE INDEX admins_role_idx ON admins (account_id, role_id);
CREATE INDEX admins_name_idx ON admins (account_id, name, id);

CREATE TABLE roles (
	account_id    TEXT NOT NULL REFERENCES accounts (id),
	id            TEXT NOT NULL,
	name          TEXT NOT NULL,
	description   TEXT NOT NULL,
	product       TEXT NOT NULL,
	scope         TEXT NOT NULL,
	predefined    BOOLEAN NOT NULL,
	override_of   TEXT NOT NULL,
	imported_from TEXT NOT NULL,
	rights        TEXT NOT NULL,
	created_by    TEXT NOT NULL,
	created_at    BIGINT NOT NULL,
	updated_at    BIGINT NOT NULL,
	PRIMARY KEY (account_id, id)
);
CREATE UNIQUE INDEX roles_name_key ON roles (account_id, name);

CREATE TABLE profiles (
	account_id                 TEXT NOT NULL REFERENCES accounts (id),
	id                         TEXT NOT NULL,
	name                       TEXT NOT NULL,
	description                TEXT NOT NULL,
	is_default                 BOOLEAN NOT NULL,
	workloads                  TEXT NOT NULL,
	block_admin_access         BOOLEAN NOT NULL,
	retention                  TEXT NOT NULL,
	auto_delete_preserved_days INTEGER NOT NULL,
	created_at                 BIGINT NOT NULL,
	updated_at                 BIGINT NOT NULL,
	PRIMARY KEY (account_id, id)
);
CREATE UNIQUE INDEX profiles_name_key ON profiles (account_id, name);

CREATE TABLE users (
	account_id   TEXT NOT NULL REFERENCES accounts (id),
	id           TEXT NOT NULL,
	email        TEXT NOT NULL,
	name         TEXT NOT NULL,
	profile_id   TEXT NOT NULL,
	state        TEXT NOT NULL,
	external_id  TEXT NOT NULL,
	deleted_at   BIGINT,
	purge_after  BIGINT,
	preserved_at BIGINT,
	created_at   BIGINT NOT NULL,
	updated_at   BIGINT NOT NULL,
	PRIMARY KEY (account_id, id),
	-- A profile with users cannot go: DeleteProfile reports ErrConflict first.
	FOREIGN KEY (account_id, profile_id) REFERENCES profiles (account_id, id)
);
CREATE UNIQUE INDEX users_email_key ON users (account_id, lower(email));
CREATE INDEX users_profile_idx ON users (account_id, profile_id);
CREATE INDEX users_name_idx ON users (account_id, name, id);

CREATE TABLE devices (
	account_id TEXT NOT NULL,
	id         TEXT NOT NULL,
	user_id    TEXT NOT NULL,
	name       TEXT NOT NULL,
	kind       TEXT NOT NULL,
	workload   TEXT NOT NULL,
	platform   TEXT NOT NULL,
	state      TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL,
	PRIMARY KEY (account_id, id),
	FOREIGN KEY (account_id, user_id) REFERENCES users (account_id, id) ON DELETE CASCADE
);
CREATE INDEX devices_user_idx ON devices (account_id, user_id);

CREATE TABLE hold_types (
	account_id TEXT NOT NULL REFERENCES accounts (id),
	id         TEXT NOT NULL,
	name       TEXT NOT NULL,
	predefined BOOLEAN NOT NULL,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL,
	PRIMARY KEY (account_id, id)
);
CREATE UNIQUE INDEX hold_types_name_key ON hold_types (account_id, name);

CREATE TABLE holds (
	account_id         TEXT NOT NULL REFERENCES accounts (id),
	id                 TEXT NOT NULL,
	name               TEXT NOT NULL,
	description        TEXT NOT NULL,
	type_id            TEXT NOT NULL,
	data_access        TEXT NOT NULL,
	from_at            BIGINT,
	to_at              BIGINT,
	deleted_files_only BOOLEAN NOT NULL,
	sources            TEXT NOT NULL,
	created_by         TEXT NOT NULL,
	created_at         BIGINT NOT NULL,
	updated_at         BIGINT NOT NULL,
	PRIMARY KEY (account_id, id)
);

CREATE TABLE custodians (
	account_id TEXT NOT NULL,
	hold_id    TEXT NOT NULL,
	user_id    TEXT NOT NULL,
	added_by   TEXT NOT NULL,
	added_at   BIGINT NOT NULL,
	PRIMARY KEY (account_id, hold_id, user_id),
	FOREIGN KEY (account_id, hold_id) REFERENCES holds (account_id, id) ON DELETE CASCADE,
	FOREIGN KEY (account_id, user_id) REFERENCES users (account_id, id) ON DELETE CASCADE
);
-- HoldsForUser: every hold a user is a custodian of.
CREATE INDEX custodians_user_idx ON custodians (account_id, user_id);

CREATE TABLE api_tokens (
	account_id   TEXT NOT NULL,
	id           TEXT NOT NULL,
	admin_id     TEXT NOT NULL,
	name         TEXT NOT NULL,
	hash         BYTEA NOT NULL,
	prefix       TEXT NOT NULL,
	created_at   BIGINT NOT NULL,
	expires_at   BIGINT,
	last_used_at BIGINT,
	revoked_at   BIGINT,
	PRIMARY KEY (account_id, id),
	FOREIGN KEY (account_id, admin_id) REFERENCES admins (account_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX api_tokens_hash_key ON api_tokens (hash);
CREATE INDEX api_tokens_admin_idx ON api_tokens (account_id, admin_id);

CREATE TABLE casbin_rule (
	id    BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	ptype TEXT NOT NULL,
	v0    TEXT NOT NULL DEFAULT '',
	v1    TEXT NOT NULL DEFAULT '',
	v2    TEXT NOT NULL DEFAULT '',
	v3    TEXT NOT NULL DEFAULT '',
	v4    TEXT NOT NULL DEFAULT '',
	v5    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX casbin_rule_idx ON casbin_rule (ptype, v0, v1);

-- One row: the revision of the Casbin rules.
CREATE TABLE policy_revision (
	id       INTEGER PRIMARY KEY CHECK (id = 1),
	revision BIGINT NOT NULL
);
INSERT INTO policy_revision (id, revision) VALUES (1, 1);

-- The audit trail is not tied to accounts by a foreign key: it must outlive
-- whatever it records.
CREATE TABLE audit (
	account_id    TEXT NOT NULL,
	seq           BIGINT NOT NULL,
	at            BIGINT NOT NULL,
	actor_id      TEXT NOT NULL,
	actor_email   TEXT NOT NULL,
	action        TEXT NOT NULL,
	resource_type TEXT NOT NULL,
	resource_id   TEXT NOT NULL,
	decision_id   TEXT NOT NULL,
	outcome       TEXT NOT NULL,
	detail        TEXT,
	request_id    TEXT NOT NULL,
	prev_hash     TEXT NOT NULL,
	hash          TEXT NOT NULL,
	PRIMARY KEY (account_id, seq)
);
CREATE INDEX audit_resource_idx ON audit (account_id, resource_type, resource_id);

-- Append-only in the database too, not only in the API: a stray UPDATE,
-- DELETE or TRUNCATE fails instead of silently breaking the hash chain.
CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'audit trail is append-only';
END;
$$;
CREATE TRIGGER audit_no_update_delete BEFORE UPDATE OR DELETE ON audit
	FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit
	FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
