// What a webhook must satisfy, as one table in the order it is checked: the first check that fails is
// the answer. A check returns null when the request passes, and allocates nothing then.

import { isUtf8 } from "node:buffer";
import type { IncomingHttpHeaders } from "node:http";
import { createAuthenticator } from "../authenticate.js";
import type { ServerOptions } from "../config.js";
import { checkJsonObject } from "../json-check.js";
import { SEQUENCE } from "../queued-event.js";
import { JSON_TYPE, type Refusal } from "./route.js";

export type WebhookCheck = (h: IncomingHttpHeaders, body: Buffer) => Refusal | null;

export interface WebhookChecks {
  /** On the headers alone, before a byte of the body is read (they see an empty body). */
  beforeBody: readonly WebhookCheck[];
  /** On the whole request, once the body is in. */
  onRequest: readonly WebhookCheck[];
  /** The answer to a body over --max-body-bytes, whether declared or found while reading. */
  tooLarge: Refusal;
}

/** The idempotency key: webhook-id, else X-GitHub-Delivery, else Idempotency-Key. */
export function idempotencyKeyOf(h: IncomingHttpHeaders): string | string[] | undefined {
  return h["webhook-id"] ?? h["x-github-delivery"] ?? h["idempotency-key"];
}

const EMPTY_BODY: Refusal = { status: 400, code: "empty_body", message: "the request body is empty; send a JSON object" };
const MISSING_KEY: Refusal = {
  status: 400,
  code: "missing_idempotency_key",
  message: "no idempotency key: send a webhook-id, X-GitHub-Delivery or Idempotency-Key header",
};
const LONG_KEY: Refusal = { status: 400, code: "invalid_idempotency_key", message: "the idempotency key is longer than 256 characters" };
const NOT_UTF8: Refusal = { status: 400, code: "malformed_json", message: "the body is not valid UTF-8 JSON" };

export function webhookChecks(options: ServerOptions): WebhookChecks {
  const authenticate = createAuthenticator(options.auth);
  const { maxBodyBytes, orderingKeyHeader, sequenceHeader } = options;
  const tooLarge: Refusal = {
    status: 413,
    code: "payload_too_large",
    message: `the body is larger than ${maxBodyBytes} bytes (--max-body-bytes)`,
    headers: { connection: "close" },
  };
  const badOrderingKey: Refusal = {
    status: 400,
    code: "invalid_ordering_key",
    message: `${orderingKeyHeader} must be 1 to 256 characters`,
  };
  const missingSequence: Refusal = {
    status: 400,
    code: "missing_sequence",
    message: `${orderingKeyHeader} is set but ${sequenceHeader} is missing: events of an ordering key need a sequence number`,
  };

  const contentType: WebhookCheck = (h) => {
    const type = h["content-type"];
    if (type === JSON_TYPE || isJsonType(type)) return null;
    return {
      status: 415,
      code: "unsupported_media_type",
      message: `Content-Type must be application/json, got ${JSON.stringify(type ?? "")}`,
    };
  };
  const contentLength: WebhookCheck = (h) => {
    const declared = h["content-length"];
    return declared !== undefined && Number(declared) > maxBodyBytes ? tooLarge : null;
  };
  const authentication: WebhookCheck = (h, body) => {
    const failure = authenticate(h, body, Date.now() / 1000);
    return failure && { status: 401, code: failure.code, message: failure.message };
  };
  const nonEmptyBody: WebhookCheck = (_, body) => (body.length === 0 ? EMPTY_BODY : null);
  const idempotencyKey: WebhookCheck = (h) => {
    const key = idempotencyKeyOf(h);
    if (typeof key !== "string" || key.length === 0) return MISSING_KEY;
    return key.length > 256 ? LONG_KEY : null;
  };
  const sequence: WebhookCheck = (h) => {
    const seq = h[sequenceHeader];
    if (seq === undefined || (typeof seq === "string" && SEQUENCE.test(seq))) return null;
    return {
      status: 400,
      code: "invalid_sequence",
      message: `${sequenceHeader} must be a non-negative integer, got ${JSON.stringify(seq)}`,
    };
  };
  const orderingKey: WebhookCheck = (h) => {
    const key = h[orderingKeyHeader];
    if (key === undefined) return null;
    if (typeof key !== "string" || key.length === 0 || key.length > 256) return badOrderingKey;
    return h[sequenceHeader] === undefined ? missingSequence : null;
  };
  const jsonObject: WebhookCheck = (_, body) => {
    if (!isUtf8(body)) return NOT_UTF8;
    const problem = checkJsonObject(body);
    return problem && { status: 400, code: problem.code, message: problem.message };
  };

  return {
    beforeBody: [contentType, contentLength],
    onRequest: [authentication, nonEmptyBody, idempotencyKey, sequence, orderingKey, jsonObject],
    tooLarge,
  };
}

/** application/json, in any case, optionally followed by parameters (`; charset=utf-8`). */
function isJsonType(type: string | undefined): boolean {
  if (!type) return false;
  const t = type.toLowerCase();
  if (!t.startsWith(JSON_TYPE)) return false;
  const next = t.charCodeAt(JSON_TYPE.length);
  return Number.isNaN(next) || next === 59 /* ; */ || next === 32; /* space */
}
