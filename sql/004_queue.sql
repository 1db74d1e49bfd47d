-- 004: the generation queue. A pending row is a queued job: it waits in
-- its class (0 premium, 1 standard, 2 batch), first come first served
-- within a class, until a generation worker on any host takes it. The
-- worker holds one of the rows of generation_slots while the backend
-- works: at most [queue] max_concurrent slots are ever taken, across
-- every host on this database. Both the job and the slot carry a lease
-- that their owner refreshes; only an expired lease lets another worker
-- take over.
--
-- What is queued now, by class:
--   SELECT queue_class, COUNT(*), MIN(queued_at) FROM generation_status
--   WHERE status = 'pending' GROUP BY queue_class;

ALTER TABLE generation_status
  ADD COLUMN queue_class TINYINT UNSIGNED NOT NULL DEFAULT 1 AFTER status,
  ADD COLUMN queued_at   DATETIME(3) NULL AFTER queue_class,
  -- A random token per claim: the worker that records a failure must
  -- still be the one that claimed the job.
  ADD COLUMN lease_token BIGINT UNSIGNED NULL AFTER lease_until,
  ADD KEY ix_generation_queue (status, queue_class, queued_at),
  ADD KEY ix_generation_completed (completed_at);

CREATE TABLE IF NOT EXISTS generation_slots (
  slot        SMALLINT UNSIGNED NOT NULL,
  owner       VARCHAR(100)  NULL,                 -- host:pid:nonce
  prompt_hash CHAR(64)      NULL,
  lease_until DATETIME(3)   NULL,
  taken_at    DATETIME(3)   NULL,
  PRIMARY KEY (slot)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- 64 slots: [queue] max_concurrent may be set up to 64.
INSERT IGNORE INTO generation_slots (slot)
  SELECT a.n * 8 + b.n FROM
    (SELECT 0 n UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3
     UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6
     UNION ALL SELECT 7) a,
    (SELECT 0 n UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3
     UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6
     UNION ALL SELECT 7) b;
