-- Why a creation failed, as a stable code for API clients (`unsuitable_background`, …),
-- beside the message in words; and how sure the cutout under each output was (0–1).
ALTER TABLE creations ADD COLUMN error_code TEXT;
ALTER TABLE outputs ADD COLUMN confidence REAL;
