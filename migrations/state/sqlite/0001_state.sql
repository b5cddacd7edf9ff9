-- The state store of the sync engine (SQLite): key links, change-feed cursors, initial-sync
-- checkpoints, dead letters, parked records, skipped records, map states and the job log.
-- Written by hand (not by migrations/generate.py); the PostgreSQL twin is
-- migrations/state/postgres/0001_state.sql and must keep the same tables and columns.
--
-- Conventions:
-- * Timestamps are TEXT in RFC 3339 UTC with microseconds (`2024-01-31T09:30:00.000000Z`),
--   always written by dualsync, so text order is time order. PostgreSQL uses TIMESTAMPTZ.
-- * Record keys are the canonical JSON text of the key values (`engine::state::key_text`).
-- * Change-feed cursors are two integers, epoch and seq (`store::Cursor`).
-- * JSON documents (job counts and errors, dead-letter payloads) are TEXT on both dialects.
-- * Map names are 1 to 200 characters and side names 1 to 64; enumerations are CHECKed.
-- * This schema is tracked in `_dualsync_state_migrations`, not `_sqlx_migrations`, so it can
--   share a database with a reference store.

-- Which record on one side is which on the other, per map and fan-out part, with a hash of
-- the values last written each way (echo and no-op suppression).
CREATE TABLE links (
    map TEXT NOT NULL CHECK (length(map) BETWEEN 1 AND 200),
    operational_key TEXT NOT NULL,
    -- '' when the map has no fan-out; otherwise the fan-out value (e.g. the company).
    part TEXT NOT NULL DEFAULT '',
    accounting_key TEXT NOT NULL,
    company TEXT,
    hash_to_accounting TEXT,
    hash_to_operational TEXT,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (map, operational_key, part)
);
CREATE INDEX links_by_accounting ON links (map, accounting_key);

-- The change-feed position applied so far, per map and side.
CREATE TABLE cursors (
    map TEXT NOT NULL CHECK (length(map) BETWEEN 1 AND 200),
    side TEXT NOT NULL CHECK (length(side) BETWEEN 1 AND 64),
    epoch INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (map, side)
);

-- The initial sync of a map: where it is, what it counted, and the feed heads at its start
-- (live sync resumes from those heads once it is done).
CREATE TABLE checkpoints (
    map TEXT PRIMARY KEY CHECK (length(map) BETWEEN 1 AND 200),
    status TEXT NOT NULL CHECK (status IN ('running', 'done')),
    -- The side whose records are being copied.
    side TEXT NOT NULL CHECK (length(side) BETWEEN 1 AND 64),
    last_key TEXT,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    read_count INTEGER NOT NULL DEFAULT 0,
    written_count INTEGER NOT NULL DEFAULT 0,
    unchanged_count INTEGER NOT NULL DEFAULT 0,
    skipped_count INTEGER NOT NULL DEFAULT 0,
    parked_count INTEGER NOT NULL DEFAULT 0,
    failed_count INTEGER NOT NULL DEFAULT 0,
    head_operational_epoch INTEGER,
    head_operational_seq INTEGER,
    head_accounting_epoch INTEGER,
    head_accounting_seq INTEGER
);

-- Records that failed permanently, with what to do about them. At most one unresolved
-- (open or retrying) letter per map, side and record: a repeated failure updates it.
CREATE TABLE dead_letters (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    map TEXT NOT NULL CHECK (length(map) BETWEEN 1 AND 200),
    side TEXT NOT NULL CHECK (length(side) BETWEEN 1 AND 64),
    record_key TEXT NOT NULL,
    payload TEXT,
    error_kind TEXT NOT NULL,
    message TEXT NOT NULL,
    hint TEXT,
    attempts INTEGER NOT NULL DEFAULT 1,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'retrying', 'resolved'))
);
CREATE UNIQUE INDEX dead_letters_unresolved ON dead_letters (map, side, record_key) WHERE status <> 'resolved';
CREATE INDEX dead_letters_by_status ON dead_letters (map, status);
CREATE INDEX dead_letters_by_last_seen ON dead_letters (map, last_seen);

-- Records waiting for a parent record's link to appear.
CREATE TABLE parked (
    map TEXT NOT NULL CHECK (length(map) BETWEEN 1 AND 200),
    side TEXT NOT NULL CHECK (length(side) BETWEEN 1 AND 64),
    record_key TEXT NOT NULL,
    waiting_for_map TEXT NOT NULL,
    waiting_for_key TEXT NOT NULL,
    parked_at TEXT NOT NULL,
    reason TEXT,
    PRIMARY KEY (map, side, record_key)
);
CREATE INDEX parked_by_parent ON parked (waiting_for_map, waiting_for_key);
CREATE INDEX parked_by_time ON parked (parked_at);

-- Records a skip rule left out, and which rule.
CREATE TABLE skipped (
    map TEXT NOT NULL CHECK (length(map) BETWEEN 1 AND 200),
    side TEXT NOT NULL CHECK (length(side) BETWEEN 1 AND 64),
    record_key TEXT NOT NULL,
    rule TEXT NOT NULL,
    skipped_at TEXT NOT NULL,
    PRIMARY KEY (map, side, record_key)
);
CREATE INDEX skipped_by_rule ON skipped (map, rule);

-- What each map is doing, the checksum of the map file it runs, and what it has applied.
CREATE TABLE map_states (
    map TEXT PRIMARY KEY CHECK (length(map) BETWEEN 1 AND 200),
    state TEXT NOT NULL CHECK (state IN ('stopped', 'initial-sync', 'running', 'paused', 'failed')),
    checksum TEXT,
    message TEXT,
    updated_at TEXT NOT NULL,
    applied INTEGER NOT NULL DEFAULT 0,
    last_applied_at TEXT
);

-- Runs of the accounting processes.
CREATE TABLE job_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'partial', 'failed')),
    started_at TEXT NOT NULL,
    finished_at TEXT,
    counts TEXT,
    errors TEXT
);
CREATE INDEX job_log_by_name ON job_log (name, started_at);
