// One HTTP exchange over a bare TCP socket (node:net), for requests no HTTP client would send:
// broken framing, wrong lengths, trickled bytes. Writes a script of byte pieces and pauses, then
// records every response the server sent and whether and when it closed the connection.

import { connect } from "node:net";

/** A piece of the request: bytes to write, or a pause in milliseconds. */
export type ScriptStep = Buffer | string | { pauseMs: number };

export interface ExchangeScript {
  steps: ScriptStep[];
  /** After the steps: "half-close" (FIN, keep reading), "destroy" (abort at once) or "keep-open" (default). */
  after?: "half-close" | "destroy" | "keep-open";
  /** How long to wait, after the last step, for the server to answer and close; default 2000 ms. */
  waitMs?: number;
  /** Stop writing (and skip the remaining steps) as soon as the server closes; default true. */
  stopOnClose?: boolean;
  /** Once every step is written, stop at the first complete final (non-1xx) response instead of waiting for a close. */
  untilResponse?: boolean;
}

export interface RawResponse {
  status: number;
  reason: string;
  headers: Record<string, string>;
  body: string;
  /** Complete: the body's length was known and all of it arrived (or it ended with the connection). */
  complete: boolean;
}

export interface ExchangeObservation {
  responses: RawResponse[];
  /** The server closed (FIN or reset) before we stopped waiting. */
  closedByServer: boolean;
  /** Milliseconds from the first byte written to the server's close; null when it did not close. */
  closedAfterMs: number | null;
  /** Milliseconds from the first byte written to the end of the observation. */
  elapsedMs: number;
  /** A socket error (ECONNRESET, EPIPE, ECONNREFUSED ...), when one happened. */
  socketError: string | null;
  /** Bytes received that did not parse as an HTTP response. */
  unparsed: number;
}

export async function exchange(host: string, port: number, script: ExchangeScript): Promise<ExchangeObservation> {
  const waitMs = script.waitMs ?? 2000;
  const stopOnClose = script.stopOnClose ?? true;
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.setNoDelay(true);
    const received: Buffer[] = [];
    let started = 0;
    let closedAt: number | null = null;
    let socketError: string | null = null;
    let finished = false;
    let waitTimer: NodeJS.Timeout | undefined;
    let pauseTimer: NodeJS.Timeout | undefined;

    const finish = () => {
      if (finished) return;
      finished = true;
      clearTimeout(waitTimer);
      clearTimeout(pauseTimer);
      socket.destroy();
      const now = performance.now();
      const { responses, unparsed } = parseResponses(Buffer.concat(received), closedAt !== null);
      resolve({
        responses,
        closedByServer: closedAt !== null,
        closedAfterMs: closedAt === null ? null : closedAt - started,
        elapsedMs: started ? now - started : 0,
        socketError,
        unparsed,
      });
    };
    const serverClosed = () => {
      if (closedAt === null) closedAt = performance.now();
      // Let data events already queued behind the close be read, then report.
      setImmediate(finish);
    };

    let stepsDone = false;
    const answered = () => {
      if (!script.untilResponse || !stepsDone) return;
      const { responses } = parseResponses(Buffer.concat(received), false);
      if (responses.some((r) => r.status >= 200 && r.complete)) finish();
    };
    socket.on("data", (chunk) => {
      received.push(chunk);
      answered();
    });
    socket.on("end", serverClosed); // the server's FIN
    socket.on("error", (err: NodeJS.ErrnoException) => {
      socketError = err.code ?? err.message;
      if (err.code === "ECONNREFUSED") return finish();
      serverClosed();
    });
    socket.on("close", () => {
      if (!finished) serverClosed();
    });

    let step = 0;
    const next = () => {
      if (finished) return;
      if (closedAt !== null && stopOnClose) return;
      if (step >= script.steps.length) {
        const after = script.after ?? "keep-open";
        if (after === "destroy") {
          socket.destroy();
          return finish();
        }
        if (after === "half-close") socket.end();
        stepsDone = true;
        waitTimer = setTimeout(finish, waitMs);
        answered();
        return;
      }
      const s = script.steps[step++];
      if (typeof s === "object" && !Buffer.isBuffer(s)) {
        pauseTimer = setTimeout(next, s.pauseMs);
        return;
      }
      if (socket.destroyed || !socket.writable) return next();
      socket.write(s, () => next());
    };
    socket.once("connect", () => {
      started = performance.now();
      next();
    });
  });
}

/**
 * Responses in the bytes received, in order. Lengths come from Content-Length or chunked framing;
 * without either, the body runs to the connection's close.
 */
export function parseResponses(data: Buffer, closed: boolean): { responses: RawResponse[]; unparsed: number } {
  const responses: RawResponse[] = [];
  let at = 0;
  while (at < data.length) {
    const headEnd = data.indexOf("\r\n\r\n", at);
    if (headEnd === -1) break;
    const head = data.subarray(at, headEnd).toString("latin1").split("\r\n");
    const m = /^HTTP\/1\.[01] (\d{3}) ?(.*)$/.exec(head[0]);
    if (!m) break;
    const headers: Record<string, string> = {};
    for (const line of head.slice(1)) {
      const colon = line.indexOf(":");
      if (colon > 0) {
        const name = line.slice(0, colon).trim().toLowerCase();
        const value = line.slice(colon + 1).trim();
        headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
      }
    }
    let bodyStart = headEnd + 4;
    const status = Number(m[1]);
    let body: Buffer;
    let complete = true;
    if (status === 100 || status === 101 || status === 204 || status === 304) {
      body = Buffer.alloc(0);
    } else if (headers["content-length"] !== undefined) {
      const length = Number(headers["content-length"]);
      body = data.subarray(bodyStart, bodyStart + length);
      complete = body.length === length;
      bodyStart += length;
    } else if (/chunked/i.test(headers["transfer-encoding"] ?? "")) {
      const parts: Buffer[] = [];
      complete = false;
      let p = bodyStart;
      while (p < data.length) {
        const lineEnd = data.indexOf("\r\n", p);
        if (lineEnd === -1) break;
        const size = parseInt(data.subarray(p, lineEnd).toString("latin1"), 16);
        if (!Number.isFinite(size)) break;
        p = lineEnd + 2;
        if (size === 0) {
          const trailerEnd = data.indexOf("\r\n", p);
          p = trailerEnd === -1 ? data.length : trailerEnd + 2;
          complete = true;
          break;
        }
        parts.push(data.subarray(p, p + size));
        p += size + 2;
      }
      body = Buffer.concat(parts);
      bodyStart = p;
    } else {
      body = data.subarray(bodyStart);
      complete = closed;
      bodyStart = data.length;
    }
    responses.push({ status, reason: m[2], headers, body: body.toString("utf8"), complete });
    at = bodyStart;
  }
  return { responses, unparsed: data.length - Math.min(at, data.length) };
}
