-- Leases (issue 19): each unit of work — a map, a map and a legal entity, a scheduled process —
-- is owned through a row here: its owner (a replica id), a fencing token that grows with each
-- new owner of the unit, and an expiry the owner keeps pushing forward while it lives. A
-- replica whose lease expired (paused, partitioned) has a token older than its successor's, so
-- a write checked against the token in the same transaction is refused. Twin of the
-- postgres migration of the same name; keep the same tables and columns.
CREATE TABLE leases (
    unit TEXT PRIMARY KEY CHECK (length(unit) BETWEEN 1 AND 200),
    owner TEXT NOT NULL,
    token INTEGER NOT NULL CHECK (token > 0),
    acquired_at TEXT NOT NULL,
    renewed_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
