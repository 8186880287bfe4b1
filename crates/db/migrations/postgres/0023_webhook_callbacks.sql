-- A one-off callback (the `callback_url` of a creation or a batch): an endpoint for the
-- events of that one creation or batch, kept out of the seller's list of endpoints.
ALTER TABLE webhook_endpoints ADD COLUMN subject_id TEXT;
CREATE UNIQUE INDEX webhook_endpoints_subject ON webhook_endpoints(subject_id);
