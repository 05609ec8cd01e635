-- eventline's schema in its final form. Later changes are numbered migrations after this one. Every
-- table, index and function is named eventline_…, so the schema can be shared with an app's own tables.

-- The event log. `position` orders events globally; `transaction_id` (xid8) lets readers of the whole log
-- avoid skipping events whose transaction commits after a later position became visible. A stream's
-- version is its newest event's.
create table eventline_events (
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
  constraint eventline_events_event_id_unique unique (event_id),
  constraint eventline_events_stream_version_unique unique (stream_id, version)
);

create index eventline_events_commit_order on eventline_events (transaction_id, position);
create index eventline_events_category_commit_order on eventline_events (category, transaction_id, position);
create index eventline_events_subject on eventline_events (subject_id) where subject_id is not null;

-- One row per event still to be published. No event data is copied here: the relay joins events, so the
-- outbox holds no personal data and stays narrow. Every index here is one more entry per append, so there
-- are only the two the relay and a release read, both partial and normally empty.
create table eventline_outbox (
  position bigint primary key,
  event_id uuid not null,
  stream_id text not null,
  version bigint not null,
  stream_hash int not null,
  attempts int not null default 0,
  next_attempt_at timestamptz not null default now(),
  last_error text,
  -- a stream whose head row keeps failing is parked: its later rows wait until an operator releases it
  parked_at timestamptz,
  created_at timestamptz not null default now()
);

create index eventline_outbox_parked on eventline_outbox (stream_id) where parked_at is not null;
-- Rows that failed at least once: what holds a stream back behind a backoff or a park.
create index eventline_outbox_retrying on eventline_outbox (stream_id, version) where attempts > 0;

create table eventline_snapshots (
  stream_id text primary key,
  version bigint not null,
  schema_version int not null,
  state jsonb not null,
  created_at timestamptz not null default now()
);

-- Crypto-shredding: deleting a subject's key makes its sealed fields unreadable everywhere at once. A
-- forgotten subject keeps its row without a key, so no key is ever made for it again.
create table eventline_subject_keys (
  subject_id text primary key,
  key bytea,
  forgotten_at timestamptz,
  created_at timestamptz not null default now()
);

-- Responses to commands sent with an Idempotency-Key, written in the same transaction as their events.
create table eventline_idempotency_keys (
  key text primary key,
  fingerprint text not null,
  status int not null,
  body jsonb not null,
  created_at timestamptz not null default now()
);

-- Consumers' bookkeeping lives beside their read models, so both commit in one transaction.

-- Which events a consumer has applied: a redelivered message is recognised and skipped.
create table eventline_inbox (
  consumer text not null,
  event_id uuid not null,
  stream_id text not null,
  version bigint not null,
  position bigint not null,
  applied_at timestamptz not null default now(),
  primary key (consumer, event_id)
);
create index eventline_inbox_applied_at on eventline_inbox (applied_at);

-- The last version applied per stream: older versions are duplicates, a jump means a gap to fill. It
-- outlives inbox retention, so late duplicates are still recognised.
create table eventline_consumer_streams (
  consumer text not null,
  stream_id text not null,
  version bigint not null,
  primary key (consumer, stream_id)
);

-- Where the consumer's sweep of the whole log has got to: every event up to here is applied.
create table eventline_consumer_checkpoints (
  consumer text primary key,
  transaction_id xid8 not null default '0',
  position bigint not null default 0,
  updated_at timestamptz not null default now()
);

