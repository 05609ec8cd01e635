-- The relay holds back a stream behind any of its rows that is parked or waiting out a backoff. Such rows
-- have failed at least once, so this partial index holds only them (normally none) and finding them no
-- longer scans the outbox, which right after a backlog drained is mostly dead rows until autovacuum runs.
create index outbox_retrying on outbox (stream_id, version) where attempts > 0;
