/*
 * dbsql.c: every SQL statement the responder runs, in one table. The
 * typed functions of dbrow.c, dbqueue.c and dbstats.c execute them by
 * id.
 */
#include "dbint.h"

#define LEASE	"NOW(3) + INTERVAL ? MICROSECOND"
/* Money is compared as the columns hold it, never in binary floats. */
#define USD	"CAST(? AS DECIMAL(14,6))"
/* What the call ledger (dbcalls.c) reads of a row. */
#define CALL_COLS \
	"SELECT COALESCE(call_id, 0), COALESCE(call_state, ''),"	\
	" COALESCE(call_closer, 0), status, COALESCE(lease_token, 0),"	\
	" COALESCE(reserved_usd, -1), COALESCE(call_reserved_usd, -1),"	\
	" COALESCE(client_key, ''), COALESCE(budget_day, ''),"		\
	" COALESCE(upstream_request_id, ''),"				\
	" COALESCE(upstream_status_url, ''),"				\
	" COALESCE(upstream_response_url, ''),"			\
	" COALESCE(upstream_cancel_url, ''),"				\
	" COALESCE(upstream_image_url, ''),"				\
	" COALESCE(TIMESTAMPDIFF(MICROSECOND, call_sent_at, NOW(3)), 0)"	\
	" DIV 1000 FROM generation_status WHERE prompt_hash = ?"

