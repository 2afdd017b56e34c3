-- 001: the event store, per-key apply order and the functions the writers call. Runs with
-- search_path set to the namespace's schema; functions keep that path (SET search_path FROM CURRENT)
-- so callers need not set it.

create table webhook_events (
  id              bigserial primary key,
  idempotency_key text not null,
  request_id      text not null,
  ordering_key    text,
  seq             bigint check (seq >= 0),
  payload         jsonb not null,
  received_at     timestamptz not null,
  persisted_at    timestamptz not null default now(),
  batch_id        text not null,
  -- 1, 2, 3 ... per ordering key, in the order events were applied; null for unordered events.
  apply_index     bigint,
  applied_at      timestamptz,
  constraint webhook_events_idempotency_key_key unique (idempotency_key),
  constraint webhook_events_ordered_has_seq check (ordering_key is null or seq is not null)
);

-- The events still waiting for their turn: small, and all the apply step and the gap sweep read.
create index webhook_events_waiting on webhook_events (ordering_key, seq) where applied_at is null;

create table ordering_keys (
  ordering_key  text primary key,
  -- The sequence number this key is waiting for.
  next_seq      bigint not null,
  applied_count bigint not null default 0
);

-- Sequence numbers that never arrived and were skipped after the gap timeout.
create table ordering_gaps (
  id           bigserial primary key,
  ordering_key text not null,
  from_seq     bigint not null,
  to_seq       bigint not null,
  recorded_at  timestamptz not null default now()
);

-- Events PostgreSQL refused as data (not as an outage): kept here rather than blocking the queue.
create table dead_letters (
  id              bigserial primary key,
  idempotency_key text not null,
  request_id      text not null,
  ordering_key    text,
  seq             bigint,
  payload_text    text not null,
  received_at     timestamptz,
  error_code      text,
  error_message   text,
  recorded_at     timestamptz not null default now()
);

-- Applies, for each of these (already locked) ordering keys, the stored events whose turn has come:
-- those contiguous from next_seq, and late ones (seq below next_seq) at once, so they show up as the
-- ordering violations they are. Returns how many events it applied.
create function apply_ready(p_keys text[]) returns integer
language plpgsql set search_path from current as $$
declare
  v_applied integer;
begin
  with waiting as (
    select e.id, e.ordering_key, e.seq, k.next_seq, k.applied_count
      from webhook_events e
      join ordering_keys k on k.ordering_key = e.ordering_key
     where e.ordering_key = any(p_keys) and e.applied_at is null
  ), ready as (
    select id, ordering_key, seq, applied_count from waiting where seq < next_seq
    union all
    -- Contiguous run from next_seq: the rank of a seq equals its distance from next_seq until
    -- the first hole, and falls behind for ever after it.
    select id, ordering_key, seq, applied_count from (
      select id, ordering_key, seq, next_seq, applied_count,
             dense_rank() over (partition by ordering_key order by seq) as r
        from waiting where seq >= next_seq
    ) ahead where seq - next_seq = r - 1
  ), numbered as (
    select id, ordering_key, seq,
           applied_count + row_number() over (partition by ordering_key order by seq, id) as apply_index
      from ready
  ), applied as (
    update webhook_events e
       set apply_index = n.apply_index, applied_at = now()
      from numbered n
     where e.id = n.id
    returning n.ordering_key, n.seq
  ), moved as (
    update ordering_keys k
       set next_seq = greatest(k.next_seq, a.max_seq + 1),
           applied_count = k.applied_count + a.n
      from (select ordering_key, max(seq) as max_seq, count(*) as n from applied group by ordering_key) a
     where k.ordering_key = a.ordering_key
    returning a.n
  )
  select coalesce(sum(n), 0) into v_applied from moved;
  return v_applied;
end $$;

-- One batch, one statement: lock the batch's ordering keys, store the events (a redelivered
-- idempotency key writes nothing), apply what is ready. Returns how many rows were new.
create function ingest_batch(
  p_idempotency_keys text[],
  p_request_ids      text[],
  p_ordering_keys    text[],
  p_seqs             bigint[],
  p_payloads         text[],
  p_received_at      timestamptz[],
  p_batch_id         text,
  p_first_seq        bigint
) returns integer
language plpgsql set search_path from current as $$
declare
  v_keys     text[];
  v_inserted integer;
