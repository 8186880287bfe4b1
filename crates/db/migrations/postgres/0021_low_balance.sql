-- A seller's low-balance alert: mail and a `tokens.low` event when a spend takes the
-- balance from at or above `threshold` to below it.
CREATE TABLE balance_alerts (
    user_id TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    threshold BIGINT NOT NULL CHECK (threshold > 0),
    updated_at BIGINT NOT NULL
);
