-- The definition of the map each map runs, as TOML (issue 17): `dualsync plan` compares an
-- edit with it. Twin of migrations/state/sqlite/0005_map_definitions.sql; keep the same
-- tables and columns. Null for a map last adopted by a release before this one (the daemon
-- fills it in when it next starts).
ALTER TABLE map_states ADD COLUMN definition TEXT;
