-- Report schedules and their runs (reports.schedule). Neither table
-- bumps the account revision: no decision depends on them.
CREATE TABLE report_schedules (
	account_id TEXT NOT NULL REFERENCES accounts (id),
	id         TEXT NOT NULL,
	name       TEXT NOT NULL,
	report     TEXT NOT NULL,
	query      TEXT NOT NULL,
	format     TEXT NOT NULL,
	frequency  TEXT NOT NULL,
	recipients TEXT NOT NULL,
	owner_id   TEXT NOT NULL,
	next_run   BIGINT NOT NULL,
	last_run   BIGINT,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL,
	PRIMARY KEY (account_id, id),
	CONSTRAINT report_schedules_name_key UNIQUE (account_id, name)
);
CREATE INDEX report_schedules_page_idx ON report_schedules (account_id, name, id);
CREATE INDEX report_schedules_due_idx ON report_schedules (next_run);

CREATE TABLE report_runs (
	account_id  TEXT NOT NULL,
	id          TEXT NOT NULL,
	schedule_id TEXT NOT NULL,
	at          BIGINT NOT NULL,
	status      TEXT NOT NULL,
	row_count   INTEGER NOT NULL,
	recipients  TEXT NOT NULL,
	error       TEXT NOT NULL,
	PRIMARY KEY (account_id, id),
	FOREIGN KEY (account_id, schedule_id) REFERENCES report_schedules (account_id, id) ON DELETE CASCADE
);
CREATE INDEX report_runs_page_idx ON report_runs (account_id, schedule_id, at, id);
