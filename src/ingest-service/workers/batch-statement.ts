// A batch's statement as it goes on the wire: Bind, Execute and Sync written straight from the
// encoder's two buffers, in one corked write (and Parse before them, once per connection). pg's own
// query copies every parameter into a Bind message that it grows as it goes and then drops: at ~6 KB an
// event that was a fresh ~240 KB buffer allocated, copied into and collected per batch. The socket
// takes the encoder's buffers as they are; the encoder reuses them for the next batch only after this
// statement's answer, by which time PostgreSQL has read every byte.
//
// A pg "submittable" (the protocol hooks pg-cursor and pg-query-stream use): the client queues it like
// a query and hands it the backend's replies; `done` is called once, with the function's single value
// after ReadyForQuery, or with the error.

import type pg from "pg";

/** What a submittable gets from pg's client: the connection's socket and its prepared statements. */
interface WireConnection {
  stream: { writable: boolean; cork(): void; uncork(): void; write(chunk: Buffer): boolean };
  parsedStatements: Record<string, string>;
  parse(query: { name: string; text: string; types: number[] }): void;
}

/** Execute (unnamed portal, every row) and Sync: the same bytes for every batch. */
const EXECUTE_AND_SYNC = Buffer.from([0x45, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0x53, 0, 0, 0, 4]);

/** The parameters' formats: the two buffers binary, the batch id and first sequence number text. */
const FORMATS = [1, 1, 0, 0];

export class BatchStatement implements pg.Submittable {
  private inserted = 0;
  private settled = false;

  constructor(
    /** Prepared statement name; pg's client records it as parsed on this connection after ParseComplete. */
    readonly name: string,
    readonly text: string,
    private readonly heads: Buffer,
    private readonly bodies: Buffer,
    private readonly batchId: string,
    private readonly firstSeq: number,
    private readonly done: (err: Error | null, inserted: number) => void,
  ) {}

  submit(connection: pg.Connection): Error | void {
    const c = connection as unknown as WireConnection;
    if (!c.stream.writable) return new Error("the PostgreSQL connection is closed");
    const { head, middle, tail } = this.bindParts();
    c.stream.cork();
    try {
      if (!c.parsedStatements[this.name]) c.parse({ name: this.name, text: this.text, types: [] });
      c.stream.write(head);
      c.stream.write(this.heads);
      c.stream.write(middle);
      c.stream.write(this.bodies);
      c.stream.write(tail);
      c.stream.write(EXECUTE_AND_SYNC);
    } finally {
      c.stream.uncork();
    }
  }

  /**
   * The Bind message around the two buffers: head (type, length, portal, statement, formats, the
   * heads' length), middle (the bodies' length), tail (the two text parameters, one text result).
   */
  private bindParts(): { head: Buffer; middle: Buffer; tail: Buffer } {
    const statement = Buffer.byteLength(this.name);
    const id = Buffer.byteLength(this.batchId);
    const seq = String(this.firstSeq);
    const head = Buffer.allocUnsafe(1 + 4 + 1 + statement + 1 + 2 + 2 * FORMATS.length + 2 + 4);
    const middle = Buffer.allocUnsafe(4);
    const tail = Buffer.allocUnsafe(4 + id + 4 + seq.length + 2 + 2);
    const length = head.length - 1 + this.heads.length + middle.length + this.bodies.length + tail.length;
    let at = head.writeUInt8(0x42 /* B */, 0);
    at = head.writeInt32BE(length, at);
    at = head.writeUInt8(0, at); // the unnamed portal
    at += head.write(this.name, at, "utf8");
    at = head.writeUInt8(0, at);
    at = head.writeInt16BE(FORMATS.length, at);
    for (const f of FORMATS) at = head.writeInt16BE(f, at);
    at = head.writeInt16BE(FORMATS.length, at);
    head.writeInt32BE(this.heads.length, at);
    middle.writeInt32BE(this.bodies.length, 0);
    at = tail.writeInt32BE(id, 0);
    at += tail.write(this.batchId, at, "utf8");
    at = tail.writeInt32BE(seq.length, at);
    at += tail.write(seq, at, "latin1");
    at = tail.writeInt16BE(1, at); // one result format for every column:
    tail.writeInt16BE(0, at); // text
    return { head, middle, tail };
  }

  private settle(err: Error | null): void {
    if (this.settled) return;
    this.settled = true;
    this.done(err, this.inserted);
  }

  handleDataRow(msg: { fields: (string | null)[] }): void {
    this.inserted = Number(msg.fields[0]);
  }

  handleError(err: Error): void {
    this.settle(err);
  }

  handleReadyForQuery(): void {
    this.settle(null);
  }

  // Nothing else is expected for one function call without Describe; kept so pg never calls a hole.
  handleRowDescription(): void {}
  handleCommandComplete(): void {}
  handleEmptyQuery(): void {}
  handlePortalSuspended(): void {}
  handleCopyData(): void {}
  handleCopyInResponse(connection: pg.Connection): void {
    (connection as unknown as { sendCopyFail(msg: string): void }).sendCopyFail("no COPY was asked for");
  }
}
