-- Change-feed positions become opaque text, per map, side and entity (issue 13). Twin of
-- migrations/state/postgres/0004_feed_positions.sql; keep the same tables and columns.
--
-- A position is what the store handed out: `EPOCH:SEQ` of a SQL store's change log, a delta
-- link of the Dataverse Web API. `entity` names the entity it is a position in ('' for a
-- position saved before this migration: the map's entity then).
CREATE TABLE feed_positions (
    map TEXT NOT NULL CHECK (length(map) BETWEEN 1 AND 200),
    side TEXT NOT NULL CHECK (length(side) BETWEEN 1 AND 64),
    entity TEXT NOT NULL,
    position TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (map, side)
);
INSERT INTO feed_positions (map, side, entity, position, updated_at)
SELECT map, side, '', epoch || ':' || seq, updated_at FROM cursors;
DROP TABLE cursors;

-- The feed heads an initial sync recorded at its start, as positions too.
ALTER TABLE checkpoints ADD COLUMN head_operational TEXT;
ALTER TABLE checkpoints ADD COLUMN head_accounting TEXT;
UPDATE checkpoints SET head_operational = head_operational_epoch || ':' || head_operational_seq
WHERE head_operational_seq IS NOT NULL;
UPDATE checkpoints SET head_accounting = head_accounting_epoch || ':' || head_accounting_seq
WHERE head_accounting_seq IS NOT NULL;
ALTER TABLE checkpoints DROP COLUMN head_operational_epoch;
ALTER TABLE checkpoints DROP COLUMN head_operational_seq;
ALTER TABLE checkpoints DROP COLUMN head_accounting_epoch;
ALTER TABLE checkpoints DROP COLUMN head_accounting_seq;
