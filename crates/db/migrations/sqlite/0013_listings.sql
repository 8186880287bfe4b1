-- Listing copy: brand profiles (every save a new version), batches of listings made from
-- photos, and the Shopify store a seller connected (its token sealed with their data key).
CREATE TABLE brand_profiles (
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    version INTEGER NOT NULL,
    -- JSON of domain::listing::BrandProfile
    profile TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, version)
);

CREATE TABLE listing_batches (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    brand_version INTEGER,
    created_at INTEGER NOT NULL
);
CREATE INDEX listing_batches_user ON listing_batches(user_id, created_at);

CREATE TABLE listings (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    batch_id TEXT NOT NULL REFERENCES listing_batches(id) ON DELETE CASCADE,
    upload_id TEXT REFERENCES uploads(id) ON DELETE SET NULL,
    ordinal INTEGER NOT NULL,
    jewellery TEXT NOT NULL,
    notes TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'ready', 'failed')),
    -- Tokens held for the current generation: what settles it, whatever the price is now.
    held INTEGER NOT NULL,
    -- Paid generations so far; each holds and charges under its own ledger reference.
    generation INTEGER NOT NULL,
    -- JSON of domain::listing::Listing
    content TEXT,
    source TEXT,
    provider TEXT,
    model TEXT,
    edited INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    shopify_status TEXT CHECK (shopify_status IN ('queued', 'pushed', 'failed')),
    shopify_product_id TEXT,
    shopify_error TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX listings_batch ON listings(batch_id, ordinal);

CREATE TABLE shop_connections (
    user_id TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    shop TEXT NOT NULL,
    -- The Admin API token sealed with the user's data key (hex).
    sealed_token TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
