-- The group-commit function again, set-based: a fixed handful of statements per batch instead of about
-- ten per call. Decisions are made in memory (jsonb maps), then every accepted call is written by one
-- INSERT … SELECT for events, outbox rows and stream versions together. It also sends the outbox NOTIFY,
-- so a batch is a single statement (one round trip). Same input as 006; for "ok" calls the events are
-- answered compactly as [{ "p": position, "v": version, "t": occurred_at }] (the caller has the rest).
drop function eventline_append_batch(jsonb);

create function eventline_append_batch(calls jsonb, channel text) returns jsonb
language plpgsql as $$
declare
  versions jsonb;      -- stream id -> version, as the batch moves it
  stored jsonb;        -- event id -> stream id, for ids already stored (or written by an earlier call)
  repeated jsonb;      -- ids that more than one call of this batch carries (almost always none)
  accepted jsonb[] := '{}';   -- plpgsql arrays append in place; growing jsonb values would copy each time
  statuses jsonb[] := '{}';
  rows_by_id jsonb;
  results jsonb[] := '{}';
  call jsonb;
  req jsonb;
  ev jsonb;
  i int;
  found int;
  same int;
  total int;
  actual bigint;
  expected text;
  conflict jsonb;
  call_events jsonb[];
  shared_streams boolean;
  fast jsonb;
