-- 002: monitoring and reporting. Runs on MariaDB 10.11 and MySQL 8 through
-- the command-line client (sql/migrate.sh), which handles DELIMITER.
--
--   CALL get_generation_stats();              -- today and all time
--   CALL cleanup_old_generation_status(7);    -- drop finished rows > 7 days
--   SELECT * FROM most_requested_prompts;     -- the top 10 prompts
--   SELECT * FROM stuck_generations;          -- generating for > 5 minutes
--
-- Every timestamp is stored in UTC (the responder's sessions run with
-- time_zone '+00:00'), so these objects use UTC_DATE()/UTC_TIMESTAMP()
-- and give the same answer whatever the caller's time zone. README.stats.md
-- defines every figure.

-- Requests answered with an image that was already complete when they were
-- counted (by the election, or from the image cache): the responder's
-- "hit" outcome, kept per image so that SQL can report it.
ALTER TABLE generation_status
  ADD COLUMN cache_hits BIGINT UNSIGNED NOT NULL DEFAULT 0
  AFTER api_calls_made;

-- What cleanup_old_generation_status() removed, one row per run, so that
-- the all-time figures survive the cleanup. Generation times are not
-- archived: p50/p95 cover the rows still present.
CREATE TABLE IF NOT EXISTS generation_stats_archive (
  id                  BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  archived_at         DATETIME(3)   NOT NULL,
  older_than          DATETIME(3)   NOT NULL,
  unique_images       BIGINT UNSIGNED NOT NULL,
  completed           BIGINT UNSIGNED NOT NULL,
  failed              BIGINT UNSIGNED NOT NULL,
  total_requests      BIGINT UNSIGNED NOT NULL,
  api_calls_made      BIGINT UNSIGNED NOT NULL,
  api_calls_saved     BIGINT UNSIGNED NOT NULL,
  cache_hits          BIGINT UNSIGNED NOT NULL,
  cost_usd_spent      DECIMAL(20,6) NOT NULL,
  cost_usd_saved      DECIMAL(20,6) NOT NULL,
  PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- The seed's "most requested prompts" query, with api_calls_saved computed
-- so that it can never go negative (a backend that retried may have made
-- more calls than there were requests; the unsigned subtraction of the
-- seed's own form would then fail with "BIGINT UNSIGNED value is out of
-- range").
CREATE OR REPLACE SQL SECURITY INVOKER VIEW most_requested_prompts AS
SELECT
  prompt,
  dimensions,
  format,
  total_requests,
  api_calls_made,
  CAST(GREATEST(CAST(total_requests AS SIGNED)
                - CAST(api_calls_made AS SIGNED), 0) AS UNSIGNED)
    AS api_calls_saved,
  status,
  created_at
FROM generation_status
ORDER BY total_requests DESC, created_at, prompt_hash
LIMIT 10;

-- The seed's "Database Locks" check, written for MySQL (the Postgres
-- INTERVAL '5 minutes' is a syntax error there) and in UTC.
CREATE OR REPLACE SQL SECURITY INVOKER VIEW stuck_generations AS
SELECT *
FROM generation_status
WHERE status = 'generating'
  AND started_at < UTC_TIMESTAMP(3) - INTERVAL 5 MINUTE;

DROP PROCEDURE IF EXISTS get_generation_stats;
DROP PROCEDURE IF EXISTS cleanup_old_generation_status;

DELIMITER //

-- One result set of two rows, period 'today' (rows created since 00:00
-- UTC) and 'all_time' (every row, plus what cleanup archived). The
-- responder's GET /api/generation/stats reads exactly this.
CREATE PROCEDURE get_generation_stats()
  SQL SECURITY INVOKER
  READS SQL DATA
  COMMENT 'Generation and API-call savings figures, today and all time'
BEGIN
  DECLARE day_start DATETIME(3) DEFAULT UTC_DATE();
  DECLARE avg_call_cost DECIMAL(30,12) DEFAULT 0;

  -- The price of one call, for rows whose own price is unknown (rows
  -- completed from the image cache made no call of their own).
  SELECT COALESCE(SUM(cost_usd) / NULLIF(SUM(api_calls_made), 0), 0)
    INTO avg_call_cost
    FROM generation_status
   WHERE status IN ('completed', 'failed');

  WITH
  periods AS (
    SELECT 'today' AS period, 1 AS ord, day_start AS since
    UNION ALL
    SELECT 'all_time', 2, CAST('1000-01-01' AS DATETIME(3))
  ),
  per_row AS (
    SELECT p.period, g.status, g.total_requests, g.api_calls_made,
           g.cache_hits, g.cost_usd,
           GREATEST(CAST(g.total_requests AS SIGNED)
                    - CAST(g.api_calls_made AS SIGNED), 0) AS saved,
           CASE WHEN g.status IN ('completed', 'failed')
                 AND g.api_calls_made > 0
                THEN g.cost_usd / g.api_calls_made
                ELSE avg_call_cost END AS call_cost
      FROM periods p
      JOIN generation_status g ON g.created_at >= p.since
  ),
  sums AS (
    SELECT period,
           COUNT(*) AS unique_images,
           SUM(status = 'pending') AS pending,
           SUM(status = 'generating') AS generating,
           SUM(status = 'completed') AS completed,
           SUM(status = 'failed') AS failed,
           SUM(total_requests) AS total_requests,
           SUM(api_calls_made) AS api_calls_made,
           SUM(saved) AS api_calls_saved,
           SUM(cache_hits) AS cache_hits,
           SUM(cost_usd) AS cost_usd_spent,
           SUM(saved * call_cost) AS cost_usd_saved
      FROM per_row
     GROUP BY period
  ),
  archived AS (
    SELECT 'all_time' AS period,
           SUM(unique_images) AS unique_images,
           SUM(completed) AS completed, SUM(failed) AS failed,
           SUM(total_requests) AS total_requests,
           SUM(api_calls_made) AS api_calls_made,
           SUM(api_calls_saved) AS api_calls_saved,
           SUM(cache_hits) AS cache_hits,
           SUM(cost_usd_spent) AS cost_usd_spent,
           SUM(cost_usd_saved) AS cost_usd_saved
      FROM generation_stats_archive
  ),
  -- Generation time of the images that made a call: nearest-rank
  -- percentiles (the smallest time with at least p% at or below it).
  timed AS (
    SELECT p.period,
           TIMESTAMPDIFF(MICROSECOND, g.started_at, g.completed_at) DIV 1000
             AS ms,
           ROW_NUMBER() OVER (PARTITION BY p.period ORDER BY
             TIMESTAMPDIFF(MICROSECOND, g.started_at, g.completed_at))
             AS rn,
           COUNT(*) OVER (PARTITION BY p.period) AS n
      FROM periods p
      JOIN generation_status g ON g.created_at >= p.since
     WHERE g.status = 'completed' AND g.api_calls_made > 0
       AND g.started_at IS NOT NULL AND g.completed_at >= g.started_at
  ),
  pct AS (
    SELECT period,
           MAX(CASE WHEN rn = CEIL(0.50 * n) THEN ms END) AS p50,
           MAX(CASE WHEN rn = CEIL(0.95 * n) THEN ms END) AS p95
      FROM timed
     GROUP BY period
  ),
  totals AS (
    SELECT p.period, p.ord,
           COALESCE(s.unique_images, 0) + COALESCE(a.unique_images, 0)
             AS unique_images,
           COALESCE(s.pending, 0) AS pending,
           COALESCE(s.generating, 0) AS generating,
           COALESCE(s.completed, 0) + COALESCE(a.completed, 0) AS completed,
           COALESCE(s.failed, 0) + COALESCE(a.failed, 0) AS failed,
           COALESCE(s.total_requests, 0) + COALESCE(a.total_requests, 0)
             AS total_requests,
           COALESCE(s.api_calls_made, 0) + COALESCE(a.api_calls_made, 0)
             AS api_calls_made,
           COALESCE(s.api_calls_saved, 0) + COALESCE(a.api_calls_saved, 0)
             AS api_calls_saved,
           COALESCE(s.cache_hits, 0) + COALESCE(a.cache_hits, 0)
             AS cache_hits,
           COALESCE(s.cost_usd_spent, 0) + COALESCE(a.cost_usd_spent, 0)
             AS cost_usd_spent,
           COALESCE(s.cost_usd_saved, 0) + COALESCE(a.cost_usd_saved, 0)
             AS cost_usd_saved,
           q.p50, q.p95
      FROM periods p
      LEFT JOIN sums s ON s.period = p.period
      LEFT JOIN archived a ON a.period = p.period
      LEFT JOIN pct q ON q.period = p.period
  )
  SELECT period,
         CAST(unique_images AS UNSIGNED) AS unique_images,
         CAST(pending AS UNSIGNED) AS pending,
         CAST(generating AS UNSIGNED) AS generating,
         CAST(completed AS UNSIGNED) AS completed,
         CAST(failed AS UNSIGNED) AS failed,
         CAST(total_requests AS UNSIGNED) AS total_requests,
         CAST(api_calls_made AS UNSIGNED) AS api_calls_made,
         CAST(api_calls_saved AS UNSIGNED) AS api_calls_saved,
         CAST(COALESCE(ROUND(100 * api_calls_saved
                             / NULLIF(total_requests, 0), 2), 0)
              AS DECIMAL(5,2)) AS savings_percent,
         CAST(cost_usd_spent AS DECIMAL(20,6)) AS cost_usd_spent,
         CAST(ROUND(cost_usd_saved, 6) AS DECIMAL(20,6)) AS cost_usd_saved,
         CAST(cache_hits AS UNSIGNED) AS cache_hits,
         CAST(p50 AS UNSIGNED) AS generation_ms_p50,
         CAST(p95 AS UNSIGNED) AS generation_ms_p95,
         CAST(pending + generating AS UNSIGNED) AS in_flight_generations,
         -- Waiters live in the responders' memory, not in the database:
         -- GET /api/generation/stats and /metrics report them.
         CAST(NULL AS UNSIGNED) AS current_waiters
    FROM totals
   ORDER BY ord;
END //

-- Remove finished (completed or failed) status rows that finished more
-- than `days` days ago (NULL: 7), first adding their figures to
-- generation_stats_archive. Completed images stay in image_cache, so a
-- later request for one is still answered without a generation; a
-- completed row whose image is missing from image_cache is kept. Returns
-- one row: deleted_rows.
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

  -- Lock the rows to go first, so that no request counts itself in one
  -- of them between the archiving and the delete: the election waits,
  -- then finds the row gone and starts a fresh one (from image_cache).
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
      api_calls_saved, cache_hits, cost_usd_spent, cost_usd_saved)
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
                            ELSE avg_call_cost END), 6)
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

-- Daily cleanup inside the server. Created DISABLED: turn it on with
--   ALTER EVENT cleanup_old_generation_status_daily ENABLE;
-- (and event_scheduler = ON in the server's configuration), or use the
-- cron line in README.stats.md instead. Creating it needs the EVENT
-- privilege; it runs as the user who ran this migration.
CREATE EVENT IF NOT EXISTS cleanup_old_generation_status_daily
  ON SCHEDULE EVERY 1 DAY
  STARTS CURRENT_DATE + INTERVAL 1 DAY + INTERVAL 4 HOUR
  ON COMPLETION PRESERVE
  DISABLE
  COMMENT 'CALL cleanup_old_generation_status(7) daily at 04:00'
  DO CALL cleanup_old_generation_status(7);
