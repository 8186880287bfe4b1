-- An account suspended by staff (the reason is in the audit log): no sign-in, its sessions
-- ended, its API keys refused, its queued images not started.
ALTER TABLE users ADD COLUMN suspended_at BIGINT;
