-- The values of a link's two-way fields as each side held them at its last sync (JSON:
-- {"operational": {column: text}, "accounting": {column: text}}), so a field changed on both
-- sides since is recognized as a conflict and settled by the map's policy (engine::conflict).
ALTER TABLE links ADD COLUMN agreed TEXT;
