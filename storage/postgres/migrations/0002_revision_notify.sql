-- Replicas on one database keep revisions in memory (sqlstore.RevisionCache)
-- and must hear of each other's commits: every change of an account's
-- revision, or of the policy revision, notifies channel holdfast_revision
-- with the account's id, or "policy". PostgreSQL delivers a notification at
-- commit, and only for committed transactions, and folds repeats of the
-- same payload within a transaction into one.

CREATE FUNCTION holdfast_notify_account_revision() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	-- A payload must stay under 8000 bytes; "*" tells listeners to forget
	-- every revision instead.
	IF octet_length(NEW.id) < 7900 THEN
		PERFORM pg_notify('holdfast_revision', NEW.id);
	ELSE
		PERFORM pg_notify('holdfast_revision', '*');
	END IF;
	RETURN NULL;
END;
$$;
CREATE TRIGGER accounts_revision_notify AFTER UPDATE OF revision ON accounts
	FOR EACH ROW WHEN (OLD.revision IS DISTINCT FROM NEW.revision)
	EXECUTE FUNCTION holdfast_notify_account_revision();

CREATE FUNCTION holdfast_notify_policy_revision() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_notify('holdfast_revision', 'policy');
	RETURN NULL;
END;
$$;
CREATE TRIGGER policy_revision_notify AFTER UPDATE OF revision ON policy_revision
	FOR EACH ROW WHEN (OLD.revision IS DISTINCT FROM NEW.revision)
	EXECUTE FUNCTION holdfast_notify_policy_revision();
