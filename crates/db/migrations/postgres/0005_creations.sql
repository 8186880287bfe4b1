-- Creations (what a user asked the studio to make from one upload) and their outputs.
CREATE TABLE creations (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    upload_id TEXT REFERENCES uploads(id) ON DELETE SET NULL,
    engine TEXT NOT NULL,
    -- JSON array of the engine's recipes, one per output.
    recipes TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'canceled')),
    progress BIGINT NOT NULL DEFAULT 0,
    tokens_held BIGINT NOT NULL,
    tokens_charged BIGINT NOT NULL DEFAULT 0,
    error TEXT,
    job_id TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX creations_user ON creations(user_id, created_at);

CREATE TABLE outputs (
    id TEXT PRIMARY KEY,
    creation_id TEXT NOT NULL REFERENCES creations(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    ordinal BIGINT NOT NULL,
    label TEXT NOT NULL,
    format TEXT NOT NULL,
    width BIGINT NOT NULL,
    height BIGINT NOT NULL,
    bytes BIGINT NOT NULL,
    blob_key TEXT NOT NULL,
    -- JSON compliance report when the output follows a marketplace preset.
    compliance TEXT,
    created_at BIGINT NOT NULL,
    UNIQUE (creation_id, ordinal)
);
