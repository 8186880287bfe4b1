-- Billing: versioned plans, Razorpay orders, subscriptions, payments with their events,
-- refunds and numbered invoices. Money is integer minor units (paise, cents). Payment rows
-- outlive the account (user_id is cleared on deletion): the law keeps amounts and invoices.
ALTER TABLE users ADD COLUMN gstin TEXT;

CREATE TABLE plans (
    id TEXT NOT NULL,
    version BIGINT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('pack', 'monthly')),
    name TEXT NOT NULL,
    tokens BIGINT NOT NULL CHECK (tokens > 0),
    price_inr BIGINT NOT NULL CHECK (price_inr >= 100),
    price_usd BIGINT NOT NULL CHECK (price_usd >= 50),
    price_eur BIGINT NOT NULL CHECK (price_eur >= 50),
    active BOOLEAN NOT NULL,
    sort BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (id, version)
);
INSERT INTO plans VALUES
    ('starter', 1, 'pack', 'Starter', 80, 14900, 499, 499, 1, 1, 'system', 0),
    ('creator', 1, 'pack', 'Creator', 250, 39900, 1299, 1299, 1, 2, 'system', 0),
    ('pro', 1, 'pack', 'Pro', 600, 79900, 2499, 2499, 1, 3, 'system', 0),
    ('growth', 1, 'monthly', 'Growth', 400, 54900, 1999, 1999, 1, 4, 'system', 0),
    ('business', 1, 'monthly', 'Business', 1200, 149900, 4999, 4999, 1, 5, 'system', 0);

-- The Razorpay plan made for one plan version in one currency (created on first use).
CREATE TABLE razorpay_plans (
    plan_id TEXT NOT NULL,
    version BIGINT NOT NULL,
    currency TEXT NOT NULL,
    razorpay_plan_id TEXT NOT NULL,
    PRIMARY KEY (plan_id, version, currency)
);

CREATE TABLE orders (
    id TEXT PRIMARY KEY,
    user_id TEXT REFERENCES users(id) ON DELETE SET NULL,
    razorpay_order_id TEXT NOT NULL UNIQUE,
    plan_id TEXT NOT NULL,
    plan_version BIGINT NOT NULL,
    tokens BIGINT NOT NULL,
    amount BIGINT NOT NULL,
    currency TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('created', 'paid')),
    created_at BIGINT NOT NULL
);
CREATE INDEX orders_user ON orders(user_id, created_at);

CREATE TABLE subscriptions (
    id TEXT PRIMARY KEY,
    user_id TEXT REFERENCES users(id) ON DELETE SET NULL,
    razorpay_subscription_id TEXT NOT NULL UNIQUE,
    plan_id TEXT NOT NULL,
    plan_version BIGINT NOT NULL,
    tokens BIGINT NOT NULL,
    amount BIGINT NOT NULL,
    currency TEXT NOT NULL,
    status TEXT NOT NULL,
    current_start BIGINT,
    current_end BIGINT,
    cancel_at_period_end BOOLEAN NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX subscriptions_user ON subscriptions(user_id);

CREATE TABLE payments (
    id TEXT PRIMARY KEY,
    user_id TEXT REFERENCES users(id) ON DELETE SET NULL,
    razorpay_payment_id TEXT NOT NULL UNIQUE,
    order_id TEXT REFERENCES orders(id),
    subscription_id TEXT REFERENCES subscriptions(id),
    -- The subscription period (Unix seconds) this charge paid for.
    period_start BIGINT,
    description TEXT NOT NULL,
    amount BIGINT NOT NULL,
    currency TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('created', 'authorized', 'captured', 'refunded', 'failed')),
    amount_refunded BIGINT NOT NULL DEFAULT 0 CHECK (amount_refunded >= 0),
    tokens BIGINT NOT NULL,
    tokens_granted BIGINT NOT NULL DEFAULT 0,
    tokens_clawed BIGINT NOT NULL DEFAULT 0,
    shortfall BIGINT NOT NULL DEFAULT 0,
    method TEXT,
    -- Why this payment granted nothing although money moved (for admins to look at).
    anomaly TEXT,
    invoice_number TEXT UNIQUE,
    captured_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    CHECK (amount_refunded <= amount)
);
CREATE INDEX payments_user ON payments(user_id, created_at);
CREATE INDEX payments_created ON payments(created_at);

-- Every webhook event (by Razorpay's event id) and every checkout verification, once.
CREATE TABLE payment_events (
    id TEXT PRIMARY KEY,
    razorpay_payment_id TEXT,
    event TEXT NOT NULL,
    source TEXT NOT NULL CHECK (source IN ('webhook', 'checkout', 'admin')),
    summary TEXT NOT NULL,
    received_at BIGINT NOT NULL
);
CREATE INDEX payment_events_payment ON payment_events(razorpay_payment_id, received_at);

CREATE TABLE refunds (
    id TEXT PRIMARY KEY,
    razorpay_refund_id TEXT NOT NULL UNIQUE,
    payment_id TEXT NOT NULL REFERENCES payments(id),
    amount BIGINT NOT NULL CHECK (amount > 0),
    status TEXT NOT NULL,
    tokens_clawed BIGINT NOT NULL,
    shortfall BIGINT NOT NULL,
    actor TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX refunds_payment ON refunds(payment_id);

CREATE TABLE counters (
    name TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);

-- One per captured payment, numbered without gaps per year. Buyer fields are a snapshot.
CREATE TABLE invoices (
    number TEXT PRIMARY KEY,
    payment_id TEXT NOT NULL UNIQUE REFERENCES payments(id),
    user_id TEXT REFERENCES users(id) ON DELETE SET NULL,
    buyer_name TEXT NOT NULL,
    buyer_email TEXT NOT NULL,
    buyer_company TEXT,
    buyer_address TEXT,
    buyer_gstin TEXT,
    description TEXT NOT NULL,
    amount BIGINT NOT NULL,
    currency TEXT NOT NULL,
    issued_at BIGINT NOT NULL
);
CREATE INDEX invoices_user ON invoices(user_id);
