-- bench/batch-writes.ts's "apply-on-insert" arm, measured and not taken (src/ingest-service/README.md):
-- an event that is next in line for its key is stored applied, instead of stored waiting and then
-- updated. The update wrote every ordered event twice: a second row version, with new entries in the
-- primary key and idempotency indexes (applied_at is in the waiting index's predicate, so the update
-- could never be HOT), and twice the WAL. A key that already has events waiting keeps the full apply
-- step (apply_ready), so the order rules are those of 001: late events are applied at once (and show
-- as the violations they are), a contiguous run from next_seq is applied, later ones wait.

create or replace function ingest_events(p_heads jsonb, p_bodies bytea, p_batch_id text, p_first_seq bigint) returns integer
-- A custom plan per call: a cached generic plan, made while the tables were small, joined the batch
-- to a sequential scan per event and grew with the table (measured: 155 -> 348 µs per event in 5 rounds).
language plpgsql set search_path from current set plan_cache_mode to force_custom_plan as $$
declare
  v_keys     text[];
  v_next     bigint[];
  v_applied  bigint[];
  v_waiting  text[];
  v_inserted integer;
begin
  -- Lock (or create) the batch's keys in sorted order: its own statement, so the statements below
  -- take their snapshot after any earlier holder of these keys has committed. Where each key stands
  -- comes back with the lock, and cannot move while this transaction holds it.
  with locked as (
    insert into ordering_keys as k (ordering_key, next_seq)
    select e->>'o', least(p_first_seq, min((e->>'s')::bigint))
      from jsonb_array_elements(p_heads) as e
     where e->>'o' is not null
     group by e->>'o'
     order by e->>'o'
    on conflict (ordering_key) do update set next_seq = k.next_seq
    returning k.ordering_key, k.next_seq, k.applied_count
  )
  select array_agg(ordering_key), array_agg(next_seq), array_agg(applied_count) into v_keys, v_next, v_applied from locked;

  -- The keys with events already waiting: only the full apply step may order those.
  if v_keys is not null then
    select array_agg(k) into v_waiting
      from unnest(v_keys) as k
     where exists (select 1 from webhook_events w where w.ordering_key = k and w.applied_at is null);
  end if;

  with events as (
    -- The first delivery of each idempotency key in the batch, as ON CONFLICT DO NOTHING keeps it,
    -- and only keys not stored already: apply_index numbers only rows that are inserted.
    select *
      from (select distinct on (x.e->>'k')
                   x.e->>'k' as k, x.e->>'r' as r, x.e->>'o' as o, (x.e->>'s')::bigint as s,
                   convert_from(substring(p_bodies from (x.e->>'b')::integer + 1 for (x.e->>'l')::integer), 'UTF8')::json as p, (x.e->>'t')::timestamptz as t, x.n
              from jsonb_array_elements(p_heads) with ordinality as x(e, n)
             order by x.e->>'k', x.n) as d
     where not exists (select 1 from webhook_events w where w.idempotency_key = d.k)
  ), standing as (
    -- The keys with nothing waiting, where the lock found them.
    select *
      from unnest(v_keys, v_next, v_applied) as st(ordering_key, next_seq, applied_count)
     where not (st.ordering_key = any(coalesce(v_waiting, '{}')))
  ), ranked as (
    -- apply_ready's rule over exactly the rows it would see: the batch's new events of the key.
    select e.n, e.o, e.s, st.next_seq, st.applied_count,
           dense_rank() over (partition by e.o, e.s >= st.next_seq order by e.s) as r
      from events e join standing st on st.ordering_key = e.o
  ), ready as (
    select n, applied_count + row_number() over (partition by o order by s, n) as apply_index
      from ranked
     where s < next_seq or s - next_seq = r - 1
  ), inserted as (
    insert into webhook_events
      (idempotency_key, request_id, ordering_key, seq, payload, received_at, batch_id, apply_index, applied_at)
    select e.k, e.r, e.o, e.s, e.p, e.t, p_batch_id, ready.apply_index,
           case when e.o is null or ready.n is not null then now() end
      from events e left join ready on ready.n = e.n
     order by e.n
    -- A delivery committed by another worker since this statement's snapshot is still skipped here;
    -- its apply_index number is then skipped too (the key's count follows the highest number, below).
    on conflict (idempotency_key) do nothing
    returning ordering_key, seq, apply_index
  ), moved as (
    update ordering_keys k
       set next_seq = greatest(k.next_seq, a.max_seq + 1),
           applied_count = greatest(k.applied_count, a.max_index)
      from (select ordering_key, max(seq) as max_seq, max(apply_index) as max_index
              from inserted where apply_index is not null group by ordering_key) a
     where k.ordering_key = a.ordering_key
  )
  select count(*) into v_inserted from inserted;

  if v_waiting is not null then
    perform apply_ready(v_waiting);
  end if;
  return v_inserted;
end $$;
