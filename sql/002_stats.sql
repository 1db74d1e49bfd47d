-- 002: monitoring and reporting: the cache_hits column and the archive
-- that keeps the all-time figures through the cleanup. The reporting
-- routines (get_generation_stats(), the views, the cleanup and its
-- event) are in sql/R__stats.sql and sql/R__cleanup.sql.

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
