-- 002: the batch as ONE jsonb array of events, [{"k","r","o","s","t","p"}, ...]. The worker builds it
-- by concatenating payloads the accept path already validated, so nothing is escaped into a text[]
-- literal and parsed back: measured, half the worker's CPU per event and a quarter off the statement.
-- Same steps as ingest_batch (001): lock the keys in sorted order, insert, apply what is ready.

create function ingest_events(p_events jsonb, p_batch_id text, p_first_seq bigint) returns integer
language plpgsql set search_path from current as $$
declare
  v_keys     text[];
  v_inserted integer;
begin
  with locked as (
    insert into ordering_keys as k (ordering_key, next_seq)
    select e->>'o', least(p_first_seq, min((e->>'s')::bigint))
      from jsonb_array_elements(p_events) as e
     where e->>'o' is not null
     group by e->>'o'
     order by e->>'o'
    on conflict (ordering_key) do update set next_seq = k.next_seq
    returning k.ordering_key
  )
  select array_agg(ordering_key) into v_keys from locked;

  insert into webhook_events
    (idempotency_key, request_id, ordering_key, seq, payload, received_at, batch_id, applied_at)
  select x.e->>'k', x.e->>'r', x.e->>'o', (x.e->>'s')::bigint, x.e->'p', (x.e->>'t')::timestamptz, p_batch_id,
         case when x.e->>'o' is null then now() end
    from jsonb_array_elements(p_events) with ordinality as x(e, n)
   order by x.n
  on conflict (idempotency_key) do nothing;
  get diagnostics v_inserted = row_count;

  if v_keys is not null then
    perform apply_ready(v_keys);
  end if;
  return v_inserted;
end $$;
