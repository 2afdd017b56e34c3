// The bad-input catalogue: hostile or broken requests to POST /webhooks, each with what the service
// must do (a 4xx with a JSON error, or a closed connection for a protocol violation), and a runner
// that also checks nothing was enqueued and the server still answers a valid webhook afterwards.

import { createHmac, randomBytes } from "node:crypto";
import { gzipSync } from "node:zlib";
import { Redis } from "ioredis";
import pg from "pg";
import { githubSignature, standardWebhookSignature } from "../src/webhook-signatures.js";
import { exchange, type ExchangeObservation, type ExchangeScript } from "./raw-exchange.js";

/**
 * Which server a case goes to. "signed" requires all three schemes (bearer, Standard Webhooks,
 * GitHub); "bearer" requires only a bearer key, so the idempotency key is not also part of the
 * signature and its own checks can be reached.
 */
export type ServerProfile = "signed" | "bearer";

export interface CatalogueServer {
  host: string;
  port: number;
  bearerKey: string;
  /** Standard Webhooks secret (whsec_...); profile "signed" only. */
  signingSecret?: string;
  /** GitHub webhook secret; profile "signed" only. */
  githubSecret?: string;
}

export interface CatalogueTarget {
  servers: Record<ServerProfile, CatalogueServer>;
  /** Where the servers enqueue and the workers store: to prove nothing was. */
  redisUrl: string;
  databaseUrl: string;
  namespace: string;
  /** The servers' --max-body-bytes (default 1 MiB). */
  maxBodyBytes?: number;
}

/** What the service must do with a case. */
export type Expectation =
  /** A 4xx (this one, when given) with `{"error":{"code","message"}}`, Content-Type application/json and X-Request-Id. */
  | { kind: "json-error"; status?: number; code?: string }
  /** A framing or protocol violation: the server closes the connection, after at most a 4xx (any body). */
  | { kind: "protocol" }
  /** A slow sender: the server closes the connection within the bound; a 4xx before that is fine. */
  | { kind: "closed-within"; boundMs: number }
  /** The client vanishes mid-request: there is no one to answer; nothing may be enqueued. */
  | { kind: "abandoned" };

export interface BadInputCase {
  name: string;
  /** Where the case comes from: issue 2's list, or the hostile extras of issue 7. */
  group: "issue-2" | "body" | "headers" | "framing" | "slow";
  profile: ServerProfile;
  expect: Expectation;
  /** Slow cases take seconds by design; the 100-times memory run leaves them out. */
  slow?: boolean;
  /** Open this many connections at once, each running the script (a flood); all must be handled. */
  connections?: number;
  script(ctx: CaseContext): ExchangeScript;
}

export interface CaseContext {
  server: CatalogueServer;
  maxBodyBytes: number;
  /** A fresh webhook-id for this case. */
  id: string;
  /** Unix seconds now. */
  now: number;
}

export interface CaseResult {
  name: string;
  group: BadInputCase["group"];
  ok: boolean;
  /** Why the case failed, in words that point at the behaviour to fix. */
  problems: string[];
  /** What was observed: the first response's status (0 for none) and error code, the close. */
  status: number;
  code: string | null;
  closedAfterMs: number | null;
  elapsedMs: number;
}

// ---- Building requests -------------------------------------------------------------------------

const CRLF = "\r\n";
/** A small, ordinary webhook body. */
export const SAMPLE_BODY = '{"action":"opened","number":7,"repository":{"full_name":"octo-org/repo-0001"}}';

interface RequestParts {
  method?: string;
  path?: string;
  version?: string;
  /** Header lines in order; a `null` value removes a default header. */
  headers?: Record<string, string | null>;
  /** Extra header lines appended verbatim (for duplicates and malformed lines). */
  rawHeaderLines?: string[];
  body?: Buffer | string;
  /** Sign this instead of the body (for signatures that do not match what is sent). */
  signBody?: Buffer | string;
  /** Content-Length to declare; "none" leaves it out; default: the body's length. */
  contentLength?: number | string | "none";
}

/** The headers a valid request of this profile carries, signed over `signBody`. */
function validHeaders(ctx: CaseContext, signBody: Buffer): Record<string, string> {
  const s = ctx.server;
  const h: Record<string, string> = {
    host: `${s.host}:${s.port}`,
    "content-type": "application/json",
    authorization: `Bearer ${s.bearerKey}`,
    "webhook-id": ctx.id,
    "webhook-timestamp": String(ctx.now),
  };
  if (s.signingSecret) h["webhook-signature"] = standardWebhookSignature(s.signingSecret, ctx.id, ctx.now, signBody);
  if (s.githubSecret) h["x-hub-signature-256"] = githubSignature(s.githubSecret, signBody);
  if (!s.signingSecret) {
    delete h["webhook-id"];
    delete h["webhook-timestamp"];
    h["idempotency-key"] = ctx.id;
  }
  return h;
}

