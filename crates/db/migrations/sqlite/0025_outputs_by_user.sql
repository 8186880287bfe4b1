-- Staff's audited look at an account lists its newest images.
CREATE INDEX outputs_user ON outputs(user_id, created_at);
