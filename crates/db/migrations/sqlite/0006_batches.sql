-- Batches: one request that made the same images from many uploads. Each creation keeps
-- its own hold and job; the batch id groups them for the page and the ZIP.
ALTER TABLE creations ADD COLUMN batch_id TEXT;
CREATE INDEX creations_batch ON creations(batch_id);
