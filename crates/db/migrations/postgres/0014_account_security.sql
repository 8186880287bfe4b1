-- Account security (see docs/architecture.md, "Accounts and recovery").
-- An email address is unique only once verified: an unverified sign-up claims it, and
-- whoever proves the inbox first takes it from every other claim. Roles gain `support`.
ALTER TABLE users DROP CONSTRAINT users_email_key;
CREATE UNIQUE INDEX users_verified_email ON users(email) WHERE email_verified_at IS NOT NULL;
CREATE INDEX users_email ON users(email);
ALTER TABLE users DROP CONSTRAINT users_role_check;
ALTER TABLE users ADD CONSTRAINT users_role_check CHECK (role IN ('user', 'admin', 'support'));

-- An email change names the session that asked for it: that one stays signed in.
ALTER TABLE one_time_tokens ADD COLUMN session_id TEXT;

-- API keys carry scopes (space-separated; existing keys keep what a key may still do),
-- a time after which they stop working, and where they were last used.
ALTER TABLE api_keys ADD COLUMN scopes TEXT NOT NULL DEFAULT 'images:write images:read listings:write account:read';
ALTER TABLE api_keys ADD COLUMN expires_at BIGINT;
ALTER TABLE api_keys ADD COLUMN last_used_network TEXT;

-- Jobs name the person they work for, so erasing an account erases its jobs.
ALTER TABLE jobs ADD COLUMN user_id TEXT;
CREATE INDEX jobs_user ON jobs(user_id);

-- One open monthly plan per person, decided by the database: an unpaid checkout counts
-- until it is replaced; older duplicates from before this rule are expired.
UPDATE subscriptions SET status = 'expired'
WHERE status = 'created' AND EXISTS (
    SELECT 1 FROM subscriptions o WHERE o.user_id = subscriptions.user_id AND o.id <> subscriptions.id
      AND (o.status IN ('authenticated', 'active', 'pending') OR (o.status = 'created' AND o.created_at > subscriptions.created_at)));
CREATE UNIQUE INDEX subscriptions_one_open ON subscriptions(user_id)
    WHERE status IN ('created', 'authenticated', 'active', 'pending');