-- Saga instances: where each one is, what it has done, and when it may run next.
create table eventline_saga_instances (
  saga_id text primary key,
  saga_type text not null,
  status text not null default 'running'
    check (status in ('running', 'completed', 'compensating', 'compensated', 'needs_attention')),
  data jsonb not null,
  current_step int not null default 0,
  completed_steps jsonb not null default '[]',
  -- steps still to compensate, last completed first
  compensation_queue jsonb not null default '[]',
  attempts int not null default 0,
  next_attempt_at timestamptz not null default now(),
  -- a worker's claim on the instance; a crashed worker's lease simply runs out
  lease_token uuid,
  lease_until timestamptz,
  last_error text,
  failure text,
  history jsonb not null default '[]',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create index eventline_saga_instances_due on eventline_saga_instances (next_attempt_at) where status in ('running', 'compensating');
create index eventline_saga_instances_status on eventline_saga_instances (status);

-- The expected-version rule, once: any, no_stream (version 0), stream_exists (above 0), or an exact
-- version. Both write paths ask it; the TypeScript rule of the in-memory store is held to it by the
-- contract tests.
create function eventline_expected_version_holds(expected text, actual bigint) returns boolean
language sql immutable as $$
  select expected = 'any'
      or (expected = 'no_stream' and actual = 0)
      or (expected = 'stream_exists' and actual > 0)
      or (expected ~ '^\d+$' and expected::bigint = actual)
$$;

-- The current version of each of these streams, 0 for one with no events. It takes them all at once: a
-- batch then starts one plan for its streams' index lookups instead of a function call per stream.
create function eventline_stream_versions(stream_ids text[]) returns table (stream_id text, version bigint)
language sql stable as $$
  select s, coalesce((select e.version from eventline_events e where e.stream_id = s order by e.version desc limit 1), 0)
  from unnest(stream_ids) as s
$$;

-- Both write paths call this once, before reading any version, with every stream they write: the locks
-- are taken in one order, so two writers cannot deadlock, and they last until the transaction ends. The
-- key is a hash of the stream id (a collision only makes two streams queue together) in a class of the
-- events table's own, the one this search_path writes to. Every lock is an entry of Postgres's shared
-- lock table, so an append naming more streams than four times max_locks_per_transaction locks out the
-- log's other writers instead, for its own transaction. A version read under repeatable read would come
-- from a snapshot taken before the lock, so other isolation levels are refused.
create function eventline_lock_streams(stream_ids text[]) returns void
language plpgsql as $$
begin
  if current_setting('transaction_isolation') <> 'read committed' then
    raise exception 'eventline appends run at read committed, not %', current_setting('transaction_isolation')
      using errcode = '0A000',
            hint = 'set default_transaction_isolation to ''read committed'' for the role or database eventline uses';
  end if;
  if (select count(distinct s) from unnest(stream_ids) s) > 4 * current_setting('max_locks_per_transaction')::int then
    lock table eventline_events in share row exclusive mode;
  else
    -- Taken before the streams' locks, so a writer of the whole log waits for this one to finish.
    lock table eventline_events in row exclusive mode;
    perform pg_advisory_xact_lock('eventline_events'::regclass::oid::int, k)
    from (select distinct hashtext(s) as k from unnest(stream_ids) s order by 1) as keys;
  end if;
end
$$;

-- Group commit's batch: many calls' events in one statement, one element per event in each array (a call
-- names a stream once, an event id once). Each call keeps its own expected-version check: a call that
-- fails it writes nothing and is answered 'conflict'; the others are written. A stored event id (a
-- replay, or an id reused) fails the statement on eventline_events_event_id_unique and the caller takes
-- the calls down the general path; a replay whose expected version no longer holds never reaches the
-- insert, so such a batch answers one 'fallback' row and writes nothing. The versions are read after the
-- streams' locks are held, in a statement of their own, so they include every earlier writer's commit.
create function eventline_append_rows(
  call_nos int[], stream_ids text[], categories text[], expecteds text[], event_ids uuid[], types text[],
  schema_versions int[], datas text[], metadatas text[], subject_ids text[], channel text
) returns table (r_call int, r_status text, r_stream text, r_expected text, r_actual bigint, r_position bigint,
                 r_version bigint, r_at_ms float8)
language plpgsql as $$
declare
  -- A variable, not a sub-select in the call below: Postgres then inlines eventline_stream_versions into
  -- the plan instead of parsing and planning its body again on every batch.
  streams text[] := array(select distinct unnest(stream_ids));
begin
  perform eventline_lock_streams(streams);
  return query
  with input as (
    select t.*
    from unnest(call_nos, stream_ids, categories, expecteds, event_ids, types, schema_versions, datas, metadatas, subject_ids)
         with ordinality as t(call_no, stream_id, category, expected, event_id, type, schema_version, data, metadata, subject_id, n)
  ), current_versions as (
    select v.stream_id, v.version from eventline_stream_versions(streams) v
  ), checked as (
    select i.*, v.version as have, row_number() over (partition by i.stream_id order by i.n) as k
    from input i join current_versions v on v.stream_id = i.stream_id
  ), failed as (
    -- Per call, its first request whose expected version does not hold.
    select distinct on (c.call_no) c.call_no, c.stream_id, c.expected, c.have
    from checked c
    where not eventline_expected_version_holds(c.expected, c.have)
    order by c.call_no, c.n
  ), replayed as (
    select 1 as found from checked c join failed f on f.call_no = c.call_no join eventline_events e on e.event_id = c.event_id
    limit 1
  ), inserted as (
    insert into eventline_events (event_id, stream_id, category, version, type, schema_version, data, metadata, subject_id)
    select c.event_id, c.stream_id, c.category, c.have + c.k, c.type, c.schema_version, c.data::jsonb, c.metadata::jsonb,
           c.subject_id
    from checked c
    where c.call_no not in (select f.call_no from failed f) and not exists (select 1 from replayed)
    order by c.n
    returning eventline_events.position, eventline_events.event_id, eventline_events.stream_id, eventline_events.version, eventline_events.occurred_at
  ), queued as (
    insert into eventline_outbox (position, event_id, stream_id, version, stream_hash)
    select i.position, i.event_id, i.stream_id, i.version, hashtext(i.stream_id) from inserted i
  ), notified as (
    select pg_notify(channel, '') from (select 1 from inserted limit 1) as any_written
  )
  select null::int, 'fallback'::text, null::text, null::text, null::bigint, null::bigint, null::bigint, null::float8
  from replayed
  union all
  select f.call_no, 'conflict'::text, f.stream_id, f.expected, f.have, null::bigint, null::bigint, null::float8
  from failed f where not exists (select 1 from replayed)
  union all
  select c.call_no, 'ok'::text, null::text, null::text, null::bigint, i.position, i.version,
         extract(epoch from i.occurred_at)::float8 * 1000
  from checked c join inserted i on i.event_id = c.event_id cross join (select count(*) from notified) as sent
  order by 1 nulls first, 6 nulls first;
end
$$;

-- The tables grow faster than autovacuum analyses them in a fresh deployment, and with stale statistics
-- the planner scans a table end to end on every batch: the function keeps to its indexes.
alter function eventline_append_rows(int[], text[], text[], text[], uuid[], text[], int[], text[], text[], text[], text)
  set jit = off;
alter function eventline_append_rows(int[], text[], text[], text[], uuid[], text[], int[], text[], text[], text[], text)
  set enable_seqscan = off;