begin
  -- One sorted pass creates or locks every key of the batch: all writers take keys in the same
  -- order, so concurrent batches wait for each other instead of deadlocking. A new key waits for
  -- min(first_seq, the lowest seq seen) so an early arrival of seq 3 still waits for 1 and 2.
  with locked as (
    insert into ordering_keys as k (ordering_key, next_seq)
    select ordering_key, least(p_first_seq, min(seq))
      from unnest(p_ordering_keys, p_seqs) as t(ordering_key, seq)
     where ordering_key is not null
     group by ordering_key
     order by ordering_key
    on conflict (ordering_key) do update set next_seq = k.next_seq
    returning k.ordering_key
  )
  select array_agg(ordering_key) into v_keys from locked;

  insert into webhook_events
    (idempotency_key, request_id, ordering_key, seq, payload, received_at, batch_id, applied_at)
  select u.idempotency_key, u.request_id, u.ordering_key, u.seq, u.payload::jsonb, u.received_at, p_batch_id,
         case when u.ordering_key is null then now() end
    from unnest(p_idempotency_keys, p_request_ids, p_ordering_keys, p_seqs, p_payloads, p_received_at)
         as u(idempotency_key, request_id, ordering_key, seq, payload, received_at)
  on conflict (idempotency_key) do nothing;
  get diagnostics v_inserted = row_count;

  if v_keys is not null then
    perform apply_ready(v_keys);
  end if;
  return v_inserted;
end $$;

-- The synchronous design's write: one event, returns the request_id stored for its idempotency key
-- (its own when new, the first delivery's when a duplicate).
create function ingest_one(
  p_idempotency_key text,
  p_request_id      text,
  p_ordering_key    text,
  p_seq             bigint,
  p_payload         text,
  p_received_at     timestamptz,
  p_batch_id        text,
  p_first_seq       bigint
) returns text
language plpgsql set search_path from current as $$
begin
  perform ingest_batch(array[p_idempotency_key], array[p_request_id], array[p_ordering_key], array[p_seq],
                       array[p_payload], array[p_received_at], p_batch_id, p_first_seq);
  return (select request_id from webhook_events where idempotency_key = p_idempotency_key);
end $$;

-- The gap sweep: for keys whose oldest waiting event has waited longer than p_timeout_ms, skip the
-- missing sequence numbers (recorded in ordering_gaps) and apply what follows. Keys a batch holds
-- right now are skipped; the next sweep gets them. Returns how many gaps it recorded.
create function apply_gaps(p_timeout_ms integer) returns integer
language plpgsql set search_path from current as $$
declare
  v_cutoff  timestamptz := now() - p_timeout_ms * interval '1 millisecond';
  v_key     text;
  v_next    bigint;
  v_min     bigint;
  v_min_at  timestamptz;
  v_gaps    integer := 0;
  v_rounds  integer;
begin
  for v_key, v_next in
    select k.ordering_key, k.next_seq
      from ordering_keys k
     where k.ordering_key in (select e.ordering_key from webhook_events e
                               where e.applied_at is null and e.ordering_key is not null
                                 and e.persisted_at < v_cutoff)
     order by k.ordering_key
       for update skip locked
  loop
    v_rounds := 0;
    loop
      select seq, persisted_at into v_min, v_min_at
        from webhook_events
       where ordering_key = v_key and applied_at is null
       order by seq limit 1;
      exit when v_min is null or v_min_at >= v_cutoff;
      v_rounds := v_rounds + 1;
      exit when v_rounds > 100000;
      if v_min > v_next then
        insert into ordering_gaps (ordering_key, from_seq, to_seq) values (v_key, v_next, v_min - 1);
        update ordering_keys set next_seq = v_min where ordering_key = v_key;
        v_gaps := v_gaps + 1;
      end if;
      perform apply_ready(array[v_key]);
      select next_seq into v_next from ordering_keys where ordering_key = v_key;
    end loop;
  end loop;
  return v_gaps;
end $$;