const char *const db_sql[ST__MAX] = {
	/*
	 * A new row is a queued job: pending, in its class, from now, held
	 * (lease_until) while its request looks for it in the image cache.
	 * A player's request counts in total_requests (and in cache_hits
	 * when it finds the image), a warm-up (the last three ?: 1) in
	 * warm_requests only. elect_id says who created it.
	 */
	[ST_ELECT] =
	"INSERT INTO generation_status (id, prompt_hash, prompt, dimensions,"
	" width, height, format, seed, model, status, queue_class, client_key,"
	" reserved_usd, budget_day, elect_id, queued_at, lease_until,"
	" total_requests, warm_requests, created_at)"
	" VALUES (UUID(), ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?,"
	" IF(? IS NULL, NULL, UTC_DATE()), ?, NOW(3), " LEASE ", 1 - ?, ?,"
	" NOW(3))"
	" ON DUPLICATE KEY UPDATE cache_hits = cache_hits +"
	" (status = 'completed') * (1 - ?),"
	" total_requests = total_requests + 1 - ?,"
	" warm_requests = warm_requests + ?,"
	" queue_class = IF(status = 'pending', LEAST(queue_class, ?),"
	" queue_class)",
	[ST_FETCH] =
	"SELECT status, COALESCE(generated_url, ''), COALESCE(file_name, ''),"
	" COALESCE(content_type, ''), COALESCE(error_kind, ''),"
	" COALESCE(error_message, ''), COALESCE(file_size, 0),"
	" COALESCE(ROUND(UNIX_TIMESTAMP(completed_at) * 1000), 0),"
	" lease_until IS NULL OR lease_until < NOW(3), attempts,"
	" retryable = 1 AND COALESCE(next_attempt_at <= NOW(3), 0),"
	" IF(retryable = 1, GREATEST(0, CEIL(TIMESTAMPDIFF(MICROSECOND, NOW(3),"
	" COALESCE(next_attempt_at, NOW(3))) / 1000000)), 0),"
	" similar_to IS NOT NULL"
	" FROM generation_status WHERE prompt_hash = ?",
	/*
	 * The next job: one whose owner's lease ran out first, else the
	 * oldest queued in the highest class. Each half reads one end of
	 * an index (status first), so it costs the same with a million
	 * rows as with ten.
	 */
	[ST_NEXT_JOB] =
	"(SELECT prompt_hash, status, prompt, width, height, format,"
	" COALESCE(seed, -1), model, queue_class FROM generation_status"
	" WHERE status = 'generating' AND (lease_until IS NULL"
	" OR lease_until < NOW(3)) ORDER BY started_at LIMIT 1)"
	" UNION ALL"
	" (SELECT prompt_hash, status, prompt, width, height, format,"
	" COALESCE(seed, -1), model, queue_class FROM generation_status"
	" WHERE status = 'pending' AND (lease_until IS NULL"
	" OR lease_until < NOW(3)) ORDER BY queue_class, queued_at LIMIT 1)"
	" LIMIT 1",
	/* One of the first max_concurrent slots that is free or forsaken. */
	[ST_SLOT_TAKE] =
	"UPDATE generation_slots SET owner = ?, prompt_hash = ?,"
	" lease_until = " LEASE ", taken_at = NOW(3)"
	" WHERE slot < ? AND (owner IS NULL OR lease_until IS NULL"
	" OR lease_until < NOW(3)) ORDER BY slot LIMIT 1",
	[ST_SLOT_LEASE] =
	"UPDATE generation_slots SET lease_until = " LEASE " WHERE owner = ?",
	[ST_SLOT_FREE] =
	"UPDATE generation_slots SET owner = NULL, prompt_hash = NULL,"
	" lease_until = NULL, taken_at = NULL WHERE owner = ?",
	/*
	 * Claim the job under a token that only this claim knows. Its paid
	 * calls are counted as they go out (ST_CALL_BEGIN).
	 */
	[ST_CLAIM] =
	"UPDATE generation_status SET status = 'generating', owner_host = ?,"
	" lease_token = ?, lease_until = " LEASE ", started_at = NOW(3),"
	" attempts = attempts + 1"
	" WHERE prompt_hash = ? AND (status = 'pending' OR status ="
	" 'generating') AND (lease_until IS NULL OR lease_until < NOW(3))",
	[ST_JOB_LEASE] =
	"UPDATE generation_status SET lease_until = " LEASE
	" WHERE prompt_hash = ? AND status = 'generating' AND lease_token = ?",
	/* What finished lately, for the waiters of this process. */
	[ST_DONE_SINCE] =
	"SELECT prompt_hash FROM generation_status"
	" WHERE completed_at >= NOW(3) - INTERVAL ? MICROSECOND",
	[ST_QUEUE] =
	"SELECT"
	" (SELECT COUNT(*) FROM generation_status WHERE status = 'pending'"
	" AND queue_class = 0),"
	" (SELECT COUNT(*) FROM generation_status WHERE status = 'pending'"
	" AND queue_class = 1),"
	" (SELECT COUNT(*) FROM generation_status WHERE status = 'pending'"
	" AND queue_class >= 2),"
	" (SELECT COALESCE(ROUND(TIMESTAMPDIFF(MICROSECOND, MIN(queued_at),"
	" NOW(3)) / 1000), 0) FROM generation_status WHERE status = 'pending'),"
	" (SELECT COUNT(*) FROM generation_slots WHERE owner IS NOT NULL"
	" AND lease_until >= NOW(3))",
	[ST_KEY_GET] =
	"SELECT tier, enabled FROM client_keys WHERE id = ?",
	[ST_KEY_ADD] =
	"INSERT INTO client_keys (id, name, tier, daily_images, daily_usd)"
	" VALUES (?, ?, ?, ?, ?)",
	[ST_KEY_LIST] =
	"SELECT id, name, tier, COALESCE(daily_images, -1),"
	" COALESCE(daily_usd, -1), enabled, created_at,"
	" COALESCE(last_used_at, '') FROM client_keys ORDER BY created_at, id",
	[ST_KEY_DISABLE] =
	"UPDATE client_keys SET enabled = 0 WHERE id = ?",
	/* The budget (sql/008_budget.sql): reserve, release, settle. */
	[ST_BUDGET_DAY] =
	"INSERT IGNORE INTO budget_days (day) VALUES (UTC_DATE())",
	[ST_BUDGET_RESERVE] =
	"UPDATE budget_days SET reserved_usd = reserved_usd + " USD ","
	" images = images + 1 WHERE day = UTC_DATE()"
	" AND spent_usd + reserved_usd + " USD " <= " USD,
	[ST_BUDGET_RELEASE] =
	"UPDATE budget_days SET reserved_usd = GREATEST(reserved_usd - ?, 0),"
	" images = GREATEST(CAST(images AS SIGNED) - 1, 0)"
	" WHERE day = UTC_DATE()",
	[ST_KEY_DAY] =
	"INSERT IGNORE INTO key_days (key_id, day) VALUES (?, UTC_DATE())",
	[ST_KEY_RESERVE] =
	"UPDATE key_days k JOIN client_keys c ON c.id = k.key_id"
	" SET k.reserved_usd = k.reserved_usd + " USD ","
	" k.images = k.images + 1"
	" WHERE k.key_id = ? AND k.day = UTC_DATE()"
	" AND (c.daily_images IS NULL OR k.images + 1 <= c.daily_images)"
	" AND (c.daily_usd IS NULL"
	" OR k.spent_usd + k.reserved_usd + " USD " <= c.daily_usd)",
	[ST_KEY_RELEASE] =
	"UPDATE key_days SET reserved_usd = GREATEST(reserved_usd - ?, 0),"
	" images = GREATEST(CAST(images AS SIGNED) - 1, 0)"
	" WHERE key_id = ? AND day = UTC_DATE()",
	/* The reservation a row holds, read inside a transaction. */
	[ST_SETTLE_READ] =
	"SELECT reserved_usd, budget_day, COALESCE(client_key, '')"
	" FROM generation_status"
	" WHERE prompt_hash = ? AND reserved_usd IS NOT NULL FOR UPDATE",
	[ST_SETTLE_TAKE] =
	"UPDATE generation_status SET reserved_usd = NULL"
	" WHERE prompt_hash = ?",
	[ST_BUDGET_SETTLE] =
	"UPDATE budget_days SET reserved_usd = GREATEST(reserved_usd - ?, 0),"
	" spent_usd = spent_usd + ? WHERE day = ?",
	[ST_KEY_SETTLE] =
	"UPDATE key_days SET reserved_usd = GREATEST(reserved_usd - ?, 0),"
	" spent_usd = spent_usd + ? WHERE key_id = ? AND day = ?",
	[ST_BUDGET_TODAY] =
	"SELECT COALESCE(MAX(reserved_usd), 0), COALESCE(MAX(spent_usd), 0)"
	" FROM budget_days WHERE day = UTC_DATE()",
	/* A key's quotas and what today used of them (-1: no quota). */
	[ST_KEY_TODAY] =
	"SELECT COALESCE(c.daily_images, -1), COALESCE(c.daily_usd, -1),"
	" COALESCE(k.images, 0), COALESCE(k.spent_usd + k.reserved_usd, 0)"
	" FROM client_keys c LEFT JOIN key_days k ON k.key_id = c.id"
	" AND k.day = UTC_DATE() WHERE c.id = ?",
	[ST_KEY_USED] =
	"UPDATE client_keys SET last_used_at = NOW(3) WHERE id = ?",
	/*
	 * A new row, still pending (held: no worker took it), completed
	 * from the image cache; an alias only for a request without
	 * exact=1 (the last ?: 1 for an exact request).
	 */
	[ST_FROM_CACHE] =
	"UPDATE generation_status g JOIN image_cache c"
	" ON c.prompt_hash = g.prompt_hash"
	" SET g.status = 'completed', g.generated_url = c.generated_url,"
	" g.file_name = c.file_name, g.file_size = c.file_size,"
	" g.content_type = c.content_type, g.image_width = c.image_width,"
	" g.image_height = c.image_height, g.similar_to = c.similar_to,"
	" g.started_at = NOW(3), g.completed_at = NOW(3), g.lease_until = NULL,"
	" g.cache_hits = g.cache_hits + 1"
	" WHERE g.prompt_hash = ? AND g.status = 'pending'"
	" AND (c.similar_to IS NULL OR ? = 0)",
	/*
	 * A generation's end, recorded by whoever has it first (a worker
	 * whose lease ran out may still finish its job): its claim's token
	 * goes to finish_token, so that a record whose answer was lost is
	 * known as its own. The job fal took for it is then used up.
	 */
	[ST_COMPLETE] =
	"UPDATE generation_status SET status = 'completed',"
	" generated_url = ?, file_name = NULLIF(?, ''), file_size = ?,"
	" content_type = ?, image_width = ?, image_height = ?,"
	" upstream_request_id = COALESCE(NULLIF(?, ''), upstream_request_id),"
	" upstream_ms = ?, inference_ms = ?, queue_ms = ?, error_kind = NULL,"
	" error_message = NULL, completed_at = NOW(3), lease_until = NULL,"
	" finish_token = ?,"
	" call_state = IF(call_state = 'taken', 'done', call_state)"
	" WHERE prompt_hash = ? AND status IN ('pending', 'generating')",
	[ST_CACHE_PUT] =
	"INSERT INTO image_cache (prompt_hash, prompt, dimensions, format,"
	" seed, model, generated_url, file_name, file_size, content_type,"
	" image_width, image_height, created_at, similar_to)"
	" SELECT prompt_hash, prompt, dimensions, format, seed, model,"
	" generated_url, file_name, file_size, content_type, image_width,"
	" image_height, completed_at, similar_to FROM generation_status"
	" WHERE prompt_hash = ?"
	" ON DUPLICATE KEY UPDATE generated_url = generation_status.generated_url,"
	" file_name = generation_status.file_name,"
	" file_size = generation_status.file_size,"
	" content_type = generation_status.content_type,"
	" similar_to = generation_status.similar_to",
	[ST_FAIL] =
	"UPDATE generation_status SET status = 'failed', error_kind = ?,"
	" error_message = ?, completed_at = NOW(3), lease_until = NULL,"
	" finish_token = ?, retryable = ?,"
	" next_attempt_at = NOW(3) + INTERVAL LEAST(? << LEAST(attempts - 1, 20),"
	" ?) MICROSECOND"
	" WHERE prompt_hash = ? AND status IN ('pending', 'generating')"
	" AND lease_token <=> ?",
	/*
	 * Queue a job again, at the back of its class: a failed one whose
	 * backoff is over, or (the last ?: 1, an exact=1 request) an alias
	 * whose own image was never made.
	 */
	[ST_REQUEUE] =
	"UPDATE generation_status SET status = 'pending', queue_class = ?,"
	" reserved_usd = ?, budget_day = IF(? IS NULL, NULL, UTC_DATE()),"
	" elect_id = ?, queued_at = NOW(3), owner_host = NULL,"
	" lease_until = NULL, lease_token = NULL, started_at = NULL,"
	" completed_at = NULL, similar_to = NULL, similar_score = NULL,"
	" generated_url = NULL, file_name = NULL, file_size = NULL"
	" WHERE prompt_hash = ? AND ((status = 'failed' AND retryable = 1"
	" AND next_attempt_at <= NOW(3)) OR (status = 'completed'"
	" AND similar_to IS NOT NULL AND ? = 1))",
	/* Who last elected the row, and which claim recorded its end. */
	[ST_WHO] =
	"SELECT COALESCE(elect_id, 0), COALESCE(finish_token, 0)"
	" FROM generation_status WHERE prompt_hash = ?",
	/*
	 * The call ledger (sql/013_paid_calls.sql, dbcalls.c): the row's
	 * current paid call, read as it is and, inside a transaction,
	 * locked.
	 */
	[ST_CALL_GET] = CALL_COLS,
	[ST_CALL_LOCK] = CALL_COLS " FOR UPDATE",
	/*
	 * A call goes out: counted at once (a worker killed before its
	 * answer still shows it), holding the reservation given (the
	 * row's, or one made for it: then the day is today's).
	 */
	[ST_CALL_BEGIN] =
	"UPDATE generation_status SET call_id = ?, call_state = 'sending',"
	" call_sent_at = NOW(3), call_closer = NULL, call_reserved_usd = ?,"
	" reserved_usd = NULL, budget_day = IF(? = 1, UTC_DATE(), budget_day),"
	" api_calls_made = api_calls_made + 1, upstream_status_url = NULL,"
	" upstream_response_url = NULL, upstream_cancel_url = NULL,"
	" upstream_image_url = NULL WHERE prompt_hash = ?",
	/*
	 * What became of the call: its state and who said so; a call that
	 * never went out is uncounted; what fal may bill is added to the
	 * row's cost; a reservation the call did not spend goes back to the
	 * row (NULL: keep the row's); fal's job, when it took one.
	 */
	[ST_CALL_END] =
	"UPDATE generation_status SET call_state = ?, call_closer = ?,"
	" api_calls_made = GREATEST(CAST(api_calls_made AS SIGNED) - ?, 0),"
	" cost_usd = cost_usd + ?, reserved_usd = COALESCE(?, reserved_usd),"
	" call_reserved_usd = NULL,"
	" upstream_request_id = COALESCE(NULLIF(?, ''), upstream_request_id),"
	" upstream_status_url = NULLIF(?, ''),"
	" upstream_response_url = NULLIF(?, ''),"
	" upstream_cancel_url = NULLIF(?, ''),"
	" upstream_image_url = NULLIF(?, '')"
	" WHERE prompt_hash = ? AND call_id = ?",
	/*
	 * fal answered the job's result with a failure it does not bill (a
	 * 5xx): its charge is taken back, and the job is gone.
	 */
	[ST_CALL_REFUND] =
	"UPDATE generation_status SET call_state = 'gone', call_closer = ?,"
	" cost_usd = GREATEST(cost_usd - ?, 0)"
	" WHERE prompt_hash = ? AND call_id = ?",
	/* fal no longer holds the job it took: a retry sends a new one. */
	[ST_CALL_GONE] =
	"UPDATE generation_status SET call_state = 'gone'"
	" WHERE prompt_hash = ? AND call_id = ? AND call_state = 'taken'",
	/*
	 * A flush (of hit counts, of the hourly rollup) is added once: its
	 * batch id is recorded.
	 */
	[ST_FLUSH_MARK] =
	"INSERT INTO count_flushes (id) VALUES (?)",
	/*
	 * Hits on an image answered from memory; a row that a cleanup
	 * removed meanwhile comes back, completed, from what they were
	 * answered with.
	 */
	[ST_ADD_REQUESTS] =
	"INSERT INTO generation_status (id, prompt_hash, prompt, dimensions,"
	" width, height, format, seed, model, status, generated_url, file_name,"
	" file_size, content_type, image_width, image_height, total_requests,"
	" cache_hits, created_at, started_at, completed_at)"
	" VALUES (UUID(), ?, ?, ?, ?, ?, ?, ?, ?, 'completed', ?, NULLIF(?, ''),"
	" ?, ?, ?, ?, ?, ?, NOW(3), NOW(3), NOW(3))"
	" ON DUPLICATE KEY UPDATE total_requests = total_requests + ?,"
	" cache_hits = cache_hits + ?",
	/* Batch ids are kept a day: far longer than any flush is retried. */
	[ST_FLUSH_PRUNE] =
	"DELETE FROM count_flushes WHERE applied_at < NOW(3) - INTERVAL 1 DAY"
	" LIMIT 10000",
	[ST_STATS] = "CALL get_generation_stats()",
	/* The start-up checks (dbcheck.c). */
	[ST_READ_ONLY] =
	"SELECT @@global.read_only, @@global.innodb_read_only",
	[ST_SCHEMA_TABLE] =
	"SELECT COUNT(*) FROM information_schema.tables"
	" WHERE table_schema = DATABASE() AND table_name = 'schema_version'",
	[ST_SCHEMA_HAS] =
	"SELECT COUNT(*) FROM schema_version WHERE version = ?",
	/* A repeatable migration at a version, or newer (NULL: no table). */
	[ST_ROUTINES_HAS] =
	"SELECT IF((SELECT COUNT(*) FROM information_schema.tables"
	" WHERE table_schema = DATABASE() AND table_name = 'schema_routines')"
	" = 0, 0, (SELECT COUNT(*) FROM schema_routines"
	" WHERE name = ? AND version >= ?))",
	/*
	 * Similar prompts (sql/010_similar.sql). The lookup: the images
	 * filed under any of the keys (a JSON array of 16 hex digits
	 * each), with their prompts to score; bounded by the LIMIT.
	 */
	[ST_SIMILAR_FIND] =
	"SELECT c.prompt_hash, c.prompt FROM JSON_TABLE(?, '$[*]'"
	" COLUMNS (k CHAR(16) PATH '$')) j"
	" JOIN similar_index s ON s.set_key = UNHEX(j.k)"
	" JOIN image_cache c ON c.prompt_hash = s.image_hash"
	" LIMIT ?",
	/*
	 * The held row becomes the alias of the image it got, counting
	 * everyone counted in it so far as a similar hit.
	 */
	[ST_SIMILAR_ALIAS] =
	"UPDATE generation_status g JOIN image_cache c ON c.prompt_hash = ?"
	" SET g.status = 'completed', g.generated_url = c.generated_url,"
	" g.file_name = c.file_name, g.file_size = c.file_size,"
	" g.content_type = c.content_type, g.image_width = c.image_width,"
	" g.image_height = c.image_height, g.similar_to = c.prompt_hash,"
	" g.similar_score = ?, g.similar_hits = g.total_requests,"
	" g.started_at = NOW(3), g.completed_at = NOW(3), g.lease_until = NULL"
	" WHERE g.prompt_hash = ? AND g.status = 'pending'",
	/* Not cached, no similar image: the held job goes to the queue. */
	[ST_HOLD_RELEASE] =
	"UPDATE generation_status SET lease_until = NULL"
	" WHERE prompt_hash = ? AND status = 'pending'",
	[ST_SIMILAR_PUT] =
	"INSERT IGNORE INTO similar_index (image_hash, set_key)"
	" VALUES (?, UNHEX(?))",
	/* The builder: a JSON array of [image hash, key] pairs. */
	[ST_SIMILAR_PUT_MANY] =
	"INSERT IGNORE INTO similar_index (image_hash, set_key)"
	" SELECT j.h, UNHEX(j.k) FROM JSON_TABLE(?, '$[*]' COLUMNS"
	" (h CHAR(64) PATH '$[0]', k CHAR(16) PATH '$[1]')) j",
	/* ... and the images it reads, a page at a time: no aliases. */
	[ST_SIMILAR_PAGE] =
	"SELECT prompt_hash, prompt, dimensions, format, COALESCE(seed, -1),"
	" model FROM image_cache WHERE prompt_hash > ? AND similar_to IS NULL"
	" ORDER BY prompt_hash LIMIT ?",
	[ST_SIMILAR_STATS] =
	"SELECT COALESCE(SUM(IF(created_at >= UTC_DATE(), similar_hits, 0)), 0),"
	" COALESCE(SUM(similar_hits), 0) + (SELECT COALESCE(SUM(similar_hits),"
	" 0) FROM generation_stats_archive) FROM generation_status",
	/* sql/006_warm.sql: warm-ups, apart from players' requests. */
	[ST_WARM_STATS] =
	"SELECT period, warm_requests, warmed_images FROM generation_warm",
	[ST_COST] =
	"SELECT COALESCE(cost_usd, 0) FROM generation_status"
	" WHERE prompt_hash = ?",
	/*
	 * The rollup (sql/009_rollup.sql): one row per hour, added to by
	 * each process's flush. Money in whole micro-dollars times 1e-6,
	 * so DECIMAL arithmetic keeps it exact.
	 */
	[ST_ROLLUP_ADD] =
	"INSERT INTO generation_rollup (hour, requests, cache_hits, paid_calls,"
	" generations, failures, spent_usd, would_usd)"
	" VALUES (FROM_UNIXTIME(?), ?, ?, ?, ?, ?,"
	" CAST(? AS DECIMAL(26,0)) * 0.000001, ROUND(CAST(? AS DECIMAL(26,0))"
	" * CAST(? AS DECIMAL(20,9)) * 0.000001, 6))"
	" ON DUPLICATE KEY UPDATE requests = requests + VALUES(requests),"
	" cache_hits = cache_hits + VALUES(cache_hits),"
	" paid_calls = paid_calls + VALUES(paid_calls),"
	" generations = generations + VALUES(generations),"
	" failures = failures + VALUES(failures),"
	" spent_usd = spent_usd + VALUES(spent_usd),"
	" would_usd = would_usd + VALUES(would_usd)",
	[ST_ROLLUP_MS] =
	"INSERT INTO generation_rollup_ms (hour, le_ms, n)"
	" VALUES (FROM_UNIXTIME(?), ?, ?) ON DUPLICATE KEY UPDATE n = n + ?",
	[ST_ROLLUP_FAIL] =
	"INSERT INTO generation_rollup_failures (hour, kind, failures)"
	" VALUES (FROM_UNIXTIME(?), ?, ?)"
	" ON DUPLICATE KEY UPDATE failures = failures + ?",
	/* A window of the rollup, in slots of ? seconds (an hour, a day). */
	[ST_HISTORY] =
	"SELECT UNIX_TIMESTAMP(hour) DIV ? * ? AS t,"
	" CAST(SUM(requests) AS UNSIGNED), CAST(SUM(cache_hits) AS UNSIGNED),"
	" CAST(SUM(paid_calls) AS UNSIGNED), CAST(SUM(generations) AS UNSIGNED),"
	" CAST(SUM(failures) AS UNSIGNED), CAST(SUM(spent_usd) AS CHAR),"
	" CAST(SUM(would_usd) - SUM(spent_usd) AS CHAR)"
	" FROM generation_rollup WHERE hour >= FROM_UNIXTIME(?)"
	" GROUP BY t ORDER BY t",
	[ST_HISTORY_MS] =
	"SELECT UNIX_TIMESTAMP(hour) DIV ? * ? AS t, le_ms,"
	" CAST(SUM(n) AS UNSIGNED) FROM generation_rollup_ms"
	" WHERE hour >= FROM_UNIXTIME(?) GROUP BY t, le_ms ORDER BY t, le_ms",
	[ST_FAIL_KINDS] =
	"SELECT kind, CAST(SUM(failures) AS UNSIGNED) AS n"
	" FROM generation_rollup_failures WHERE hour >= FROM_UNIXTIME(?)"
	" GROUP BY kind ORDER BY n DESC, kind",
	/* The seed's query, read from the end of ix_generation_requests. */
	[ST_TOP_PROMPTS] =
	"SELECT prompt, dimensions, format, total_requests, api_calls_made,"
	" CAST(GREATEST(CAST(total_requests AS SIGNED)"
	" - CAST(api_calls_made AS SIGNED), 0) AS UNSIGNED), status,"
	" COALESCE(generated_url, '') FROM generation_status"
	" ORDER BY total_requests DESC, created_at DESC LIMIT ?",
	/* Each half reads one end of an index, as ST_NEXT_JOB does. */
	[ST_IN_FLIGHT] =
	"(SELECT prompt, dimensions, status, queue_class,"
	" ROUND(TIMESTAMPDIFF(MICROSECOND, started_at, NOW(3)) / 1000)"
	" FROM generation_status WHERE status = 'generating'"
	" ORDER BY started_at LIMIT ?)"
	" UNION ALL"
	" (SELECT prompt, dimensions, status, queue_class,"
	" ROUND(TIMESTAMPDIFF(MICROSECOND, queued_at, NOW(3)) / 1000)"
	" FROM generation_status WHERE status = 'pending'"
	" ORDER BY queue_class, queued_at LIMIT ?)",
};
