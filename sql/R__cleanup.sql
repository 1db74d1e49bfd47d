-- R__cleanup: the cleanup of old status rows and its daily event,
-- applied again by sql/migrate.sh whenever this file changes (see
-- R__stats.sql).
-- version: 1
--
--   CALL cleanup_old_generation_status(7);    -- drop finished rows > 7 days
--
-- Rows finished more than `days` days ago are archived into
-- generation_stats_archive (so the all-time figures survive) and
-- deleted; the images stay in image_cache (and the similar index). Kept:
-- unfinished rows, and failed rows no retry can fix (retryable = 0:
-- rejected, nsfw), which answer the next request for that prompt at once
-- until an operator clears them.

-- MySQL 8 has no CREATE OR REPLACE PROCEDURE: dropped, then created.
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

-- Daily cleanup inside the server, at 04:00 UTC. Created DISABLED: turn
-- it on with
--   ALTER EVENT cleanup_old_generation_status_daily ENABLE;
-- (and event_scheduler = ON in the server's configuration), or use the
-- cron line in the README instead. Whether it is enabled is never
-- changed here: the schedule is set again (from this UTC session: an
-- event keeps the time zone of the session that set its schedule), the
-- rest left as it was. Creating it needs the EVENT privilege; it runs
-- as the user who ran this file.
CREATE EVENT IF NOT EXISTS cleanup_old_generation_status_daily
  ON SCHEDULE EVERY 1 DAY
  STARTS UTC_DATE() + INTERVAL 1 DAY + INTERVAL 4 HOUR
  ON COMPLETION PRESERVE
  DISABLE
  COMMENT 'CALL cleanup_old_generation_status(7) daily at 04:00 UTC'
  DO CALL cleanup_old_generation_status(7);
ALTER EVENT cleanup_old_generation_status_daily
  ON SCHEDULE EVERY 1 DAY
  STARTS UTC_DATE() + INTERVAL 1 DAY + INTERVAL 4 HOUR
  COMMENT 'CALL cleanup_old_generation_status(7) daily at 04:00 UTC';
