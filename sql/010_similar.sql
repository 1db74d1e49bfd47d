-- 010: similar prompts ([similar] threshold; README "Similar prompts").
-- similar_index files every generated image under one key: 64 bits of
-- SHA-256 over its shape (size, format, seed, model) and the sorted set
-- of its normalised words (fcgi/lib/similar.c). A lookup asks for a few
-- keys at once (the request's set, and at low thresholds the set less
-- each word), so it costs one indexed read however many images there
-- are. The index follows image_cache: a deleted image takes its entry
-- with it (ON DELETE CASCADE); the status cleanup never deletes images.
--   promptpix similar-index     -- index images made before, or while off

CREATE TABLE IF NOT EXISTS similar_index (
  image_hash  CHAR(64)   NOT NULL,
  set_key     BINARY(8)  NOT NULL,
  PRIMARY KEY (image_hash),
  KEY ix_similar_key (set_key),
  CONSTRAINT fk_similar_image FOREIGN KEY (image_hash)
    REFERENCES image_cache (prompt_hash) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- An alias: a request answered with the image of a similar prompt keeps
-- its own row (its own prompt), pointing at the image it got, so the
-- next identical request is an exact hit. similar_hits: the requests
-- counted in that row before it became the alias (the one that matched
-- and those that waited for it); later ones are cache_hits.
ALTER TABLE generation_status
  ADD COLUMN similar_to    CHAR(64)     NULL AFTER cache_hits,
  ADD COLUMN similar_score DECIMAL(4,3) NULL AFTER similar_to,
  ADD COLUMN similar_hits  BIGINT UNSIGNED NOT NULL DEFAULT 0
    AFTER similar_score;
ALTER TABLE image_cache
  ADD COLUMN similar_to CHAR(64) NULL;
ALTER TABLE generation_stats_archive
  ADD COLUMN similar_hits BIGINT UNSIGNED NOT NULL DEFAULT 0;
