-- Where a seller's events are sent. The signing secret is sealed with the seller's data
-- key (hex); `events` is space-separated (domain::webhook::Events). An endpoint whose
-- deliveries kept failing for a day is disabled, with the reason.
CREATE TABLE webhook_endpoints (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    url TEXT NOT NULL,
    events TEXT NOT NULL,
    secret_sealed TEXT NOT NULL,
    disabled_at BIGINT,
    disabled_reason TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX webhook_endpoints_user ON webhook_endpoints(user_id);

-- One event, made once (`idempotency_key`: a retried job announcing the same thing again
-- adds nothing). Its id is the `webhook-id` every delivery of it carries.
CREATE TABLE webhook_events (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    event_type TEXT NOT NULL,
    payload TEXT NOT NULL,
    idempotency_key TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);

-- One event to one endpoint, with what its latest attempt got back. `paused`: its endpoint
-- was paused; it is sent when the owner turns the endpoint back on.
CREATE TABLE webhook_deliveries (
    id TEXT PRIMARY KEY,
    endpoint_id TEXT NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
    event_id TEXT NOT NULL REFERENCES webhook_events(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed', 'paused')),
    attempts BIGINT NOT NULL DEFAULT 0,
    response_status BIGINT,
    latency_ms BIGINT,
    response_excerpt TEXT,
    error TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (endpoint_id, event_id)
);
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries(endpoint_id, created_at);