/** Raw request bytes: request line, headers (valid by default), blank line, body. */
export function request(ctx: CaseContext, p: RequestParts = {}): Buffer {
  const body = Buffer.from(p.body ?? SAMPLE_BODY);
  const headers: Record<string, string | null> = { ...validHeaders(ctx, Buffer.from(p.signBody ?? body)), ...p.headers };
  if (p.contentLength !== "none") headers["content-length"] = String(p.contentLength ?? body.length);
  const lines = [`${p.method ?? "POST"} ${p.path ?? "/webhooks"} ${p.version ?? "HTTP/1.1"}`];
  for (const [name, value] of Object.entries(headers)) if (value !== null) lines.push(`${name}: ${value}`);
  lines.push(...(p.rawHeaderLines ?? []));
  return Buffer.concat([Buffer.from(lines.join(CRLF) + CRLF + CRLF, "latin1"), body]);
}

/** A valid request but for its webhook-timestamp, signed correctly for that timestamp. */
function signedAt(ctx: CaseContext, timestamp: number | string): Buffer {
  const signature = standardWebhookSignature(ctx.server.signingSecret!, ctx.id, timestamp, SAMPLE_BODY);
  return request(ctx, { headers: { "webhook-timestamp": String(timestamp), "webhook-signature": signature } });
}

/** Headers only (ending in the blank line), for scripts that send the body their own way. */
function head(ctx: CaseContext, p: RequestParts & { body: Buffer | string }): Buffer {
  const full = request(ctx, p);
  return full.subarray(0, full.length - Buffer.byteLength(p.body));
}

const send = (bytes: Buffer | string, o: Partial<ExchangeScript> = {}): ExchangeScript => ({ steps: [bytes], ...o });
const jsonError = (status?: number, code?: string): Expectation => ({ kind: "json-error", status, code });
const PROTOCOL: Expectation = { kind: "protocol" };

function chunked(...chunks: (Buffer | string)[]): Buffer {
  const parts: Buffer[] = [];
  for (const c of chunks) {
    const b = Buffer.from(c);
    parts.push(Buffer.from(b.length.toString(16) + CRLF), b, Buffer.from(CRLF));
  }
  parts.push(Buffer.from("0" + CRLF + CRLF));
  return Buffer.concat(parts);
}

/** Random alphanumerics: incompressible, so PostgreSQL cannot shrink a long key below its index limit. */
function randomText(length: number): string {
  return randomBytes(length)
    .toString("base64")
    .replace(/[^A-Za-z0-9]/g, "x")
    .slice(0, length);
}

/** The slow-sender bound: how long a trickling client may hold a connection. */
export const DEFAULT_SLOW_BOUND_MS = 10_000;

// ---- The catalogue -----------------------------------------------------------------------------

