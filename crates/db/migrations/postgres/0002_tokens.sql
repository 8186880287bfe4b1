-- Token ledger: append-only entries, with the balance kept beside them in the same
-- transaction. `balance` is spendable; `held` is reserved for accepted jobs.
CREATE TABLE token_accounts (
    user_id TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    balance BIGINT NOT NULL DEFAULT 0 CHECK (balance >= 0),
    held BIGINT NOT NULL DEFAULT 0 CHECK (held >= 0),
    updated_at BIGINT NOT NULL
);

CREATE TABLE ledger_entries (
    id TEXT PRIMARY KEY,
    user_id TEXT REFERENCES users(id) ON DELETE SET NULL,
    kind TEXT NOT NULL CHECK (kind IN ('grant', 'hold', 'charge', 'release', 'refund', 'adjustment')),
    amount BIGINT NOT NULL,
    balance_after BIGINT NOT NULL,
    held_after BIGINT NOT NULL,
    reason TEXT NOT NULL,
    -- What caused the entry (creation id, payment id, day); one entry per kind and reference.
    reference TEXT NOT NULL,
    actor TEXT NOT NULL DEFAULT 'system',
    created_at BIGINT NOT NULL,
    UNIQUE (kind, reference)
);
CREATE INDEX ledger_entries_user ON ledger_entries(user_id, created_at);
