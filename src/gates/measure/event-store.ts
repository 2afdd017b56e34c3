// Read-only view of the events a service under test stored in PostgreSQL, for the gate's checks.
// It reads the service's table through SQL only: the gate never imports the service's code.

import pg from "pg";

export interface StoredEvent {
  idempotencyKey: string;
  requestId: string;
  orderingKey: string | null;
  seq: number | null;
  batchId: string;
  receivedAt: string;
  persistedAt: string;
  applyIndex: number | null;
  appliedAt: string | null;
}

export interface ConstraintInfo {
  name: string;
  definition: string;
}

const QUOTED = (name: string) => `"${name.replace(/"/g, '""')}"`;

export class EventStore {
  private readonly table: string;

  constructor(
    private readonly pool: pg.Pool,
    readonly schema: string,
  ) {
    this.table = `${QUOTED(schema)}.webhook_events`;
  }

  static connect(databaseUrl: string, schema: string): EventStore {
    const pool = new pg.Pool({ connectionString: databaseUrl, max: 4 });
    pool.on("error", () => {}); // a dropped idle connection is retried by the next query
    return new EventStore(pool, schema);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  /** How many of these event ids are stored, and how many of them are applied. */
  async progress(eventIds: string[]): Promise<{ stored: number; unapplied: number; lastPersistedAt: string | null }> {
    const { rows } = await this.pool.query(
      `select count(*)::int as stored,
              count(*) filter (where ordering_key is not null and apply_index is null)::int as unapplied,
              max(persisted_at) as last
         from ${this.table} where idempotency_key = any($1::text[])`,
      [eventIds],
    );
    const r = rows[0];
    return { stored: r.stored, unapplied: r.unapplied, lastPersistedAt: r.last ? new Date(r.last).toISOString() : null };
  }

  /** Every stored row among these ids (several rows for one id would be a broken unique constraint). */
  async events(eventIds: string[]): Promise<StoredEvent[]> {
    const { rows } = await this.pool.query(
      `select idempotency_key, request_id, ordering_key, seq, batch_id, received_at, persisted_at, apply_index, applied_at
         from ${this.table} where idempotency_key = any($1::text[])
         order by ordering_key nulls first, apply_index nulls last, seq, idempotency_key`,
      [eventIds],
    );
    return rows.map((r) => ({
      idempotencyKey: r.idempotency_key,
      requestId: r.request_id,
      orderingKey: r.ordering_key,
      seq: r.seq === null ? null : Number(r.seq),
      batchId: r.batch_id,
      receivedAt: new Date(r.received_at).toISOString(),
      persistedAt: new Date(r.persisted_at).toISOString(),
      applyIndex: r.apply_index === null ? null : Number(r.apply_index),
      appliedAt: r.applied_at ? new Date(r.applied_at).toISOString() : null,
    }));
  }

  async rowCount(): Promise<number> {
    const { rows } = await this.pool.query(`select count(*)::int as n from ${this.table}`);
    return rows[0].n;
  }

  /** Gaps the service recorded when it stopped waiting for a missing sequence number. */
  async gaps(): Promise<{ orderingKey: string; fromSeq: number; toSeq: number }[]> {
    const exists = await this.pool.query(`select to_regclass($1) as t`, [`${QUOTED(this.schema)}.ordering_gaps`]);
    if (!exists.rows[0].t) return [];
    const { rows } = await this.pool.query(
      `select ordering_key, from_seq, to_seq from ${QUOTED(this.schema)}.ordering_gaps order by ordering_key, from_seq`,
    );
    return rows.map((r) => ({ orderingKey: r.ordering_key, fromSeq: Number(r.from_seq), toSeq: Number(r.to_seq) }));
  }

  /** Unique and check constraints on the events table, as PostgreSQL reports them. */
  async constraints(): Promise<ConstraintInfo[]> {
    const { rows } = await this.pool.query(
      `select c.conname as name, pg_get_constraintdef(c.oid) as definition
         from pg_constraint c join pg_class t on t.oid = c.conrelid join pg_namespace n on n.oid = t.relnamespace
        where n.nspname = $1 and t.relname = 'webhook_events' order by c.conname`,
      [this.schema],
    );
    return rows.map((r) => ({ name: r.name, definition: r.definition }));
  }

  /**
   * Proves the unique idempotency key is enforced, not merely declared: inside a transaction that is
   * always rolled back, insert a copy of a stored row and expect PostgreSQL to refuse it.
   */
  async uniqueKeyEnforced(sampleKey: string): Promise<{ enforced: boolean; detail: string }> {
    const client = await this.pool.connect();
    try {
      await client.query("begin");
      await client.query(
        `insert into ${this.table} (idempotency_key, request_id, payload, received_at, batch_id)
         select idempotency_key, request_id, payload, received_at, 'gate-probe' from ${this.table} where idempotency_key = $1`,
        [sampleKey],
      );
      return { enforced: false, detail: `a second row with idempotency_key ${sampleKey} was accepted` };
    } catch (err) {
      const e = err as { code?: string; message?: string };
      if (e.code === "23505") return { enforced: true, detail: `duplicate insert refused: ${e.message}` };
      return { enforced: false, detail: `probe failed with ${e.code ?? "error"}: ${e.message}` };
    } finally {
      await client.query("rollback").catch(() => {});
      client.release();
    }
  }
}
