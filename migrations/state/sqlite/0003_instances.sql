-- The processes that run on this state store (SQLite twin of
-- migrations/state/postgres/0003_instances.sql; keep the same tables and columns).
--
-- `instances`: one row per lock name ('daemon' for `dualsync run`, 'journal-import',
-- 'journal-post', 'journal-forecasts' for the accounting processes): who took the lock last
-- (host, pid, version), since when, its last heartbeat, and when it stopped cleanly (null while
-- it runs or when it was killed). The lock itself is held outside this table (a file lock beside
-- the database on SQLite, a session advisory lock on PostgreSQL), so the OS drops it when the
-- process dies; this row only names the holder.
CREATE TABLE instances (
    name TEXT PRIMARY KEY CHECK (length(name) BETWEEN 1 AND 64),
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    version TEXT NOT NULL,
    started_at TEXT NOT NULL,
    heartbeat_at TEXT NOT NULL,
    stopped_at TEXT
);

-- A job run left 'running' by a killed process is closed as 'aborted' at the next start.
CREATE TABLE job_log_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'partial', 'failed', 'aborted')),
    started_at TEXT NOT NULL,
    finished_at TEXT,
    counts TEXT,
    errors TEXT
);
INSERT INTO job_log_new (id, name, status, started_at, finished_at, counts, errors)
    SELECT id, name, status, started_at, finished_at, counts, errors FROM job_log;
DROP TABLE job_log;
ALTER TABLE job_log_new RENAME TO job_log;
CREATE INDEX job_log_by_name ON job_log (name, started_at);