/** Every case; `slowBoundMs` is the most a slow sender may hold a connection before it is closed. */
export function badInputCatalogue(slowBoundMs = DEFAULT_SLOW_BOUND_MS): BadInputCase[] {
  const c = (
    group: BadInputCase["group"],
    name: string,
    expect: Expectation,
    script: (ctx: CaseContext) => ExchangeScript,
    profile: ServerProfile = "signed",
  ): BadInputCase => ({ name, group, expect, script, profile });
  const body = (name: string, bodyText: Buffer | string, expect: Expectation = jsonError(400)) =>
    c("body", name, expect, (ctx) => send(request(ctx, { body: bodyText })));

  const cases: BadInputCase[] = [
    // -- issue 2's list ---------------------------------------------------------------------------
    c("issue-2", "malformed JSON", jsonError(400, "malformed_json"), (ctx) => send(request(ctx, { body: '{"action": "opened",' }))),
    c("issue-2", "empty body", jsonError(400), (ctx) => send(request(ctx, { body: "" }))),
    c("issue-2", "body one byte over the limit, sent in full", jsonError(413), (ctx) =>
      send(request(ctx, { body: `{"a":"${"x".repeat(ctx.maxBodyBytes - 7)}"}` }), { waitMs: 5000 }),
    ),
    c("issue-2", "Content-Length of 8 MiB: refused before the body is sent", jsonError(413), (ctx) =>
      send(head(ctx, { body: "x", contentLength: 8 * 1024 * 1024 }), { waitMs: 2000 }),
    ),
    c("issue-2", "chunked body over the limit without Content-Length", jsonError(413), (ctx) => {
      const big = `{"a":"${"x".repeat(ctx.maxBodyBytes)}"}`;
      return send(
        Buffer.concat([head(ctx, { body: big, contentLength: "none", headers: { "transfer-encoding": "chunked" } }), chunked(big)]),
        { waitMs: 5000 },
      );
    }),
    c("issue-2", "Content-Type text/plain", jsonError(415), (ctx) => send(request(ctx, { headers: { "content-type": "text/plain" } }))),
    c("issue-2", "no Content-Type", jsonError(415), (ctx) => send(request(ctx, { headers: { "content-type": null } }))),
    c("issue-2", "Content-Type application/x-www-form-urlencoded", jsonError(415), (ctx) =>
      send(request(ctx, { headers: { "content-type": "application/x-www-form-urlencoded" }, body: "action=opened" })),
    ),
    c("issue-2", "Content-Type application/jsonl (a prefix of the right type)", jsonError(415), (ctx) =>
      send(request(ctx, { headers: { "content-type": "application/jsonl" } })),
    ),
    c("issue-2", "no credentials at all", jsonError(401), (ctx) =>
      send(request(ctx, { headers: { authorization: null, "webhook-signature": null, "x-hub-signature-256": null } })),
    ),
    c("issue-2", "wrong bearer key", jsonError(401, "invalid_bearer"), (ctx) =>
      send(request(ctx, { headers: { authorization: "Bearer not-the-key" } })),
    ),
    c("issue-2", "Authorization: Basic instead of Bearer", jsonError(401), (ctx) =>
      send(request(ctx, { headers: { authorization: `Basic ${Buffer.from("user:pass").toString("base64")}` } })),
    ),
    c("issue-2", "missing webhook-signature", jsonError(401), (ctx) => send(request(ctx, { headers: { "webhook-signature": null } }))),
    c("issue-2", "signature over a different body (one byte changed)", jsonError(401, "invalid_signature"), (ctx) =>
      send(request(ctx, { signBody: SAMPLE_BODY.replace("7", "8") })),
    ),
    c("issue-2", "signature made with another secret", jsonError(401, "invalid_signature"), (ctx) =>
      send(
        request(ctx, {
          headers: {
            "webhook-signature": standardWebhookSignature(`whsec_${randomBytes(32).toString("base64")}`, ctx.id, ctx.now, SAMPLE_BODY),
          },
        }),
      ),
    ),
    c("issue-2", "signature made for another webhook-id (replayed)", jsonError(401, "invalid_signature"), (ctx) =>
      send(
        request(ctx, {
          headers: { "webhook-signature": standardWebhookSignature(ctx.server.signingSecret!, "msg_other", ctx.now, SAMPLE_BODY) },
        }),
      ),
    ),
    c("issue-2", "timestamp 10 minutes old (correctly signed)", jsonError(401, "timestamp_out_of_tolerance"), (ctx) =>
      send(signedAt(ctx, ctx.now - 600)),
    ),
    c("issue-2", "timestamp 10 minutes in the future (correctly signed)", jsonError(401, "timestamp_out_of_tolerance"), (ctx) =>
      send(signedAt(ctx, ctx.now + 600)),
    ),
    c("issue-2", "timestamp in milliseconds (correctly signed)", jsonError(401), (ctx) => send(signedAt(ctx, ctx.now * 1000))),
    c("issue-2", "timestamp not a number", jsonError(401), (ctx) => send(signedAt(ctx, "yesterday"))),
    c("issue-2", "wrong X-Hub-Signature-256 (the other schemes right)", jsonError(401), (ctx) =>
      send(request(ctx, { headers: { "x-hub-signature-256": `sha256=${"0".repeat(64)}` } })),
    ),
    c("issue-2", "X-Hub-Signature (sha1) in place of X-Hub-Signature-256", jsonError(401), (ctx) =>
      send(
        request(ctx, {
          headers: {
            "x-hub-signature-256": null,
            "x-hub-signature": `sha1=${createHmac("sha1", ctx.server.githubSecret!).update(SAMPLE_BODY).digest("hex")}`,
          },
        }),
      ),
    ),
    c(
      "issue-2",
      "missing idempotency key",
      jsonError(400, "missing_idempotency_key"),
      (ctx) => send(request(ctx, { headers: { "idempotency-key": null } })),
      "bearer",
    ),
    c("issue-2", "empty idempotency key", jsonError(400), (ctx) => send(request(ctx, { headers: { "idempotency-key": "" } })), "bearer"),
    c(
      "issue-2",
      "idempotency key of 4 KiB (over PostgreSQL's index row limit)",
      jsonError(400),
      (ctx) => send(request(ctx, { headers: { "idempotency-key": randomText(4096) } })),
      "bearer",
    ),
    ...[
      ["-1", "negative"],
      ["1.5", "fractional"],
      ["1e3", "exponent"],
      ["99999999999999999999", "over bigint"],
      ["", "empty"],
      ["0x10", "hex"],
      ["+7", "with a plus sign"],
      ["7 8", "two numbers"],
    ].map(([seq, what]) =>
      c("issue-2", `sequence ${what} (${JSON.stringify(seq)})`, jsonError(400), (ctx) =>
        send(request(ctx, { headers: { "x-ordering-key": "repo-bad", "x-sequence": seq } })),
      ),
    ),
    c("issue-2", "sequence sent twice with different values", jsonError(400), (ctx) =>
      send(request(ctx, { headers: { "x-ordering-key": "repo-bad" }, rawHeaderLines: ["x-sequence: 1", "x-sequence: 2"] })),
    ),
    c("issue-2", "ordering key without a sequence", jsonError(400), (ctx) =>
      send(request(ctx, { headers: { "x-ordering-key": "repo-bad" } })),
    ),
    c("issue-2", "ordering key of 1,000 characters", jsonError(400), (ctx) =>
      send(request(ctx, { headers: { "x-ordering-key": randomText(1000), "x-sequence": "1" } })),
    ),
    c("issue-2", "unknown path", jsonError(404, "not_found"), (ctx) => send(request(ctx, { path: "/webhook" }))),
    c("issue-2", "path traversal", jsonError(404), (ctx) => send(request(ctx, { path: "/webhooks/../admin" }))),
    c("issue-2", "GET /webhooks", jsonError(405), (ctx) => send(request(ctx, { method: "GET", body: "", contentLength: "none" }))),
    c("issue-2", "PUT /webhooks with a valid body", jsonError(405), (ctx) => send(request(ctx, { method: "PUT" }))),
    c("issue-2", "DELETE /webhooks", jsonError(405), (ctx) => send(request(ctx, { method: "DELETE", body: "" }))),

    // -- bodies that are not what they claim ------------------------------------------------------
    body("invalid UTF-8", Buffer.concat([Buffer.from('{"title":"'), Buffer.from([0xff, 0xfe, 0xfd]), Buffer.from('"}')])),
    body("overlong UTF-8 encoding of '/'", Buffer.concat([Buffer.from('{"path":"'), Buffer.from([0xc0, 0xaf]), Buffer.from('"}')])),
    body("UTF-16LE with a byte order mark", Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(SAMPLE_BODY, "utf16le")])),
    body("UTF-8 byte order mark before the object", Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(SAMPLE_BODY)])),
    body("valid JSON, an array", "[1,2,3]"),
    body("valid JSON, a string", '"opened"'),
    body("valid JSON, a number", "42"),
    body("valid JSON, null", "null"),
    body("valid JSON, true", "true"),
    body("whitespace only", " \r\n\t "),
    body("an object followed by garbage", `${SAMPLE_BODY} trailing`),
    body("two objects", `${SAMPLE_BODY}${SAMPLE_BODY}`),
    body("NaN literal", '{"n":NaN}'),
    body("comment inside the object", '{"a":1 /* note */}'),
    body("100,000 unclosed [", `{"a":${"[".repeat(100_000)}`),
    // The next ones parse in JavaScript but PostgreSQL's jsonb refuses them: a 202 would be a broken promise.
    body("object nesting 100,000 arrays deep", `{"a":${"[".repeat(100_000)}${"]".repeat(100_000)}}`, jsonError()),
    body("number with a huge exponent (1e1000000)", '{"n":1e1000000}', jsonError()),
    body("number with a tiny exponent (1e-1000000)", '{"n":1e-1000000}', jsonError()),
    body("integer of 200,000 digits", `{"n":${"9".repeat(200_000)}}`, jsonError()),
    body("lone UTF-16 surrogate escape", '{"title":"\\ud800"}', jsonError()),
    body("NUL character escape", '{"title":"a\\u0000b"}', jsonError()),
    body("duplicate keys with different values", '{"action":"opened","action":"closed"}', jsonError()),
    body("duplicate keys, the second spelled with a \\u escape", '{"action":"opened","\\u0061ction":"closed"}', jsonError()),
    body("duplicate keys in a nested object", '{"pull_request":{"state":"open","merged":false,"state":"closed"}}', jsonError()),
    // "k4uzx" and "kf2ad" share an FNV-1a 32-bit hash: a duplicate check keyed by that hash alone forgets the first key.
    body("duplicate key after two keys whose FNV-1a hashes collide", '{"k4uzx":"opened","kf2ad":0,"k4uzx":"closed"}', jsonError()),
    c("body", "gzip-compressed body with Content-Encoding: gzip", jsonError(), (ctx) => {
      const gz = gzipSync(SAMPLE_BODY);
      return send(request(ctx, { body: gz, headers: { "content-encoding": "gzip" } }));
    }),

    // -- headers ----------------------------------------------------------------------------------
    c("headers", "1,000 headers", PROTOCOL, (ctx) =>
      send(request(ctx, { rawHeaderLines: Array.from({ length: 1000 }, (_, i) => `x-filler-${i}: ${"v".repeat(30)}`) })),
    ),
    c("headers", "one header of 64 KiB", PROTOCOL, (ctx) => send(request(ctx, { headers: { "x-note": "n".repeat(64 * 1024) } }))),
    c("headers", "webhook-signature with 200 wrong entries", jsonError(401), (ctx) =>
      send(
        request(ctx, {
          headers: { "webhook-signature": Array.from({ length: 200 }, () => `v1,${randomBytes(32).toString("base64")}`).join(" ") },
        }),
      ),
    ),
    c("headers", "webhook-signature with only v2 entries", jsonError(401), (ctx) =>
      send(
        request(ctx, {
          headers: {
            "webhook-signature": `v2,${standardWebhookSignature(ctx.server.signingSecret!, ctx.id, ctx.now, SAMPLE_BODY).slice(3)}`,
          },
        }),
      ),
    ),
    c("headers", "webhook-signature with 10,000 entries (50 KB)", PROTOCOL, (ctx) =>
      send(request(ctx, { headers: { "webhook-signature": Array.from({ length: 10_000 }, () => "v1,x").join(" ") } })),
    ),
    c("headers", "control character in a header value", PROTOCOL, (ctx) => send(request(ctx, { rawHeaderLines: ["x-note: a\x01b"] }))),
    c("headers", "header line without a colon", PROTOCOL, (ctx) => send(request(ctx, { rawHeaderLines: ["this is not a header"] }))),
    c("headers", "space before the colon of Content-Length", PROTOCOL, (ctx) =>
      send(request(ctx, { contentLength: "none", rawHeaderLines: [`Content-Length : ${SAMPLE_BODY.length}`] })),
    ),
    c("headers", "request target of 100 KB", PROTOCOL, (ctx) => send(request(ctx, { path: `/webhooks?${"q".repeat(100_000)}` }))),
    c("headers", "Expect: 100-continue with a body over the limit", jsonError(413), (ctx) =>
      send(head(ctx, { body: "x", contentLength: 4 * 1024 * 1024, headers: { expect: "100-continue" } })),
    ),

    // -- framing ----------------------------------------------------------------------------------
    c("framing", "truncated body, then the client half-closes", PROTOCOL, (ctx) =>
      send(request(ctx, { contentLength: SAMPLE_BODY.length }).subarray(0, -20), { after: "half-close" }),
    ),
    c("framing", "Content-Length longer than the body, then the client half-closes", PROTOCOL, (ctx) =>
      send(request(ctx, { contentLength: SAMPLE_BODY.length + 100 }), { after: "half-close" }),
    ),
    c("framing", "connection dropped in the middle of the body", { kind: "abandoned" }, (ctx) =>
      send(request(ctx, { contentLength: SAMPLE_BODY.length }).subarray(0, -20), { after: "destroy" }),
    ),
    c("framing", "Content-Length shorter than the body: the rest is garbage", PROTOCOL, (ctx) => send(request(ctx, { contentLength: 10 }))),
    c("framing", "Content-Length not a number", PROTOCOL, (ctx) => send(request(ctx, { contentLength: "eighty" }))),
    c("framing", "negative Content-Length", PROTOCOL, (ctx) => send(request(ctx, { contentLength: -5 }))),
    c("framing", "two different Content-Length headers", PROTOCOL, (ctx) =>
      send(request(ctx, { rawHeaderLines: [`Content-Length: ${SAMPLE_BODY.length - 10}`] })),
    ),
    c("framing", "Content-Length and Transfer-Encoding: chunked together", PROTOCOL, (ctx) =>
      send(Buffer.concat([head(ctx, { body: SAMPLE_BODY, headers: { "transfer-encoding": "chunked" } }), chunked(SAMPLE_BODY)])),
    ),
    c("framing", "chunk size that is not hex", PROTOCOL, (ctx) =>
      send(
        Buffer.concat([
          head(ctx, { body: "x", contentLength: "none", headers: { "transfer-encoding": "chunked" } }),
          Buffer.from(`zz${CRLF}${SAMPLE_BODY}${CRLF}0${CRLF}${CRLF}`),
        ]),
      ),
    ),
    c("framing", "chunk size that overflows 64 bits", PROTOCOL, (ctx) =>
      send(
        Buffer.concat([
          head(ctx, { body: "x", contentLength: "none", headers: { "transfer-encoding": "chunked" } }),
          Buffer.from(`1${"0".repeat(20)}${CRLF}${SAMPLE_BODY}`),
        ]),
      ),
    ),
    c("framing", "chunk longer than its declared size", PROTOCOL, (ctx) =>
      send(
        Buffer.concat([
          head(ctx, { body: "x", contentLength: "none", headers: { "transfer-encoding": "chunked" } }),
          Buffer.from(`5${CRLF}${SAMPLE_BODY}${CRLF}0${CRLF}${CRLF}`),
        ]),
      ),
    ),
    c("framing", "chunked body without its last chunk, then the client half-closes", PROTOCOL, (ctx) =>
      send(
        Buffer.concat([
          head(ctx, { body: "x", contentLength: "none", headers: { "transfer-encoding": "chunked" } }),
          chunked(SAMPLE_BODY).subarray(0, -5),
        ]),
        { after: "half-close" },
      ),
    ),
    c("framing", "Transfer-Encoding: gzip (not chunked)", PROTOCOL, (ctx) =>
      send(request(ctx, { contentLength: "none", headers: { "transfer-encoding": "gzip" } })),
    ),
    c("framing", "HTTP/1.0 body delimited by the connection's close", PROTOCOL, (ctx) =>
      send(request(ctx, { version: "HTTP/1.0", contentLength: "none" }), { after: "half-close" }),
    ),
    c("framing", "HTTP/2 connection preface on HTTP/1.1", PROTOCOL, () => send("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")),
    c("framing", "TLS ClientHello on plain HTTP", PROTOCOL, () =>
      send(Buffer.from("16030100a5010000a10303" + "00".repeat(32) + "000004c02bc02f0100", "hex")),
    ),
    c("framing", "request line without an HTTP version", PROTOCOL, () => send(`POST /webhooks${CRLF}${CRLF}`)),
    c("framing", "bad JSON request followed by pipelined garbage", PROTOCOL, (ctx) =>
      send(Buffer.concat([request(ctx, { body: "{not json}" }), Buffer.from(`\x00\x01\x02GARBAGE ${"#".repeat(200)}${CRLF}${CRLF}`)])),
    ),
    c("framing", "binary garbage", PROTOCOL, () => send(randomBytes(4096))),

    // -- slow senders -----------------------------------------------------------------------------
    {
      ...c("slow", "headers trickled one byte a second (slowloris)", { kind: "closed-within", boundMs: slowBoundMs }, (ctx) => {
        const bytes = request(ctx).toString("latin1");
        const steps: ExchangeScript["steps"] = [];
        for (let i = 0; i < Math.min(bytes.length, Math.ceil(slowBoundMs / 1000) + 10); i++) steps.push(bytes[i], { pauseMs: 1000 });
        return { steps, waitMs: 1000 };
      }),
      slow: true,
    },
    {
      ...c("slow", "body trickled one byte a second", { kind: "closed-within", boundMs: slowBoundMs }, (ctx) => {
        const full = request(ctx, { body: `{"a":"${"x".repeat(200)}"}` });
        const headEnd = full.indexOf("\r\n\r\n") + 4;
        const steps: ExchangeScript["steps"] = [full.subarray(0, headEnd)];
        for (let i = headEnd; i < Math.min(full.length, headEnd + Math.ceil(slowBoundMs / 1000) + 10); i++)
          steps.push(full.subarray(i, i + 1), { pauseMs: 1000 });
        return { steps, waitMs: 1000 };
      }),
      slow: true,
    },
    {
      ...c("slow", "headers complete, body never sent", { kind: "closed-within", boundMs: slowBoundMs }, (ctx) =>
        send(head(ctx, { body: SAMPLE_BODY }), { waitMs: slowBoundMs + 5000 }),
      ),
      slow: true,
    },
    {
      ...c("slow", "connection opened, nothing sent", { kind: "closed-within", boundMs: slowBoundMs }, () => ({
        steps: [],
        waitMs: slowBoundMs + 5000,
      })),
      slow: true,
    },
    {
      ...c("slow", "1,000 connections at once, each sending half a request line", { kind: "closed-within", boundMs: slowBoundMs }, () => ({
        steps: ["POST /webhoo"],
        waitMs: slowBoundMs + 5000,
      })),
      slow: true,
      connections: 1000,
    },
  ];
  return cases;
}

