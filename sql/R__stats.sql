-- R__stats: the reporting routines, one definition each, applied again
-- by sql/migrate.sh whenever this file changes (schema_routines keeps
-- its checksum). The numbered migrations hold tables and data only.
-- Change a routine here, and raise the version below when the binary
-- relies on the change (fcgi/lib/schema.c lists what it needs).
-- version: 1
--
--   CALL get_generation_stats();              -- today and all time
--   SELECT * FROM most_requested_prompts;     -- the top 10 prompts
--   SELECT * FROM stuck_generations;          -- generating for > 5 minutes
--   SELECT * FROM generation_queue;           -- queued jobs by class
--   SELECT * FROM generation_warm;            -- what warm-ups asked for
--
-- Every timestamp is stored in UTC (the responder's sessions run with
-- time_zone '+00:00'), so these objects use UTC_DATE()/UTC_TIMESTAMP()
-- and give the same answer whatever the caller's time zone. The README's
-- "Monitoring and reporting" defines every figure.

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

-- What operators watch: the queue by class, and the slots in use.
CREATE OR REPLACE SQL SECURITY INVOKER VIEW generation_queue AS
  SELECT CASE queue_class WHEN 0 THEN 'premium' WHEN 1 THEN 'standard'
         ELSE 'batch' END AS class,
         COUNT(*) AS queued,
         MIN(queued_at) AS oldest_queued_at,
         TIMESTAMPDIFF(MICROSECOND, MIN(queued_at), NOW(3)) / 1000000
           AS oldest_age_s
  FROM generation_status WHERE status = 'pending'
  GROUP BY queue_class;

-- Warm-ups (promptpix warm), today (by creation) and all time.
CREATE OR REPLACE SQL SECURITY INVOKER VIEW generation_warm AS
  SELECT 'today' AS period,
         COALESCE(SUM(warm_requests), 0) AS warm_requests,
         COALESCE(SUM(warm_requests > 0), 0) AS warmed_images
    FROM generation_status WHERE created_at >= UTC_DATE()
  UNION ALL
  SELECT 'all_time',
         COALESCE(SUM(warm_requests), 0),
         COALESCE(SUM(warm_requests > 0), 0)
    FROM generation_status;

-- MySQL 8 has no CREATE OR REPLACE PROCEDURE: dropped, then created.
DROP PROCEDURE IF EXISTS get_generation_stats;

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
  -- The model's own time and the time in fal's queue, as the backend
  -- recorded them, of the images that made a call: nearest-rank medians.
  model_times AS (
    SELECT p.period, w.what,
           CASE w.what WHEN 'inference' THEN g.inference_ms
                ELSE g.queue_ms END AS ms
      FROM periods p
      JOIN generation_status g ON g.created_at >= p.since
     CROSS JOIN (SELECT 'inference' AS what UNION ALL SELECT 'queue') w
     WHERE g.status = 'completed' AND g.api_calls_made > 0
  ),
  model_ranked AS (
    SELECT period, what, ms,
           ROW_NUMBER() OVER (PARTITION BY period, what ORDER BY ms) AS rn,
           COUNT(*) OVER (PARTITION BY period, what) AS n
      FROM model_times
     WHERE ms IS NOT NULL
  ),
  model_pct AS (
    SELECT period,
           MAX(CASE WHEN what = 'inference' AND rn = CEIL(0.50 * n)
                    THEN ms END) AS inference_p50,
           MAX(CASE WHEN what = 'queue' AND rn = CEIL(0.50 * n)
                    THEN ms END) AS queue_p50
      FROM model_ranked
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
           q.p50, q.p95, m.inference_p50, m.queue_p50
      FROM periods p
      LEFT JOIN sums s ON s.period = p.period
      LEFT JOIN archived a ON a.period = p.period
      LEFT JOIN pct q ON q.period = p.period
      LEFT JOIN model_pct m ON m.period = p.period
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
         CAST(NULL AS UNSIGNED) AS current_waiters,
         CAST(inference_p50 AS UNSIGNED) AS inference_ms_p50,
         CAST(queue_p50 AS UNSIGNED) AS queue_ms_p50
    FROM totals
   ORDER BY ord;
END //

DELIMITER ;
