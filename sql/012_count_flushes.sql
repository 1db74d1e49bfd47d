-- promptpix: each flush of in-memory hit counts, by its batch id.
--
-- A responder adds the hits it answered from memory in batches, each in
-- one transaction that also records the batch's id here. When the
-- answer to that transaction is lost (the connection cut after the
-- commit), the responder sends the same batch again; finding its id
-- here, the database adds nothing, so no hit is counted twice. The
-- responders forget ids older than a day.
CREATE TABLE IF NOT EXISTS count_flushes (
  id         BIGINT UNSIGNED NOT NULL PRIMARY KEY,
  applied_at DATETIME(3)     NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  KEY count_flushes_applied (applied_at)
) ENGINE=InnoDB;
