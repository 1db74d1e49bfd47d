-- 005: the model's timings. generation_status.inference_ms (fal's
-- timings.inference) is joined by queue_ms: how long the job waited in
-- fal's queue, from the submit's answer to the first status past
-- IN_QUEUE as our client saw it (NULL where the backend does not know:
-- fal's sync API). get_generation_stats() (sql/R__stats.sql) reports
-- their medians, inference_ms_p50 and queue_ms_p50, so that an operator
-- sees whether a generation's time goes to fal's queue or to the model.

ALTER TABLE generation_status
  ADD COLUMN queue_ms INT UNSIGNED NULL AFTER inference_ms;
