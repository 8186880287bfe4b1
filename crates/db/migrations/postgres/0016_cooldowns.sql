-- A pause after an action (a code sent to a phone) that counts from the action itself, not
-- from a fixed window's edge: two sends either side of a window boundary are still refused.
CREATE TABLE cooldowns (
    bucket TEXT PRIMARY KEY,
    until_ms BIGINT NOT NULL
);
