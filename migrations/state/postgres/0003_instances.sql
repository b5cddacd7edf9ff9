-- The processes that run on this state store (PostgreSQL twin of
-- migrations/state/sqlite/0003_instances.sql; keep the same tables and columns).
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
    pid BIGINT NOT NULL,
    version TEXT NOT NULL,
    started_at TIMESTAMPTZ NOT NULL,
    heartbeat_at TIMESTAMPTZ NOT NULL,
    stopped_at TIMESTAMPTZ
);

-- A job run left 'running' by a killed process is closed as 'aborted' at the next start.
ALTER TABLE job_log DROP CONSTRAINT job_log_status_check;
ALTER TABLE job_log ADD CONSTRAINT job_log_status_check
    CHECK (status IN ('running', 'succeeded', 'partial', 'failed', 'aborted'));
