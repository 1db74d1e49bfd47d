-- 009: the hourly rollup behind the dashboard and
-- GET /api/generation/history. Every responder process adds what it
-- served (requests, hits, paid calls, money, generation times, failures
-- by kind) to the row of the current UTC hour when it flushes its hit
-- counts (fcgi/lib/rollup.c), so a page view reads at most a few hundred
-- small rows and never scans generation_status.
--   SELECT * FROM generation_rollup ORDER BY hour DESC LIMIT 48;

CREATE TABLE IF NOT EXISTS generation_rollup (
  hour         DATETIME        NOT NULL,            -- UTC, :00:00
  requests     BIGINT UNSIGNED NOT NULL DEFAULT 0,  -- counted in total_requests
  cache_hits   BIGINT UNSIGNED NOT NULL DEFAULT 0,
  paid_calls   BIGINT UNSIGNED NOT NULL DEFAULT 0,  -- calls the backend made
  generations  BIGINT UNSIGNED NOT NULL DEFAULT 0,  -- completed
  failures     BIGINT UNSIGNED NOT NULL DEFAULT 0,
  spent_usd    DECIMAL(20,6)   NOT NULL DEFAULT 0,
  -- What one call per request would have cost: saved = would - spent.
  would_usd    DECIMAL(20,6)   NOT NULL DEFAULT 0,
  PRIMARY KEY (hour)
) ENGINE=InnoDB;

-- Generation times as a histogram: n generations took at most le_ms
-- (and more than the bucket below). Percentiles are read as the bound
-- of the bucket they fall in.
CREATE TABLE IF NOT EXISTS generation_rollup_ms (
  hour         DATETIME        NOT NULL,
  le_ms        INT UNSIGNED    NOT NULL,
  n            BIGINT UNSIGNED NOT NULL DEFAULT 0,
  PRIMARY KEY (hour, le_ms)
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS generation_rollup_failures (
  hour         DATETIME        NOT NULL,
  kind         VARCHAR(32)     NOT NULL,
  failures     BIGINT UNSIGNED NOT NULL DEFAULT 0,
  PRIMARY KEY (hour, kind)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- The seed's top-prompts query (ORDER BY total_requests DESC LIMIT 10)
-- reads ten index entries instead of sorting the table.
ALTER TABLE generation_status
  ADD KEY ix_generation_requests (total_requests, created_at);

-- What the status table already holds, by the hour each image was
-- created (once; the responders keep it from now on). Generation
-- times and failure kinds start with this migration.
INSERT INTO generation_rollup (hour, requests, cache_hits, paid_calls,
  generations, failures, spent_usd, would_usd)
SELECT DATE_FORMAT(created_at, '%Y-%m-%d %H:00:00'),
       SUM(total_requests), SUM(cache_hits), SUM(api_calls_made),
       SUM(status = 'completed'), SUM(status = 'failed'), SUM(cost_usd),
       -- the price of a row's call, once per request it served
       ROUND(SUM(IF(api_calls_made > 0,
                    cost_usd * total_requests / api_calls_made, 0)), 6)
  FROM generation_status
 GROUP BY DATE_FORMAT(created_at, '%Y-%m-%d %H:00:00')
ON DUPLICATE KEY UPDATE requests = generation_rollup.requests;
