-- 006: warm-ups (`promptpix warm`). A world's creator generates its
-- whole list of image URLs before players arrive. A warm-up is elected
-- by the same INSERT ... ON DUPLICATE KEY UPDATE as a request, but it is
-- no player's request: it counts in warm_requests, never in
-- total_requests, so api_calls_saved and the savings figures stay about
-- players. An image that only a warm-up asked for shows total_requests
-- 0, api_calls_made 1 until its first player comes.
--
-- What warm-ups asked for, today (by creation) and all time:
--   SELECT * FROM generation_warm;         -- sql/R__stats.sql

ALTER TABLE generation_status
  ADD COLUMN warm_requests INT UNSIGNED NOT NULL DEFAULT 0
    AFTER total_requests;
