-- 003: retrying failed images. A failed image is tried again from
-- next_attempt_at on, unless the failure was permanent (retryable = 0):
-- then it waits until an operator clears it:
--   UPDATE generation_status SET retryable = 1, next_attempt_at = NOW()
--   WHERE prompt_hash = '...';

ALTER TABLE generation_status
  ADD COLUMN retryable       TINYINT(1)  NOT NULL DEFAULT 1 AFTER attempts,
  ADD COLUMN next_attempt_at DATETIME(3) NULL AFTER retryable;
