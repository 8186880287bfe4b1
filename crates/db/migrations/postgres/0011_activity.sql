-- Usage and device data: what the user did, with browser, OS and device type read from the
-- User-Agent and the network truncated (/24, /48). Shown to the user; kept for
-- `privacy.activity_retention_days`.
CREATE TABLE activity (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('signed_in', 'uploaded', 'created', 'downloaded', 'paid')),
    detail TEXT NOT NULL,
    browser TEXT NOT NULL,
    os TEXT NOT NULL,
    device_type TEXT NOT NULL,
    ip_network TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX activity_user ON activity(user_id, created_at);
CREATE INDEX activity_created ON activity(created_at);
