-- Consents (marketing email, use of images for model training): the current choice on the
-- user row, every change kept with its time, source and the policy version it was made
-- under. Acknowledgements of policy versions.
-- The newest policy version the user has acknowledged (history in policy_acknowledgements).
ALTER TABLE users ADD COLUMN policy_acknowledged TEXT;
ALTER TABLE users ADD COLUMN model_training_opt_in BOOLEAN NOT NULL DEFAULT 0;

CREATE TABLE consents (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    purpose TEXT NOT NULL CHECK (purpose IN ('marketing', 'model_training')),
    granted BOOLEAN NOT NULL,
    source TEXT NOT NULL,
    policy_version TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX consents_user ON consents(user_id, created_at);

CREATE TABLE policy_acknowledgements (
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    version TEXT NOT NULL,
    acknowledged_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, version)
);
