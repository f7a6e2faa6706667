-- Retention may remove the oldest audit records, and nothing else may: a
-- DELETE passes only for rows at or below the account's prune mark, which
-- PruneAudit raises in the same transaction. UPDATE stays refused.
CREATE TABLE audit_prune (
	account_id  TEXT PRIMARY KEY,
	through_seq BIGINT NOT NULL
);
DROP TRIGGER audit_no_delete;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
WHEN OLD.seq > COALESCE((SELECT through_seq FROM audit_prune WHERE account_id = OLD.account_id), 0)
BEGIN
	SELECT RAISE(ABORT, 'audit trail is append-only');
END;
