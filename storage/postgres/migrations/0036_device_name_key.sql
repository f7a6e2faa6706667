-- A user's devices have unique names: backups find an endpoint by its
-- name, so two of one name made "holdfast backup --device NAME" pick one
-- at random. Names taken twice before this key existed keep the oldest
-- device's name; the others get their id appended.
UPDATE devices SET name = name || ' (' || id || ')'
WHERE EXISTS (SELECT 1 FROM devices o
	WHERE o.account_id = devices.account_id AND o.user_id = devices.user_id AND o.name = devices.name
	AND (o.created_at < devices.created_at OR (o.created_at = devices.created_at AND o.id < devices.id)));

CREATE UNIQUE INDEX devices_name_key ON devices (account_id, user_id, name);
