-- Mail waiting to be delivered: written in the same transaction as what it reports, then
-- delivered by a `mail` job (retried with backoff). A row goes once delivered or given up,
-- so no copy of sent mail stays. Marketing rows name their user, so a withdrawn consent or a
-- deleted account stops them.
CREATE TABLE outbox (
    id TEXT PRIMARY KEY,
    user_id TEXT REFERENCES users(id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('transactional', 'marketing')),
    to_address TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
