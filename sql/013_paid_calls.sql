-- 013: every paid call is recorded, so that no worker pays twice for an
-- image. A row's current call to the backend (fal's queue submit, its
-- sync POST, the placeholder's drawing) is written before it goes out
-- ('sending', counted in api_calls_made) and again with what became of
-- it: 'taken' with fal's request id and the URLs that follow the job,
-- 'lost' (it went out, its answer never came: fal may run it),
-- 'refused' (fal said no), 'unsent' (it never left). A worker that takes
-- the job over, or queues it again after a failure that came after the
-- payment (a download, the store), resumes a 'taken' job instead of
-- sending a new one; 'done' and 'gone' say its result was used, or that
-- fal no longer holds it.
--
-- Money moves with the call: its reservation (budget_days, key_days)
-- becomes spent when the backend may bill it, and goes back to the row
-- when it may not; the row keeps what the image cost in cost_usd.
--   SELECT prompt, status, call_state, upstream_request_id, api_calls_made,
--          cost_usd FROM generation_status WHERE call_state IS NOT NULL;

ALTER TABLE generation_status
  -- The current call: a random id chosen before it goes out, its state,
  -- when it went out, the reservation it holds while its fate is not
  -- known, and the claim token of the worker that wrote its fate.
  ADD COLUMN call_id           BIGINT UNSIGNED NULL AFTER lease_token,
  ADD COLUMN call_state        ENUM('sending','taken','lost','refused',
                                    'unsent','done','gone') NULL
                                 AFTER call_id,
  ADD COLUMN call_sent_at      DATETIME(3)   NULL AFTER call_state,
  ADD COLUMN call_reserved_usd DECIMAL(12,6) NULL AFTER call_sent_at,
  ADD COLUMN call_closer       BIGINT UNSIGNED NULL AFTER call_reserved_usd,
  -- How to follow the job fal took (the URLs its submit answered with),
  -- and the image it made, once known.
  ADD COLUMN upstream_status_url   VARCHAR(1024) NULL
                                 AFTER upstream_request_id,
  ADD COLUMN upstream_response_url VARCHAR(1024) NULL
                                 AFTER upstream_status_url,
  ADD COLUMN upstream_cancel_url   VARCHAR(1024) NULL
                                 AFTER upstream_response_url,
  ADD COLUMN upstream_image_url    VARCHAR(2048) NULL
                                 AFTER upstream_cancel_url,
  -- Who created the row or queued it again (a random id per election),
  -- and which claim recorded its end: an answer lost on the way back is
  -- recognised by reading these.
  ADD COLUMN elect_id          BIGINT UNSIGNED NULL AFTER budget_day,
  ADD COLUMN finish_token      BIGINT UNSIGNED NULL AFTER elect_id;
