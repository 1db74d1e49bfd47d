-- 014: the cleanup keeps refused prompts. A failed row that no retry
-- can fix (retryable = 0: kinds rejected and nsfw, sql/003_retry.sql)
-- is what answers the next request for that prompt at once, without
-- paying for the same refusal again; it stays until an operator clears
-- it (README "How one generation serves everyone", 6). The procedure is
-- 010's otherwise, dropped and created again (MySQL 8 has no CREATE OR
-- REPLACE PROCEDURE).

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
     AND NOT (g.status = 'failed' AND g.retryable = 0)
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
                        WHERE c.prompt_hash = g.prompt_hash))
       AND NOT (g.status = 'failed' AND g.retryable = 0);

    DELETE FROM generation_status
     WHERE status IN ('completed', 'failed')
       AND COALESCE(completed_at, created_at) < cutoff
       AND (status = 'failed'
            OR EXISTS (SELECT 1 FROM image_cache c
                        WHERE c.prompt_hash = generation_status.prompt_hash))
       AND NOT (status = 'failed' AND retryable = 0);
    SET n = ROW_COUNT();
  END IF;
  COMMIT;
  SELECT n AS deleted_rows;
END //

DELIMITER ;