// ---- Judging one observation -------------------------------------------------------------------

/** What is wrong with the service's answer to a case; empty when it did what the case demands. */
export function judge(expect: Expectation, o: ExchangeObservation): string[] {
  const problems: string[] = [];
  // An interim 100 Continue is not an answer.
  const responses = o.responses.filter((r) => r.status >= 200);
  const first = responses[0];
  for (const r of responses) {
    if (r.status < 400 || r.status >= 500) {
      problems.push(`answered ${r.status} ${r.reason}: ${r.body.slice(0, 200)}; a bad request must get a 4xx and be stored nowhere`);
    }
  }
  if (expect.kind === "json-error") {
    if (!first) {
      problems.push(
        `no answer (connection ${o.closedByServer ? "closed" : "left open"}${o.socketError ? `, ${o.socketError}` : ""}); expected a 4xx with a JSON error`,
      );
      return problems;
    }
    if (expect.status !== undefined && first.status !== expect.status) problems.push(`answered ${first.status}, expected ${expect.status}`);
    problems.push(...jsonErrorProblems(first, expect.code));
  } else if (expect.kind === "protocol") {
    if (!o.closedByServer)
      problems.push(`the connection stayed open ${Math.round(o.elapsedMs)} ms after a protocol violation; expected the server to close it`);
    if (first && first.status >= 400 && first.status < 500 && first.headers["content-type"]?.startsWith("application/json")) {
      problems.push(...jsonErrorProblems(first));
    }
  } else if (expect.kind === "closed-within") {
    if (!o.closedByServer || o.closedAfterMs === null) {
      problems.push(
        `a slow sender kept the connection for ${Math.round(o.elapsedMs)} ms without the server closing it; expected a close within ${expect.boundMs} ms (server request/headers timeout)`,
      );
    } else if (o.closedAfterMs > expect.boundMs) {
      problems.push(
        `a slow sender held the connection ${Math.round(o.closedAfterMs)} ms; the bound is ${expect.boundMs} ms (server request/headers timeout)`,
      );
    }
  }
  return problems;
}

