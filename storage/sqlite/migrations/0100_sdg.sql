-- Sensitive Data Governance definitions (holdfast.SDGStore): custom sensitive
-- data types, custom policy templates, compliance policies and the settings,
-- each a JSON body the sdg package owns. Names are unique per account and
-- kind. These writes do not bump the account revision.

CREATE TABLE sdg_objects (
	account_id TEXT NOT NULL REFERENCES accounts (id),
	kind       TEXT NOT NULL,
	id         TEXT NOT NULL,
	name       TEXT NOT NULL,
	body       TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL,
	PRIMARY KEY (account_id, kind, id)
);
-- The name is unique in its kind; pages walk (account_id, kind, name).
CREATE UNIQUE INDEX sdg_objects_name_key ON sdg_objects (account_id, kind, name);
