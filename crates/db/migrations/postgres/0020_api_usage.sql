-- Per-key limits, set by the owner under the `api.*` caps.
ALTER TABLE api_keys ADD COLUMN per_minute BIGINT NOT NULL DEFAULT 60;
ALTER TABLE api_keys ADD COLUMN images_per_day BIGINT NOT NULL DEFAULT 500;

-- A creation records the API key that asked for it, so its images count in that key's
-- usage. (creations.job_id is no longer read; it is dropped in a later release, once no
-- process of this one runs.)
ALTER TABLE creations ADD COLUMN api_key_id TEXT;

-- What each key did per UTC day: calls answered, images made and the tokens they cost;
-- `requested` counts images asked for, against the key's daily limit. Kept when the key is
-- revoked (its name with it), gone with the account.
CREATE TABLE api_usage (
    key_id TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    key_name TEXT NOT NULL,
    day TEXT NOT NULL,
    calls BIGINT NOT NULL DEFAULT 0,
    images BIGINT NOT NULL DEFAULT 0,
    tokens BIGINT NOT NULL DEFAULT 0,
    requested BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (key_id, day)
);
CREATE INDEX api_usage_user ON api_usage(user_id, day);