function jsonErrorProblems(r: { status: number; headers: Record<string, string>; body: string }, code?: string): string[] {
  const problems: string[] = [];
  if (!(r.headers["content-type"] ?? "").startsWith("application/json")) {
    problems.push(`${r.status} answer has Content-Type ${JSON.stringify(r.headers["content-type"] ?? null)}, expected application/json`);
  }
  if (!r.headers["x-request-id"]) problems.push(`${r.status} answer has no X-Request-Id header`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(r.body);
  } catch {
    problems.push(`${r.status} answer body is not JSON: ${JSON.stringify(r.body.slice(0, 200))}`);
    return problems;
  }
  const error = (parsed as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  if (!error || typeof error.code !== "string" || !error.code || typeof error.message !== "string" || !error.message) {
    problems.push(`${r.status} answer is not {"error":{"code","message"}}: ${r.body.slice(0, 200)}`);
  } else if (code !== undefined && error.code !== code) {
    problems.push(`error code ${JSON.stringify(error.code)}, expected ${JSON.stringify(code)}`);
  }
  return problems;
}

// ---- Running the catalogue ---------------------------------------------------------------------

export interface CatalogueRunOptions {
  cases?: BadInputCase[];
  /** After each case, send a valid webhook and require a 202 (the server is still up and answering). */
  probe?: boolean;
  /** Check the queue's entries-added counter around each case (nothing enqueued). Default true. */
  checkQueue?: boolean;
  /** Cases in flight at once; default 1 (slow cases always run side by side). */
  concurrency?: number;
  onResult?: (r: CaseResult) => void;
}

export interface CatalogueReport {
  results: CaseResult[];
  /** Webhook ids of the valid probes that were answered 202: the only events that may be stored. */
  probeIds: string[];
}

/**
 * Runs the cases and returns one result per case. With checkQueue, a case that made the queue grow
 * fails ("stored something"); with probe, a case after which a valid webhook is not accepted fails.
 * Run checkStoredNothing afterwards to prove the database holds only the probes.
 */
export async function runCatalogue(target: CatalogueTarget, o: CatalogueRunOptions = {}): Promise<CatalogueReport> {
  const all = o.cases ?? badInputCatalogue();
  const checkQueue = o.checkQueue ?? true;
  const probe = o.probe ?? true;
  const redis = checkQueue ? new Redis(target.redisUrl, { maxRetriesPerRequest: 1, lazyConnect: true }) : null;
  await redis?.connect();
  const stream = `${target.namespace}:events`;
  const probeIds: string[] = [];
  const results: CaseResult[] = [];
  // Queue checks compare a counter before and after, so only one case may run at a time with them.
  const concurrency = checkQueue ? 1 : Math.max(1, o.concurrency ?? 1);
  try {
    const runOne = async (kase: BadInputCase): Promise<CaseResult> => {
      const server = target.servers[kase.profile];
      const ctx: CaseContext = {
        server,
        maxBodyBytes: target.maxBodyBytes ?? 1024 * 1024,
        id: `msg_bad_${randomText(20)}`,
        now: Math.floor(Date.now() / 1000),
      };
      const before = redis ? await entriesAdded(redis, stream) : 0;
      const observation = await exchange(server.host, server.port, scriptFor(kase, ctx));
      const problems = judge(kase.expect, observation);
      if (redis) {
        const after = await entriesAdded(redis, stream);
        if (after !== before)
          problems.push(`the queue ${stream} grew by ${after - before} entries: a rejected request must enqueue nothing`);
      }
      if (probe) {
        const p = await sendProbe(target.servers.signed, redis, stream);
        if (p.problem) problems.push(`afterwards ${p.problem}`);
        else probeIds.push(p.id);
      }
      const result = caseResult(kase, observation, problems);
      o.onResult?.(result);
      return result;
    };

    // Slow cases take seconds each: they run side by side, checked together, with one probe sent
    // while they hold their connections and one after.
    const slow = all.filter((k) => k.slow);
    const fast = all.filter((k) => !k.slow);
    let next = 0;
    const lane = async () => {
      while (next < fast.length) {
        const k = fast[next++];
        results.push(await runOne(k));
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, fast.length) }, lane));
    if (slow.length) {
      const before = redis ? await entriesAdded(redis, stream) : 0;
      // While the slow senders hold their connections, the server must still answer a valid webhook.
      const duringProbe = probe
        ? new Promise<{ id: string; problem?: string }>((r) =>
            setTimeout(() => sendProbe(target.servers.signed, null, stream).then(r), 1000),
          )
        : null;
      const slowResults = await Promise.all(
        slow.map(async (kase) => {
          const ctx: CaseContext = {
            server: target.servers[kase.profile],
            maxBodyBytes: target.maxBodyBytes ?? 1024 * 1024,
            id: `msg_bad_${randomText(20)}`,
            now: Math.floor(Date.now() / 1000),
          };
          const observations = await Promise.all(
            Array.from({ length: kase.connections ?? 1 }, () => exchange(ctx.server.host, ctx.server.port, kase.script(ctx))),
          );
          const problems = [...new Set(observations.flatMap((o) => judge(kase.expect, o)))];
          // The slowest connection speaks for the flood.
          const observation = observations.reduce((worst, o) =>
            !o.closedByServer || (worst.closedByServer && (o.closedAfterMs ?? 0) > (worst.closedAfterMs ?? 0)) ? o : worst,
          );
          return caseResult(kase, observation, problems);
        }),
      );
      const during = await duringProbe;
      if (during?.problem) for (const r of slowResults) r.problems.push(`while slow senders held connections, ${during.problem}`);
      else if (during) probeIds.push(during.id);
      if (redis) {
        const after = await entriesAdded(redis, stream);
        const expected = before + (during && !during.problem ? 1 : 0); // the probe sent in the middle
        if (after !== expected)
          for (const r of slowResults) r.problems.push(`the queue ${stream} grew by ${after - expected} entries during the slow senders`);
      }
      if (probe) {
        const p = await sendProbe(target.servers.signed, redis, stream);
        for (const r of slowResults) if (p.problem) r.problems.push(`afterwards ${p.problem}`);
        if (!p.problem) probeIds.push(p.id);
      }
      for (const r of slowResults) {
        r.ok = r.problems.length === 0;
        o.onResult?.(r);
        results.push(r);
      }
    }
  } finally {
    redis?.disconnect();
  }
  return { results, probeIds };
}

