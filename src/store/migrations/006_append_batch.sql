-- Group commit: many independent append calls in one round trip and one transaction. Each call keeps its
-- own expected-version checks and gets its own result; a call that conflicts writes nothing and does not
-- fail the others. Input and output are jsonb documents:
--   calls:  [{ "requests": [{ "stream_id", "category", "expected", "events": [{ "event_id", "type",
--             "schema_version", "data", "metadata", "subject_id" }] }] }]
--   result: [{ "status": "ok" | "replay" | "conflict" | "id_reused", "stream_id"?, "expected"?, "actual"?,
--             "events": [{ "position", "event_id", "stream_id", "version", "type", "schema_version", "data",
--             "metadata", "occurred_at" }] }]
create function eventline_append_batch(calls jsonb) returns jsonb
language plpgsql as $$
declare
  call jsonb;
  req jsonb;
  results jsonb := '[]'::jsonb;
  ids uuid[];
  found_count int;
  same_stream_count int;
  actual bigint;
  expected text;
  failed jsonb;
  written jsonb;
  replayed jsonb;
  n int;
begin
  -- Lock every existing stream of the batch in one sorted pass, so two batches never deadlock.
  perform 1 from streams
  where stream_id in (select distinct r->>'stream_id' from jsonb_array_elements(calls) c, jsonb_array_elements(c->'requests') r)
  order by stream_id for update;

  for call in select * from jsonb_array_elements(calls) loop
    failed := null;
    replayed := '[]'::jsonb;

    -- Idempotency by event id: stored ids make the call a replay (or an id reused for something else).
    select array_agg((e->>'event_id')::uuid) into ids
    from jsonb_array_elements(call->'requests') r, jsonb_array_elements(r->'events') e;
    select count(*), count(*) filter (where ev.stream_id = (
             select r->>'stream_id' from jsonb_array_elements(call->'requests') r, jsonb_array_elements(r->'events') e
             where (e->>'event_id')::uuid = ev.event_id limit 1))
      into found_count, same_stream_count
    from events ev where ev.event_id = any(ids);
    if found_count > 0 then
      if found_count = cardinality(ids) and same_stream_count = found_count then
        select coalesce(jsonb_agg(to_jsonb(ev) - 'transaction_id' - 'category' - 'subject_id' order by ev.position), '[]')
          into replayed from events ev where ev.event_id = any(ids);
        results := results || jsonb_build_array(jsonb_build_object('status', 'replay', 'events', replayed));
      else
        results := results || jsonb_build_array(jsonb_build_object('status', 'id_reused'));
      end if;
      continue;
    end if;

    -- Every expected version of the call is checked before anything of it is written.
    for req in select * from jsonb_array_elements(call->'requests') loop
      select coalesce((select version from streams where stream_id = req->>'stream_id'), 0) into actual;
      expected := req->>'expected';
      if not (expected = 'any'
              or (expected = 'no_stream' and actual = 0)
              or (expected = 'stream_exists' and actual > 0)
              or (expected ~ '^\d+$' and expected::bigint = actual)) then
        failed := jsonb_build_object('status', 'conflict', 'stream_id', req->>'stream_id', 'expected', expected, 'actual', actual);
        exit;
      end if;
    end loop;
    if failed is not null then
      results := results || jsonb_build_array(failed);
      continue;
    end if;

    written := '[]'::jsonb;
    for req in select * from jsonb_array_elements(call->'requests') loop
      n := jsonb_array_length(req->'events');
      insert into streams (stream_id, version) values (req->>'stream_id', n)
      on conflict (stream_id) do update set version = streams.version + n
      returning version - n into actual;
      with inserted as (
        insert into events (event_id, stream_id, category, version, type, schema_version, data, metadata, subject_id)
        select (e->>'event_id')::uuid, req->>'stream_id', req->>'category', actual + ord, e->>'type',
               (e->>'schema_version')::int, e->'data', e->'metadata', e->>'subject_id'
        from jsonb_array_elements(req->'events') with ordinality as t(e, ord)
        order by ord
        returning *
      ), queued as (
        insert into outbox (position, event_id, stream_id, version, stream_hash)
        select position, event_id, stream_id, version, hashtext(stream_id) from inserted
      )
      select written || coalesce(jsonb_agg(to_jsonb(i) - 'transaction_id' - 'category' - 'subject_id' order by i.position), '[]')
        into written from inserted i;
    end loop;
    results := results || jsonb_build_array(jsonb_build_object('status', 'ok', 'events', written));
  end loop;
  return results;
end;
$$;
