-- Pages of legal holds and legal hold types walk (account_id, name, id);
-- a legal administrator's holds are filtered by type. Pages of a hold's
-- custodians walk (account_id, hold_id, added_at, user_id).
CREATE INDEX holds_name_idx ON holds (account_id, name, id);
CREATE INDEX holds_type_idx ON holds (account_id, type_id, name, id);
CREATE INDEX hold_types_page_idx ON hold_types (account_id, name, id);
CREATE INDEX custodians_added_idx ON custodians (account_id, hold_id, added_at, user_id);
