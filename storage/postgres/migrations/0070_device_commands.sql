-- The device command queue: remote wipes and client upgrades an
-- administrator queues for a device's agent. Removing a device removes its
-- commands; decommissioning keeps both.
CREATE TABLE device_commands (
	account_id   TEXT NOT NULL,
	id           TEXT NOT NULL,
	device_id    TEXT NOT NULL,
	user_id      TEXT NOT NULL,
	kind         TEXT NOT NULL,
	state        TEXT NOT NULL,
	params       TEXT NOT NULL,
	result       TEXT NOT NULL,
	requested_by TEXT NOT NULL,
	created_at   BIGINT NOT NULL,
	delivered_at BIGINT,
	completed_at BIGINT,
	PRIMARY KEY (account_id, id),
	FOREIGN KEY (account_id, device_id) REFERENCES devices (account_id, id) ON DELETE CASCADE
);
-- A device's queue in order, and the account's queue in order.
CREATE INDEX device_commands_device_idx ON device_commands (account_id, device_id, created_at, id);
CREATE INDEX device_commands_time_idx ON device_commands (account_id, created_at, id);
