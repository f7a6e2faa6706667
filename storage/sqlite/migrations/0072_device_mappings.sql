-- Device replacement: a user's new device inherits the old one's data. One
-- successor and one predecessor per device; removing either device removes
-- the mapping.
CREATE TABLE device_mappings (
	account_id    TEXT NOT NULL,
	new_device_id TEXT NOT NULL,
	old_device_id TEXT NOT NULL,
	user_id       TEXT NOT NULL,
	created_by    TEXT NOT NULL,
	created_at    BIGINT NOT NULL,
	PRIMARY KEY (account_id, new_device_id),
	FOREIGN KEY (account_id, new_device_id) REFERENCES devices (account_id, id) ON DELETE CASCADE,
	FOREIGN KEY (account_id, old_device_id) REFERENCES devices (account_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX device_mappings_old_key ON device_mappings (account_id, old_device_id);
CREATE INDEX device_mappings_time_idx ON device_mappings (account_id, created_at, new_device_id);
