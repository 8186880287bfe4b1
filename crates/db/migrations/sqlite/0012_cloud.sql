-- The cloud engine. Each output records how it was made: provider, model, the prompt
-- library version, the tier charged, what it cost the user, and its fidelity check.
ALTER TABLE outputs ADD COLUMN provider TEXT;
ALTER TABLE outputs ADD COLUMN model TEXT;
ALTER TABLE outputs ADD COLUMN prompt_version TEXT;
ALTER TABLE outputs ADD COLUMN tier TEXT;
ALTER TABLE outputs ADD COLUMN charged INTEGER;
-- JSON: score, measures, judge verdict, hybrid placement.
ALTER TABLE outputs ADD COLUMN fidelity TEXT;

-- What the detection pre-pass saw (JSON), and what the user should know about shots that
-- were not made (not charged).
ALTER TABLE creations ADD COLUMN detection TEXT;
ALTER TABLE creations ADD COLUMN notice TEXT;
-- Ordinals of shots given up (comma-separated): a retried job does not make them again.
ALTER TABLE creations ADD COLUMN skipped TEXT;

-- Every call to an image or vision model: for cost accounting and the circuit's story.
-- Kept when the account is deleted, detached from it (no personal data in a row).
CREATE TABLE provider_calls (
    id TEXT PRIMARY KEY,
    user_id TEXT REFERENCES users(id) ON DELETE SET NULL,
    creation_id TEXT REFERENCES creations(id) ON DELETE SET NULL,
    provider TEXT NOT NULL,
    model TEXT NOT NULL,
    purpose TEXT NOT NULL,
    -- ok | rejected (failed the fidelity check) | error code
    outcome TEXT NOT NULL,
    latency_ms INTEGER NOT NULL,
    input_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    cost_micros INTEGER NOT NULL,
    fidelity REAL,
    created_at INTEGER NOT NULL
);
CREATE INDEX provider_calls_created ON provider_calls(created_at);
CREATE INDEX provider_calls_creation ON provider_calls(creation_id);

-- Watermarked previews for visitors who are not signed in. The photo is sealed under the
-- preview's own data key (wrapped by the master key) and deleted when the job ends; only
-- the watermarked image is ever stored.
CREATE TABLE previews (
    id TEXT PRIMARY KEY,
    device TEXT NOT NULL,
    network TEXT NOT NULL,
    theme TEXT NOT NULL,
    jewellery TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
    wrapped_key TEXT NOT NULL,
    photo_key TEXT,
    image_key TEXT,
    fidelity REAL,
    error TEXT,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX previews_expires ON previews(expires_at);
