-- 010: similar prompts ([similar] threshold; README "Similar prompts").
-- similar_index files every generated image under one key: 64 bits of
-- SHA-256 over its shape (size, format, seed, model) and the sorted set
-- of its normalised words (fcgi/similar.c). A lookup asks for a few
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

-- The cleanup of 002, archiving similar_hits as well.
DROP PROCEDURE IF EXISTS cleanup_old_generation_status;

DELIMITER //

CREATE PROCEDURE cleanup_old_generation_status(IN days INT)
  SQL SECURITY INVOKER
  MODIFIES SQL DATA
  COMMENT 'Delete finished generation_status rows older than days (7)'
BEGIN
  DECLARE cutoff DATETIME(3);
  DECLARE avg_call_cost DECIMAL(30,12) DEFAULT 0;
  DECLARE n BIGINT DEFAULT 0;
  DECLARE EXIT HANDLER FOR SQLEXCEPTION
  BEGIN
    ROLLBACK;
    RESIGNAL;
  END;

  IF days IS NULL THEN
    SET days = 7;
  END IF;
  IF days < 0 THEN
    SIGNAL SQLSTATE '45000'
      SET MESSAGE_TEXT = 'cleanup_old_generation_status: days must be >= 0';
  END IF;
  SET cutoff = UTC_TIMESTAMP(3) - INTERVAL days DAY;

  START TRANSACTION;
  SELECT COALESCE(SUM(cost_usd) / NULLIF(SUM(api_calls_made), 0), 0)
    INTO avg_call_cost
    FROM generation_status
   WHERE status IN ('completed', 'failed');

  SELECT COUNT(*) INTO n
    FROM generation_status g
   WHERE g.status IN ('completed', 'failed')
     AND COALESCE(g.completed_at, g.created_at) < cutoff
     AND (g.status = 'failed'
          OR EXISTS (SELECT 1 FROM image_cache c
                      WHERE c.prompt_hash = g.prompt_hash))
     FOR UPDATE;

  IF n > 0 THEN
    INSERT INTO generation_stats_archive (archived_at, older_than,
      unique_images, completed, failed, total_requests, api_calls_made,
      api_calls_saved, cache_hits, cost_usd_spent, cost_usd_saved,
      similar_hits)
    SELECT UTC_TIMESTAMP(3), cutoff, COUNT(*),
           SUM(g.status = 'completed'), SUM(g.status = 'failed'),
           SUM(g.total_requests), SUM(g.api_calls_made),
           SUM(GREATEST(CAST(g.total_requests AS SIGNED)
                        - CAST(g.api_calls_made AS SIGNED), 0)),
           SUM(g.cache_hits), SUM(g.cost_usd),
           ROUND(SUM(GREATEST(CAST(g.total_requests AS SIGNED)
                              - CAST(g.api_calls_made AS SIGNED), 0)
                     * CASE WHEN g.api_calls_made > 0
                            THEN g.cost_usd / g.api_calls_made
                            ELSE avg_call_cost END), 6),
           SUM(g.similar_hits)
      FROM generation_status g
     WHERE g.status IN ('completed', 'failed')
       AND COALESCE(g.completed_at, g.created_at) < cutoff
       AND (g.status = 'failed'
            OR EXISTS (SELECT 1 FROM image_cache c
                        WHERE c.prompt_hash = g.prompt_hash));

    DELETE FROM generation_status
     WHERE status IN ('completed', 'failed')
       AND COALESCE(completed_at, created_at) < cutoff
       AND (status = 'failed'
            OR EXISTS (SELECT 1 FROM image_cache c
                        WHERE c.prompt_hash = generation_status.prompt_hash));
    SET n = ROW_COUNT();
  END IF;
  COMMIT;
  SELECT n AS deleted_rows;
END //

DELIMITER ;
