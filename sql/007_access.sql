-- 007: client keys. A key's id names it in signed URLs (kid=) and in
-- bearer tokens; its secret is never stored: the responder derives it
-- from the master secret in [access] secret_file, so a dump of this
-- table cannot sign a URL or stand for a key. tier is the queue class
-- of its images (0 premium, 1 standard, 2 batch).
--   promptpix key add NAME --tier T [--daily-images N] [--daily-usd X]
--   promptpix key list
--   promptpix key disable ID

CREATE TABLE IF NOT EXISTS client_keys (
  id           VARCHAR(32)   NOT NULL,
  name         VARCHAR(100)  NOT NULL,
  tier         TINYINT UNSIGNED NOT NULL DEFAULT 1,
  daily_images INT UNSIGNED  NULL,            -- NULL: no quota
  daily_usd    DECIMAL(12,6) NULL,
  enabled      TINYINT(1)    NOT NULL DEFAULT 1,
  created_at   DATETIME(3)   NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  last_used_at DATETIME(3)   NULL,
  PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- The key that started each image (NULL: anonymous, or the installation's
-- own default key).
ALTER TABLE generation_status
  ADD COLUMN client_key VARCHAR(32) NULL AFTER queue_class;
