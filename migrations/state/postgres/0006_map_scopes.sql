-- The legal entities in scope (the configuration's `companies`, sorted, comma-separated) when
-- each map last synced (issue 18): a legal entity added to the scope makes the daemon sync the
-- map's records again at its next start, so the new one gets its fan-out and its records.
-- Twin of migrations/state/sqlite/0006_map_scopes.sql; keep the same tables and columns. Null
-- for a map last adopted by a release before this one (the daemon fills it in).
ALTER TABLE map_states ADD COLUMN companies TEXT;
