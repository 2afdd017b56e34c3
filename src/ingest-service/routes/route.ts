// What a route is, and how every route answers: JSON with an X-Request-Id, refusals as
// {"error":{"code","message"}} written in one place.

import type { IncomingMessage, ServerResponse } from "node:http";

export interface Route {
  /** The methods it answers; any other is a 405 naming these. */
  methods: readonly string[];
  /** `started`: performance.now() when the request arrived; `receivedMs`: Date.now() then. */
  handle(req: IncomingMessage, res: ServerResponse, started: number, receivedMs: number): void;
}

/** Why a request is refused: the status and the JSON error it is answered with. */
export interface Refusal {
  status: number;
  code: string;
  message: string;
  headers?: Readonly<Record<string, string>>;
}

export const JSON_TYPE = "application/json";

/** For outages the sender should simply retry. */
export const RETRY_SOON: Readonly<Record<string, string>> = { "retry-after": "1" };

export function send(res: ServerResponse, status: number, body: string, requestId: string, extra?: Readonly<Record<string, string>>): void {
  const headers: Record<string, string> = {
    "content-type": JSON_TYPE,
    "content-length": String(Buffer.byteLength(body)),
    "x-request-id": requestId,
  };
  if (extra) Object.assign(headers, extra);
  res.writeHead(status, headers);
  res.end(body);
}

/** The one error writer: every refusal, of every route, goes out through here. */
export function sendRefusal(res: ServerResponse, requestId: string, r: Refusal): void {
  send(res, r.status, JSON.stringify({ error: { code: r.code, message: r.message } }), requestId, r.headers);
}
