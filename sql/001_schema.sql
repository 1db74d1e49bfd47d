-- 001: the generation status table (one row per distinct image) and the
-- image cache (completed images, kept when old status rows are cleaned).
-- Column names follow the original design so its reporting queries run
-- unchanged. Runs on MariaDB 10.11 and MySQL 8.

CREATE TABLE IF NOT EXISTS generation_status (
  id                  CHAR(36)      NOT NULL,
  prompt_hash         CHAR(64)      NOT NULL,
  prompt              TEXT          NOT NULL,
  dimensions          VARCHAR(11)   NOT NULL,             -- '1024x1024'
  width               INT UNSIGNED  NOT NULL,
  height              INT UNSIGNED  NOT NULL,
  format              VARCHAR(4)    NOT NULL,             -- 'jpg' | 'png'
  seed                INT UNSIGNED  NULL,
  model               VARCHAR(100)  NOT NULL,
  status              ENUM('pending','generating','completed','failed')
                                    NOT NULL DEFAULT 'pending',
  generated_url       VARCHAR(2048) NULL,
  error_message       VARCHAR(255)  NULL,
  error_kind          VARCHAR(32)   NULL,
  total_requests      BIGINT UNSIGNED NOT NULL DEFAULT 1,
  api_calls_made      INT UNSIGNED  NOT NULL DEFAULT 0,
  attempts            INT UNSIGNED  NOT NULL DEFAULT 0,
  -- The generator: its connection id (its named lock dies with it) and
  -- host:pid for operators; lease_until bounds a pending election.
  owner_conn          BIGINT UNSIGNED NULL,
  owner_host          VARCHAR(80)   NULL,
  lease_until         DATETIME(3)   NULL,
  -- The result.
  file_name           VARCHAR(160)  NULL,                 -- in the store
  file_size           BIGINT UNSIGNED NULL,
  content_type        VARCHAR(32)   NULL,
  image_width         INT UNSIGNED  NULL,
  image_height        INT UNSIGNED  NULL,
  upstream_request_id VARCHAR(80)   NULL,
  upstream_ms         INT UNSIGNED  NULL,
  inference_ms        INT UNSIGNED  NULL,
  cost_usd            DECIMAL(12,6) NOT NULL DEFAULT 0,
  created_at          DATETIME(3)   NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  started_at          DATETIME(3)   NULL,
  completed_at        DATETIME(3)   NULL,
  updated_at          DATETIME(3)   NOT NULL DEFAULT CURRENT_TIMESTAMP(3)
                                    ON UPDATE CURRENT_TIMESTAMP(3),
  PRIMARY KEY (id),
  UNIQUE KEY uq_generation_prompt_hash (prompt_hash),
  KEY ix_generation_status_started (status, started_at),
  KEY ix_generation_created (created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS image_cache (
  prompt_hash         CHAR(64)      NOT NULL,
  prompt              TEXT          NOT NULL,
  dimensions          VARCHAR(11)   NOT NULL,
  format              VARCHAR(4)    NOT NULL,
  seed                INT UNSIGNED  NULL,
  model               VARCHAR(100)  NOT NULL,
  generated_url       VARCHAR(2048) NOT NULL,
  file_name           VARCHAR(160)  NULL,
  file_size           BIGINT UNSIGNED NULL,
  content_type        VARCHAR(32)   NULL,
  image_width         INT UNSIGNED  NULL,
  image_height        INT UNSIGNED  NULL,
  created_at          DATETIME(3)   NOT NULL,
  PRIMARY KEY (prompt_hash)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
