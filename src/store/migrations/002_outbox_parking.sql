-- A stream whose head row keeps failing is parked: its later rows wait until an operator releases it.
alter table outbox add column parked_at timestamptz;
create index outbox_stream_version on outbox (stream_id, version);
create index outbox_parked on outbox (stream_id) where parked_at is not null;
