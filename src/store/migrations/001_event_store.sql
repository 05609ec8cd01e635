-- The event log. position orders events globally; transaction_id (xid8) lets readers of the whole log
-- avoid skipping events whose transaction commits after a later position became visible.
create table streams (
  stream_id text primary key,
  version bigint not null check (version > 0)
);

create table events (
  position bigint generated always as identity primary key,
  transaction_id xid8 not null default pg_current_xact_id(),
  event_id uuid not null,
  stream_id text not null,
  category text not null,
  version bigint not null check (version > 0),
  type text not null,
  schema_version int not null default 1,
  data jsonb not null,
  metadata jsonb not null,
  -- whose personal data the event holds (sealed in data); lets forgetting a subject find its snapshots
  subject_id text,
  occurred_at timestamptz not null default clock_timestamp(),
  constraint events_event_id_unique unique (event_id),
  constraint events_stream_version_unique unique (stream_id, version)
);

create index events_commit_order on events (transaction_id, position);
create index events_category_commit_order on events (category, transaction_id, position);
create index events_subject on events (subject_id) where subject_id is not null;

-- One row per event still to be published. No event data is copied here: the relay joins events, so
-- the outbox holds no personal data and stays narrow.
create table outbox (
  position bigint primary key,
  event_id uuid not null,
  stream_id text not null,
  version bigint not null,
  stream_hash int not null,
  attempts int not null default 0,
  next_attempt_at timestamptz not null default now(),
  last_error text,
  created_at timestamptz not null default now()
);

create index outbox_stream_order on outbox (stream_hash, stream_id, version);

create table snapshots (
  stream_id text primary key,
  version bigint not null,
  schema_version int not null,
  state jsonb not null,
  created_at timestamptz not null default now()
);

-- Crypto-shredding: deleting a subject's key makes its sealed fields unreadable everywhere at once.
create table subject_keys (
  subject_id text primary key,
  key bytea not null,
  created_at timestamptz not null default now()
);
