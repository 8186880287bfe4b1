-- Inviting people: each account's link code, who signed up through whose link, and the
-- inviter's rewards (held for a while, then given, or reversed by a refund).
ALTER TABLE users ADD COLUMN referral_code TEXT;
CREATE UNIQUE INDEX users_referral_code ON users(referral_code);

CREATE TABLE referrals (
    id TEXT PRIMARY KEY,
    referrer_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    referred_id TEXT NOT NULL UNIQUE REFERENCES users(id) ON DELETE CASCADE,
    -- Why no reward will come of it (same_network); NULL while one may.
    refused TEXT,
    created_at INTEGER NOT NULL
);
CREATE INDEX referrals_referrer ON referrals(referrer_id, created_at);

CREATE TABLE referral_rewards (
    id TEXT PRIMARY KEY,
    referral_id TEXT NOT NULL REFERENCES referrals(id) ON DELETE CASCADE,
    referrer_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('verified', 'first_payment')),
    amount INTEGER NOT NULL CHECK (amount >= 0),
    -- The Razorpay payment a first-payment reward came from (its refund reverses it).
    payment_id TEXT,
    status TEXT NOT NULL CHECK (status IN ('held', 'given', 'reversed', 'over_limit')),
    due_at INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (referral_id, kind)
);
CREATE INDEX referral_rewards_due ON referral_rewards(status, due_at);
CREATE INDEX referral_rewards_referrer ON referral_rewards(referrer_id, created_at);
CREATE INDEX referral_rewards_payment ON referral_rewards(payment_id);