function caseResult(kase: BadInputCase, observation: ExchangeObservation, problems: string[]): CaseResult {
  const first = observation.responses.find((r) => r.status >= 200);
  let code: string | null;
  try {
    code = first ? ((JSON.parse(first.body) as { error?: { code?: string } }).error?.code ?? null) : null;
  } catch {
    code = null; // a bare protocol-level 4xx has no JSON body
  }
  return {
    name: kase.name,
    group: kase.group,
    ok: problems.length === 0,
    problems,
    status: first?.status ?? 0,
    code,
    closedAfterMs: observation.closedAfterMs === null ? null : Math.round(observation.closedAfterMs),
    elapsedMs: Math.round(observation.elapsedMs),
  };
}

/** A JSON error is complete once it arrives; a protocol violation is watched until the server closes. */
function scriptFor(kase: BadInputCase, ctx: CaseContext): ExchangeScript {
  const script = kase.script(ctx);
  return kase.expect.kind === "json-error" ? { untilResponse: true, ...script } : script;
}

/** The stream's entries-added counter (Redis 7): it only grows, even when workers trim the stream. */
async function entriesAdded(redis: Redis, stream: string): Promise<number> {
  try {
    const info = (await redis.call("XINFO", "STREAM", stream)) as unknown[];
    const i = info.indexOf("entries-added");
    return i === -1 ? Number(await redis.xlen(stream)) : Number(info[i + 1]);
  } catch (err) {
    if (/no such key/i.test((err as Error).message)) return 0;
    throw err;
  }
}

