-- Data exports: a job snapshots the account as JSON (sealed like every blob); the download
-- streams it as a ZIP with every upload and image, until the export expires.
CREATE TABLE exports (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    status TEXT NOT NULL CHECK (status IN ('queued', 'ready', 'failed')),
    blob_key TEXT,
    created_at BIGINT NOT NULL,
    ready_at BIGINT,
    expires_at BIGINT
);
CREATE INDEX exports_user ON exports(user_id, created_at);
