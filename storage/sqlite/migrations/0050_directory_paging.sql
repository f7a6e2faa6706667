-- Pages of devices walk (account_id, name, id); the workload scope of an
-- administrator filters devices by workload.
CREATE INDEX devices_name_idx ON devices (account_id, name, id);
CREATE INDEX devices_workload_idx ON devices (account_id, workload, user_id);
