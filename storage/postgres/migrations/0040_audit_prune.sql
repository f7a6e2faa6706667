-- Retention may remove the oldest audit records, and nothing else may: a
-- DELETE passes only for rows at or below the account's prune mark, which
-- PruneAudit raises in the same transaction. UPDATE and TRUNCATE stay
-- refused.
CREATE TABLE audit_prune (
	account_id  TEXT PRIMARY KEY,
	through_seq BIGINT NOT NULL
);
CREATE FUNCTION audit_prune_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF OLD.seq <= COALESCE((SELECT through_seq FROM audit_prune WHERE account_id = OLD.account_id), 0) THEN
		RETURN OLD;
	END IF;
	RAISE EXCEPTION 'audit trail is append-only';
END;
$$;
DROP TRIGGER audit_no_update_delete ON audit;
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
	FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
	FOR EACH ROW EXECUTE FUNCTION audit_prune_only();
