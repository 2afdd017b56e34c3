-- 004: payloads are stored as sent: json (the body's own text, checked to be JSON), not jsonb.
-- Parsing each ~6 KB body into jsonb's binary form was most of what storing an event cost PostgreSQL
-- (bench/payload-types.ts: 63.5 µs per event against 25.0 for json), and it rewrote the body: keys
-- reordered, duplicates dropped, whitespace gone, so the stored payload no longer matched the bytes
-- the signature was made over. The accept path still refuses what jsonb could not hold, so
-- payload::jsonb works on every row it took. Rows stored before keep jsonb's text of their payload.
-- The type change rewrites the table under an exclusive lock: writers wait for it (workers retry), so
-- on a large table run it when the queue may grow for that long.
alter table webhook_events alter column payload type json using payload::json;

-- A type change resets the column's compression: lz4 again, as in 003.
do $$
begin
  alter table webhook_events alter column payload set compression lz4;
exception when feature_not_supported or invalid_parameter_value then
  raise notice 'lz4 is not available here; payloads stay compressed with %', current_setting('default_toast_compression');
end $$;

-- What workers call now: the batch's heads as one jsonb array [{"r","k","o","s","t","b","l"}, ...] and
-- its bodies as one bytea, event i's body being l bytes from offset b. Same steps as 002: lock the keys
-- in sorted order, insert (a redelivered idempotency key writes nothing), apply what is ready.
-- ingest_events(jsonb, text, bigint) of 002 stays for workers of an earlier release during an upgrade.
create function ingest_events(p_heads jsonb, p_bodies bytea, p_batch_id text, p_first_seq bigint) returns integer
language plpgsql set search_path from current as $$
declare
  v_keys     text[];
  v_inserted integer;
begin
  with locked as (
    insert into ordering_keys as k (ordering_key, next_seq)
    select e->>'o', least(p_first_seq, min((e->>'s')::bigint))
      from jsonb_array_elements(p_heads) as e
     where e->>'o' is not null
     group by e->>'o'
     order by e->>'o'
    on conflict (ordering_key) do update set next_seq = k.next_seq
    returning k.ordering_key
  )
  select array_agg(ordering_key) into v_keys from locked;

  insert into webhook_events
    (idempotency_key, request_id, ordering_key, seq, payload, received_at, batch_id, applied_at)
  select x.e->>'k', x.e->>'r', x.e->>'o', (x.e->>'s')::bigint,
         convert_from(substring(p_bodies from (x.e->>'b')::integer + 1 for (x.e->>'l')::integer), 'UTF8')::json,
         (x.e->>'t')::timestamptz, p_batch_id,
         case when x.e->>'o' is null then now() end
    from jsonb_array_elements(p_heads) with ordinality as x(e, n)
   order by x.n
  on conflict (idempotency_key) do nothing;
  get diagnostics v_inserted = row_count;

  if v_keys is not null then
    perform apply_ready(v_keys);
  end if;
  return v_inserted;
end $$;

-- The synchronous design's batch (001) is 004's ingest_events over its arrays, so it stores payloads as
-- sent too and the steps of storing a batch are written once.
create or replace function ingest_batch(
  p_idempotency_keys text[],
  p_request_ids      text[],
  p_ordering_keys    text[],
  p_seqs             bigint[],
  p_payloads         text[],
  p_received_at      timestamptz[],
  p_batch_id         text,
  p_first_seq        bigint
) returns integer
language sql set search_path from current as $$
  with events as (
    select u.k, u.r, u.o, u.s, u.t, u.n, convert_to(u.p, 'UTF8') as body
      from unnest(p_idempotency_keys, p_request_ids, p_ordering_keys, p_seqs, p_payloads, p_received_at)
           with ordinality as u(k, r, o, s, p, t, n)
  ), placed as (
    select *, coalesce(sum(octet_length(body)) over (order by n rows between unbounded preceding and 1 preceding), 0) as b
      from events
  )
  select coalesce(ingest_events(
           jsonb_agg(jsonb_build_object('k', k, 'r', r, 'o', o, 's', s, 't', t, 'b', b, 'l', octet_length(body)) order by n),
           string_agg(body, ''::bytea order by n),
           p_batch_id, p_first_seq), 0)
    from placed
$$;