begin
  -- Serialise with other batches on every stream of this one, new streams included (a row lock cannot
  -- cover a row that does not exist yet), in sorted order so two batches never deadlock.
  perform pg_advisory_xact_lock(hashtext('eventline.stream.' || s))
  from (select distinct r->>'stream_id' as s from jsonb_array_elements(calls) c, jsonb_array_elements(c->'requests') r order by 1) streams_of_batch;

  -- Then lock the existing stream rows (against the one-transaction append path) and read their versions.
  select coalesce(jsonb_object_agg(stream_id, version), '{}'::jsonb) into versions from (
    select stream_id, version from streams
    -- = any(array(...)) keeps these lookups on the index; `in (select ...)` lets the planner scan the table.
    where stream_id = any(array(select r->>'stream_id' from jsonb_array_elements(calls) c, jsonb_array_elements(c->'requests') r))
    order by stream_id for update) locked;

  select coalesce(jsonb_object_agg(event_id::text, stream_id), '{}'::jsonb) into stored from events
  where event_id = any(array(
    select (e->>'event_id')::uuid from jsonb_array_elements(calls) c, jsonb_array_elements(c->'requests') r, jsonb_array_elements(r->'events') e));

  select coalesce(jsonb_object_agg(id, true), '{}'::jsonb) into repeated from (
    select e->>'event_id' as id
    from jsonb_array_elements(calls) with ordinality as c(cl, n), jsonb_array_elements(cl->'requests') r, jsonb_array_elements(r->'events') e
    group by 1 having count(distinct n) > 1) d;

  select count(*) <> count(distinct r->>'stream_id') into shared_streams
  from jsonb_array_elements(calls) c, jsonb_array_elements(c->'requests') r;

  -- The common case, all in one statement: no call replays, no stream is in two calls, so every call's
  -- verdict depends on the stored versions alone.
  if not shared_streams and stored = '{}'::jsonb and repeated = '{}'::jsonb then
    with reqs as (
      select (c.n - 1)::int as call_index, r.ord as req_ord, r.r->>'stream_id' as stream_id, r.r->>'category' as category,
             r.r->>'expected' as want, r.r->'events' as events, coalesce((versions->>(r.r->>'stream_id'))::bigint, 0) as have
      from jsonb_array_elements(calls) with ordinality as c(cl, n), jsonb_array_elements(c.cl->'requests') with ordinality as r(r, ord)
    ), checked as (
      select *, not (want = 'any'
                     or (want = 'no_stream' and have = 0)
                     or (want = 'stream_exists' and have > 0)
                     or (want ~ '^\d+$' and want::bigint = have)) as bad
      from reqs
    ), verdicts as (
      select call_index, bool_or(bad) as conflicted,
             (array_agg(jsonb_build_object('status', 'conflict', 'stream_id', stream_id, 'expected', want, 'actual', have)
                        order by req_ord) filter (where bad))[1] as conflict
      from checked group by call_index
    ), flat as (
      select ch.call_index, ch.req_ord, t.ord as ev_ord, ch.stream_id, ch.category, ch.have + t.ord as version, t.e
      from checked ch join verdicts v on v.call_index = ch.call_index and not v.conflicted,
           jsonb_array_elements(ch.events) with ordinality as t(e, ord)
    ), inserted as (
      insert into events (event_id, stream_id, category, version, type, schema_version, data, metadata, subject_id)
      select (e->>'event_id')::uuid, stream_id, category, version, e->>'type', (e->>'schema_version')::int, e->'data', e->'metadata',
             e->>'subject_id'
      from flat order by call_index, req_ord, ev_ord
      returning *
    ), queued as (
      insert into outbox (position, event_id, stream_id, version, stream_hash)
      select position, event_id, stream_id, version, hashtext(stream_id) from inserted
    ), moved as (
      insert into streams (stream_id, version)
      select stream_id, max(version) from flat group by stream_id
      on conflict (stream_id) do update set version = excluded.version
    ), per_call as (
      select f.call_index, jsonb_agg(jsonb_build_object('p', ins.position, 'v', ins.version, 't', ins.occurred_at) order by f.req_ord, f.ev_ord) as events
      from flat f join inserted ins on ins.event_id = (f.e->>'event_id')::uuid
      group by f.call_index
    )
    select jsonb_agg(case when v.conflicted then v.conflict else jsonb_build_object('status', 'ok', 'events', pc.events) end
                     order by v.call_index)
      into fast
    from verdicts v left join per_call pc on pc.call_index = v.call_index;
    if exists (select 1 from jsonb_array_elements(fast) x where x->>'status' = 'ok') then perform pg_notify(channel, ''); end if;
    return fast;
  end if;

  -- Otherwise call by call, in order: a later call sees what an earlier one of the batch wrote.
  for i in 0 .. jsonb_array_length(calls) - 1 loop
    call := calls->i;
    found := 0; same := 0; total := 0; conflict := null;
    for req in select * from jsonb_array_elements(call->'requests') loop
      for ev in select * from jsonb_array_elements(req->'events') loop
        total := total + 1;
        if stored ? (ev->>'event_id') then
          found := found + 1;
          if stored->>(ev->>'event_id') = req->>'stream_id' then same := same + 1; end if;
        end if;
      end loop;
    end loop;
    if found > 0 then
      statuses := statuses || to_jsonb(case when found = total and same = found then 'replay' else 'id_reused' end);
      continue;
    end if;

    -- Every expected version of the call holds, or nothing of it is written.
    for req in select * from jsonb_array_elements(call->'requests') loop
      actual := coalesce((versions->>(req->>'stream_id'))::bigint, 0);
      expected := req->>'expected';
      if not (expected = 'any'
              or (expected = 'no_stream' and actual = 0)
              or (expected = 'stream_exists' and actual > 0)
              or (expected ~ '^\d+$' and expected::bigint = actual)) then
        conflict := jsonb_build_object('status', 'conflict', 'stream_id', req->>'stream_id', 'expected', expected, 'actual', actual);
        exit;
      end if;
    end loop;
    if conflict is not null then
      statuses := statuses || conflict;
      continue;
    end if;

    for req in select * from jsonb_array_elements(call->'requests') loop
      actual := coalesce((versions->>(req->>'stream_id'))::bigint, 0);
      accepted := accepted || jsonb_build_object(
        'call', i, 'stream_id', req->>'stream_id', 'category', req->>'category', 'base', actual, 'events', req->'events');
      versions := versions || jsonb_build_object(req->>'stream_id', actual + jsonb_array_length(req->'events'));
      if repeated <> '{}'::jsonb then
        for ev in select * from jsonb_array_elements(req->'events') loop
          if repeated ? (ev->>'event_id') then stored := stored || jsonb_build_object(ev->>'event_id', req->>'stream_id'); end if;
        end loop;
      end if;
    end loop;
    statuses := statuses || '"ok"'::jsonb;
  end loop;

  -- One statement writes every accepted call: events (positions in call order), outbox rows, versions.
  with flat as (
    select (a->>'call')::int as call_index, a->>'stream_id' as stream_id, a->>'category' as category,
           (a->>'base')::bigint + t.ord as version, t.e, row_number() over () as seq
    from unnest(accepted) with ordinality as x(a, aord),
         jsonb_array_elements(a->'events') with ordinality as t(e, ord)
  ), inserted as (
    insert into events (event_id, stream_id, category, version, type, schema_version, data, metadata, subject_id)
    select (e->>'event_id')::uuid, stream_id, category, version, e->>'type', (e->>'schema_version')::int, e->'data', e->'metadata',
           e->>'subject_id'
    from flat order by seq
    returning *
  ), queued as (
    insert into outbox (position, event_id, stream_id, version, stream_hash)
    select position, event_id, stream_id, version, hashtext(stream_id) from inserted
  ), moved as (
    insert into streams (stream_id, version)
    select stream_id, max(version) from flat group by stream_id
    on conflict (stream_id) do update set version = excluded.version
  )
  select coalesce(jsonb_object_agg(event_id::text, jsonb_build_object('p', position, 'v', version, 't', occurred_at)), '{}'::jsonb)
    into rows_by_id from inserted;
  if cardinality(accepted) > 0 then perform pg_notify(channel, ''); end if;

  -- Replays answer with the rows stored earlier (possibly by an earlier call of this very batch).
  if '"replay"'::jsonb = any(statuses) then
    select rows_by_id || coalesce(jsonb_object_agg(event_id::text, to_jsonb(ev_row) - 'transaction_id' - 'category' - 'subject_id'), '{}'::jsonb)
      into rows_by_id
    from events ev_row
    where event_id = any(array(
      select (e->>'event_id')::uuid
      from jsonb_array_elements(calls) with ordinality as c(cl, n), jsonb_array_elements(cl->'requests') r, jsonb_array_elements(r->'events') e
      where statuses[n::int] = '"replay"'::jsonb))
      and not (rows_by_id ? event_id::text);
  end if;

  for i in 0 .. jsonb_array_length(calls) - 1 loop
    if jsonb_typeof(statuses[i + 1]) = 'object' then
      results := results || statuses[i + 1];
    elsif statuses[i + 1] = '"id_reused"'::jsonb then
      results := results || jsonb_build_object('status', 'id_reused');
    else
      call_events := '{}';
      for req in select * from jsonb_array_elements(calls->i->'requests') loop
        for ev in select * from jsonb_array_elements(req->'events') loop
          call_events := call_events || (rows_by_id->(ev->>'event_id'));
        end loop;
      end loop;
      results := results || jsonb_build_object('status', statuses[i + 1] #>> '{}', 'events', to_jsonb(call_events));
    end if;
  end loop;
  return to_jsonb(results);
end;
$$;

-- Nested jsonb_array_elements make the planner guess millions of rows, which switches on JIT compilation
-- for every call: tens of milliseconds for a batch of one. The function's queries are small; no JIT.
alter function eventline_append_batch(jsonb, text) set jit = off;
