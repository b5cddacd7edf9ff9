-- Replicas (issue 19): one row per daemon of a high-availability group on this state store,
-- written at start and on every lease renewal (a replica is alive while its heartbeat is
-- younger than its lease_seconds). Live replicas (a heartbeat within the lease
-- time) share the units of work in partitioned mode, and `status` lists them. A replica that
-- stops cleanly deletes its row; a killed one's row ages out. Twin of the postgres migration of
-- the same name; keep the same tables and columns.
CREATE TABLE replicas (
    id TEXT PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 200),
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    version TEXT NOT NULL,
    mode TEXT NOT NULL,
    lease_seconds INTEGER NOT NULL,
    started_at TEXT NOT NULL,
    heartbeat_at TEXT NOT NULL
);

-- The last start of each scheduled process (`[processes]`), claimed in the same transaction as
-- the fencing check of the process's unit: one run per period across every replica.
CREATE TABLE process_runs (
    name TEXT PRIMARY KEY CHECK (length(name) BETWEEN 1 AND 64),
    started_at TEXT NOT NULL,
    replica TEXT NOT NULL
);
