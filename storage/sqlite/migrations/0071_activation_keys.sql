-- Activation keys of users and mass-deployment tokens of profiles: only the
-- SHA-256 of each secret. A user key has no profile_id, a deployment token
-- no user_id; removing the user or the profile removes its keys.
CREATE TABLE activation_keys (
	account_id  TEXT NOT NULL,
	id          TEXT NOT NULL,
	kind        TEXT NOT NULL,
	user_id     TEXT,
	profile_id  TEXT,
	name        TEXT NOT NULL,
	hash        BLOB NOT NULL,
	prefix      TEXT NOT NULL,
	created_by  TEXT NOT NULL,
	created_at  BIGINT NOT NULL,
	expires_at  BIGINT NOT NULL,
	revoked_at  BIGINT,
	PRIMARY KEY (account_id, id),
	FOREIGN KEY (account_id, user_id) REFERENCES users (account_id, id) ON DELETE CASCADE,
	FOREIGN KEY (account_id, profile_id) REFERENCES profiles (account_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX activation_keys_hash_key ON activation_keys (hash);
CREATE INDEX activation_keys_time_idx ON activation_keys (account_id, created_at, id);
CREATE INDEX activation_keys_user_idx ON activation_keys (account_id, user_id);
CREATE INDEX activation_keys_profile_idx ON activation_keys (account_id, profile_id);