/** One valid webhook; it must be answered 202 and enqueued exactly once. */
async function sendProbe(server: CatalogueServer, redis: Redis | null, stream: string): Promise<{ id: string; problem?: string }> {
  const id = `msg_probe_${randomText(20)}`;
  const ctx: CaseContext = { server, maxBodyBytes: 0, id, now: Math.floor(Date.now() / 1000) };
  const before = redis ? await entriesAdded(redis, stream) : 0;
  const o = await exchange(server.host, server.port, { steps: [request(ctx)], waitMs: 5000, untilResponse: true });
  const r = o.responses[0];
  if (!r)
    return { id, problem: `a valid webhook got no answer (${o.socketError ?? "no response within 5 s"}): the server is down or stuck` };
  if (r.status !== 202) return { id, problem: `a valid webhook was answered ${r.status}: ${r.body.slice(0, 200)}` };
  if (redis) {
    const after = await entriesAdded(redis, stream);
    if (after !== before + 1) return { id, problem: `a valid webhook answered 202 grew the queue by ${after - before}, expected 1` };
  }
  return { id };
}

/**
 * After a run, once the workers have drained: the events table holds exactly the probes, and no
 * event went to dead_letters. Returns the problems found (empty when nothing bad was stored).
 */
export async function checkStoredNothing(target: CatalogueTarget, probeIds: string[], drainTimeoutMs = 15_000): Promise<string[]> {
  const client = new pg.Client({ connectionString: target.databaseUrl });
  await client.connect();
  const schema = `"${target.namespace}"`;
  try {
    const deadline = Date.now() + drainTimeoutMs;
    let stored = 0;
    for (;;) {
      stored = (
        await client.query(`select count(*)::int as n from ${schema}.webhook_events where idempotency_key = any($1::text[])`, [probeIds])
      ).rows[0].n;
      if (stored === probeIds.length || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const problems: string[] = [];
    if (stored !== probeIds.length)
      problems.push(`only ${stored} of ${probeIds.length} valid probes were stored within ${drainTimeoutMs} ms`);
    const others = await client.query(
      `select idempotency_key from ${schema}.webhook_events where not (idempotency_key = any($1::text[])) limit 20`,
      [probeIds],
    );
    if (others.rows.length)
      problems.push(`webhook_events holds events that are not probes: ${others.rows.map((r) => r.idempotency_key).join(", ")}`);
    const dead = await client
      .query(`select idempotency_key, error_message from ${schema}.dead_letters limit 20`)
      .catch(() => ({ rows: [] as { idempotency_key: string; error_message: string }[] }));
    if (dead.rows.length) {
      problems.push(
        `dead_letters holds accepted events PostgreSQL refused: ${dead.rows.map((r) => `${r.idempotency_key} (${r.error_message})`).join("; ")}`,
      );
    }
    return problems;
  } finally {
    await client.end();
  }
}
