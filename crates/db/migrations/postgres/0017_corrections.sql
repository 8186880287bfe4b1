-- A correction re-makes a creation's images with the strokes its seller painted over the
-- photo (keep/remove, JSON); free, since the photo was paid for once.
ALTER TABLE creations ADD COLUMN hints TEXT;
