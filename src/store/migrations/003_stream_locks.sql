-- A stream's version is its newest event's; concurrent writers of a stream queue on a transaction-scoped
-- lock of it instead of on a row of eventline_streams, which cost every event a heap row, an index entry
-- and two WAL records more.
drop table eventline_streams;

-- The current version of a stream, 0 when it has no events.
create function eventline_stream_version(stream text) returns bigint
language sql stable as $$
  select coalesce((select e.version from eventline_events e where e.stream_id = stream order by e.version desc limit 1), 0)
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
create or replace function eventline_append_rows(
  call_nos int[], stream_ids text[], categories text[], expecteds text[], event_ids uuid[], types text[],
  schema_versions int[], datas text[], metadatas text[], subject_ids text[], channel text
) returns table (r_call int, r_status text, r_stream text, r_expected text, r_actual bigint, r_position bigint,
                 r_version bigint, r_at_ms float8)
language plpgsql as $$
begin
  perform eventline_lock_streams(stream_ids);
  return query
  with input as (
    select t.*
    from unnest(call_nos, stream_ids, categories, expecteds, event_ids, types, schema_versions, datas, metadatas, subject_ids)
         with ordinality as t(call_no, stream_id, category, expected, event_id, type, schema_version, data, metadata, subject_id, n)
  ), locked as (
    select s.stream_id, eventline_stream_version(s.stream_id) as version
    from (select distinct u as stream_id from unnest(stream_ids) u) s
  ), checked as (
    select i.*, coalesce(l.version, 0) as have, row_number() over (partition by i.stream_id order by i.n) as k
    from input i left join locked l on l.stream_id = i.stream_id
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
