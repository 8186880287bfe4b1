-- Where the local engine placed the piece on an output's canvas (JSON: canvas, image,
-- src, dst, scale), so the photo can be shown under the image pixel for pixel.
ALTER TABLE outputs ADD COLUMN placement TEXT;
