-- A seller's verdict on one of their images (one each, changeable): up, or down with what
-- was wrong (comma-separated codes of domain::feedback::Category) and their own words.
CREATE TABLE output_feedback (
    output_id TEXT PRIMARY KEY REFERENCES outputs(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    rating TEXT NOT NULL CHECK (rating IN ('up', 'down')),
    categories TEXT NOT NULL,
    text TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX output_feedback_user ON output_feedback(user_id, updated_at);
