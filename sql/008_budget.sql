-- 008: the daily budget. Before a new image is queued, its estimated
-- cost ([generation] cost_per_megapixel x megapixels) is reserved in
-- budget_days (and in key_days for its client key) with one conditional
-- UPDATE each, so that under any concurrency, on any number of hosts,
-- spent + reserved never passes [budget] daily_usd or a key's quota.
-- When the generation ends, the reservation becomes what was spent.
--   SELECT * FROM budget_days ORDER BY day DESC LIMIT 7;

CREATE TABLE IF NOT EXISTS budget_days (
  day          DATE          NOT NULL,             -- UTC
  images       INT UNSIGNED  NOT NULL DEFAULT 0,   -- reserved or spent
  reserved_usd DECIMAL(14,6) NOT NULL DEFAULT 0,
  spent_usd    DECIMAL(14,6) NOT NULL DEFAULT 0,
  PRIMARY KEY (day)
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS key_days (
  key_id       VARCHAR(32)   NOT NULL,
  day          DATE          NOT NULL,
  images       INT UNSIGNED  NOT NULL DEFAULT 0,
  reserved_usd DECIMAL(14,6) NOT NULL DEFAULT 0,
  spent_usd    DECIMAL(14,6) NOT NULL DEFAULT 0,
  PRIMARY KEY (key_id, day)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- The reservation an unfinished row holds, and the day it counts on.
ALTER TABLE generation_status
  ADD COLUMN reserved_usd DECIMAL(12,6) NULL AFTER cost_usd,
  ADD COLUMN budget_day   DATE NULL AFTER reserved_usd;
