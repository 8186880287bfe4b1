-- no-transaction
-- Account security (see docs/architecture.md, "Accounts and recovery").
-- An email address is unique only once verified: an unverified sign-up claims it, and
-- whoever proves the inbox first takes it from every other claim. SQLite cannot drop a
-- column's UNIQUE, so `users` is rebuilt (the documented 12-step procedure: foreign keys
-- off outside the transaction, so no cascade fires while the old table is dropped).
-- Roles gain `support` (read-only staff).
PRAGMA foreign_keys = OFF;
BEGIN;
CREATE TABLE users_rebuilt (
    id TEXT PRIMARY KEY,
    email TEXT,
    email_verified_at INTEGER,
    phone TEXT UNIQUE,
    phone_verified_at INTEGER,
    password_hash TEXT,
    name TEXT NOT NULL DEFAULT '',
    company TEXT,
    address TEXT,
    website TEXT,
    category TEXT,
    role TEXT NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin', 'support')),
    marketing_opt_in BOOLEAN NOT NULL DEFAULT FALSE,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    gstin TEXT,
    policy_acknowledged TEXT,
    model_training_opt_in BOOLEAN NOT NULL DEFAULT 0
);
INSERT INTO users_rebuilt (id, email, email_verified_at, phone, phone_verified_at, password_hash, name, company,
    address, website, category, role, marketing_opt_in, created_at, updated_at, gstin, policy_acknowledged,
    model_training_opt_in)
SELECT id, email, email_verified_at, phone, phone_verified_at, password_hash, name, company, address, website,
    category, role, marketing_opt_in, created_at, updated_at, gstin, policy_acknowledged, model_training_opt_in
FROM users;
DROP TABLE users;
ALTER TABLE users_rebuilt RENAME TO users;
CREATE UNIQUE INDEX users_verified_email ON users(email) WHERE email_verified_at IS NOT NULL;
CREATE INDEX users_email ON users(email);

-- An email change names the session that asked for it: that one stays signed in.
ALTER TABLE one_time_tokens ADD COLUMN session_id TEXT;

-- API keys carry scopes (space-separated; existing keys keep what a key may still do),
-- a time after which they stop working, and where they were last used.
ALTER TABLE api_keys ADD COLUMN scopes TEXT NOT NULL DEFAULT 'images:write images:read listings:write account:read';
ALTER TABLE api_keys ADD COLUMN expires_at INTEGER;
ALTER TABLE api_keys ADD COLUMN last_used_network TEXT;

-- Jobs name the person they work for, so erasing an account erases its jobs.
ALTER TABLE jobs ADD COLUMN user_id TEXT;
CREATE INDEX jobs_user ON jobs(user_id);
UPDATE jobs SET user_id = COALESCE(
    (SELECT c.user_id FROM creations c WHERE c.id = jobs.payload),
    (SELECT e.user_id FROM exports e WHERE e.id = jobs.payload),
    (SELECT o.user_id FROM outbox o WHERE o.id = jobs.payload),
    (SELECT l.user_id FROM listings l WHERE jobs.payload = l.id OR jobs.payload LIKE '%"' || l.id || '"%'))
WHERE user_id IS NULL;

-- One open monthly plan per person, decided by the database: an unpaid checkout counts
-- until it is replaced. Duplicates from before this rule keep only the newest open plan
-- (a live one before an unpaid one); an unpaid extra is expired, a live extra is marked
-- for an admin to settle with Razorpay.
UPDATE subscriptions SET status = CASE WHEN status = 'created' THEN 'expired' ELSE 'duplicate' END
WHERE status IN ('created', 'authenticated', 'active', 'pending') AND EXISTS (
    SELECT 1 FROM subscriptions o WHERE o.user_id = subscriptions.user_id AND o.id <> subscriptions.id
      AND o.status IN ('created', 'authenticated', 'active', 'pending')
      AND ((o.status <> 'created') > (subscriptions.status <> 'created')
           OR ((o.status <> 'created') = (subscriptions.status <> 'created')
               AND (o.created_at > subscriptions.created_at OR (o.created_at = subscriptions.created_at AND o.id > subscriptions.id)))));
CREATE UNIQUE INDEX subscriptions_one_open ON subscriptions(user_id)
    WHERE status IN ('created', 'authenticated', 'active', 'pending');
PRAGMA foreign_key_check;
COMMIT;
PRAGMA foreign_keys = ON;
