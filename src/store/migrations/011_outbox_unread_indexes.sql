-- Every append writes an outbox row, and every index on the outbox is one more entry to insert (and later
-- to clean up after the relay deletes the row). Two of them no query reads any more:
--  * outbox_stream_order (stream_hash, stream_id, version) served the first relay's claim; the claim now
--    walks the primary key in position order and filters partitions by an expression no index holds.
--  * outbox_stream_version (stream_id, version) served finding held-back streams, which 009's partial
--    index of failed rows now does; releasing a parked stream reads that partial index too (a parked row
--    has always failed at least once).
-- Measured on a fresh database, 2-core machine, migration 010's function called directly with batches of
-- 128 one-event appends, two in flight, 76.8k events a run, four runs each: with both indexes
-- 19.5-23.3k events/s, without them 23.8-33.5k.
drop index if exists outbox_stream_order;
drop index if exists outbox_stream_version;
