-- 011: the daily cleanup event (002) at 04:00 UTC, not 04:00 in the
-- server's time zone. An event keeps the time zone of the session that
-- last set its schedule, so this one is set from a UTC session. Whether
-- it is enabled is left as it was (002 creates it DISABLED).
SET time_zone = '+00:00';
ALTER EVENT cleanup_old_generation_status_daily
  ON SCHEDULE EVERY 1 DAY
  STARTS UTC_DATE() + INTERVAL 1 DAY + INTERVAL 4 HOUR
  COMMENT 'CALL cleanup_old_generation_status(7) daily at 04:00 UTC';
