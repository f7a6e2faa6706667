-- A profile's backup policy (folders, exclusions, interval, quota) as JSON,
-- and the compliance rule's window and grace as columns the summaries read.
ALTER TABLE profiles ADD COLUMN backup TEXT NOT NULL DEFAULT '{}';
ALTER TABLE profiles ADD COLUMN max_users INTEGER NOT NULL DEFAULT 0;
ALTER TABLE profiles ADD COLUMN compliance_hours INTEGER NOT NULL DEFAULT 0;
ALTER TABLE profiles ADD COLUMN grace_hours INTEGER NOT NULL DEFAULT 0;

-- Each device's backup status (RecordBackup).
ALTER TABLE devices ADD COLUMN last_backup_at BIGINT;
ALTER TABLE devices ADD COLUMN last_attempt_at BIGINT;
ALTER TABLE devices ADD COLUMN last_result TEXT NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN last_error TEXT NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN stored_bytes BIGINT NOT NULL DEFAULT 0;

-- The change of stored bytes per UTC day (micros), profile and workload:
-- the storage series is its running sum.
CREATE TABLE storage_usage (
	account_id TEXT NOT NULL,
	day        BIGINT NOT NULL,
	profile_id TEXT NOT NULL,
	workload   TEXT NOT NULL,
	delta      BIGINT NOT NULL,
	PRIMARY KEY (account_id, day, profile_id, workload)
);
