-- Consumers' bookkeeping lives beside their read models, so both commit in one transaction.

-- Which events a consumer has applied: a redelivered message is recognised and skipped.
create table inbox (
  consumer text not null,
  event_id uuid not null,
  stream_id text not null,
  version bigint not null,
  position bigint not null,
  applied_at timestamptz not null default now(),
  primary key (consumer, event_id)
);
create index inbox_applied_at on inbox (applied_at);

-- The last version applied per stream: older versions are duplicates, a jump means a gap to fill.
-- It outlives inbox retention, so late duplicates are still recognised.
create table consumer_streams (
  consumer text not null,
  stream_id text not null,
  version bigint not null,
  primary key (consumer, stream_id)
);

-- Where the consumer's sweep of the whole log has got to: every event up to here is applied.
create table consumer_checkpoints (
  consumer text primary key,
  transaction_id xid8 not null default '0',
  position bigint not null default 0,
  updated_at timestamptz not null default now()
);
