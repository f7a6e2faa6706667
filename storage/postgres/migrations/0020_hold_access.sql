-- WebDAV credentials of legal holds (holdfast.HoldAccessStore): one per
-- hold, the password kept as its SHA-256 (a 256-bit random secret needs
-- no slow hash). Deleting the hold deletes its credential. These writes do
-- not bump the account revision.

CREATE TABLE hold_credentials (
	account_id TEXT NOT NULL,
	hold_id    TEXT NOT NULL,
	user_name  TEXT NOT NULL,
	hash       BYTEA NOT NULL,
	created_by TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	expires_at BIGINT,
	PRIMARY KEY (account_id, hold_id),
	FOREIGN KEY (account_id, hold_id) REFERENCES holds (account_id, id) ON DELETE CASCADE
);
-- WebDAV sign-in finds the credential by its user name, in any account.
CREATE UNIQUE INDEX hold_credentials_user_key ON hold_credentials (user_name);
