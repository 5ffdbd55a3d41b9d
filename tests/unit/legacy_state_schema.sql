CREATE TABLE IF NOT EXISTS tickets (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id TEXT NOT NULL UNIQUE,
    created_at REAL NOT NULL,
    subject TEXT NOT NULL,
    category TEXT NOT NULL,
    routing_category TEXT NOT NULL,
    confidence REAL NOT NULL,
    needs_review INTEGER NOT NULL,
    urgency REAL NOT NULL,
    model_used TEXT NOT NULL,
    language TEXT NOT NULL,
    agent_id TEXT,
    status TEXT NOT NULL CHECK (status IN ('assigned', 'waiting', 'resolved')),
    group_id TEXT NOT NULL,
    incident_id TEXT,
    is_duplicate INTEGER NOT NULL,
    similarity REAL NOT NULL,
    embedding BLOB NOT NULL,
    resolved_at REAL
);
CREATE INDEX IF NOT EXISTS tickets_by_time ON tickets (created_at);
CREATE INDEX IF NOT EXISTS tickets_by_agent ON tickets (status, agent_id);
CREATE INDEX IF NOT EXISTS tickets_waiting ON tickets (status, urgency DESC, seq);
CREATE INDEX IF NOT EXISTS tickets_by_group ON tickets (group_id);
CREATE INDEX IF NOT EXISTS tickets_by_incident ON tickets (incident_id);
CREATE INDEX IF NOT EXISTS tickets_review ON tickets (needs_review, created_at);

-- Dedup groups that a bridging ticket merged; per-process window caches replay these.
CREATE TABLE IF NOT EXISTS group_merges (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    from_group TEXT NOT NULL,
    into_group TEXT NOT NULL,
    merged_at REAL NOT NULL
);

CREATE TABLE IF NOT EXISTS incidents (
    incident_id TEXT PRIMARY KEY,
    group_id TEXT NOT NULL UNIQUE,
    created_at REAL NOT NULL,
    title TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS jobs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id TEXT NOT NULL UNIQUE,
    payload TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
    worker_id TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    lease_expires_at REAL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    result TEXT,
    error TEXT
);
CREATE INDEX IF NOT EXISTS jobs_by_status ON jobs (status, seq);

CREATE TABLE IF NOT EXISTS counters (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
