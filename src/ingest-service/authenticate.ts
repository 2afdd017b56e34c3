// Webhook authentication over the raw body bytes, in constant time: bearer key, Standard Webhooks
// signatures and GitHub's X-Hub-Signature-256. A request must pass every scheme that is configured.

import { createHmac, timingSafeEqual } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";

export interface AuthSettings {
  /** Authorization: Bearer <key>. */
  bearerKey?: string;
  /** Standard Webhooks secret, "whsec_<base64>". */
  signingSecret?: string;
  /** GitHub webhook secret, for X-Hub-Signature-256. */
  githubSecret?: string;
}

export interface AuthFailure {
  code:
    | "missing_credentials"
    | "invalid_bearer"
    | "missing_signature"
    | "invalid_signature"
    | "timestamp_out_of_tolerance"
    | "missing_github_signature"
    | "invalid_github_signature";
  message: string;
}

/** Checks one request; null when every configured scheme passes. `nowS` is unix seconds. */
export type Authenticator = (headers: IncomingHttpHeaders, body: Buffer, nowS: number) => AuthFailure | null;

/** Standard Webhooks' tolerance for webhook-timestamp, either way. */
export const SIGNATURE_TOLERANCE_S = 300;

export function createAuthenticator(settings: AuthSettings): Authenticator {
  const checks: Authenticator[] = [];
  if (settings.bearerKey) checks.push(bearerCheck(settings.bearerKey));
  if (settings.signingSecret) checks.push(standardWebhooksCheck(settings.signingSecret));
  if (settings.githubSecret) checks.push(githubCheck(settings.githubSecret));
  if (checks.length === 0) return () => null;
  return (headers, body, nowS) => {
    for (const check of checks) {
      const failure = check(headers, body, nowS);
      if (failure) return failure;
    }
    return null;
  };
}

function bearerCheck(key: string): Authenticator {
  const expected = Buffer.from(key);
  return (headers) => {
    const header = headers.authorization;
    if (!header) {
      return { code: "missing_credentials", message: "the Authorization header is missing; send Authorization: Bearer <key>" };
    }
    const m = /^Bearer +(.+)$/i.exec(header);
    const given = m ? Buffer.from(m[1].trim()) : null;
    // Constant time in the key's content; only its length can be learnt, as with any fixed-format token.
    if (!given || given.length !== expected.length || !timingSafeEqual(given, expected)) {
      return { code: "invalid_bearer", message: "the Authorization header does not carry the configured bearer key" };
    }
    return null;
  };
}

function standardWebhooksCheck(secret: string): Authenticator {
  const key = Buffer.from(secret.slice("whsec_".length), "base64");
  return (headers, body, nowS) => {
    const id = headers["webhook-id"];
    const timestamp = headers["webhook-timestamp"];
    const signature = headers["webhook-signature"];
    if (typeof id !== "string" || typeof timestamp !== "string" || typeof signature !== "string") {
      const missing = ["webhook-id", "webhook-timestamp", "webhook-signature"].filter((h) => typeof headers[h] !== "string");
      return {
        code: "missing_signature",
        message: `Standard Webhooks header(s) missing: ${missing.join(", ")}`,
      };
    }
    const ts = /^\d{1,15}$/.test(timestamp) ? Number(timestamp) : NaN;
    if (!Number.isFinite(ts) || Math.abs(nowS - ts) > SIGNATURE_TOLERANCE_S) {
      return {
        code: "timestamp_out_of_tolerance",
        message: `webhook-timestamp ${JSON.stringify(timestamp)} is not within ${SIGNATURE_TOLERANCE_S} s of the server clock (${Math.floor(nowS)}); re-sign with the current time`,
      };
    }
    const expected = createHmac("sha256", key).update(`${id}.${timestamp}.`).update(body).digest();
    // Several space-separated "v1,<base64>" entries are allowed (secret rotation): any one may match.
    for (const entry of signature.split(" ")) {
      if (!entry.startsWith("v1,")) continue;
      const given = Buffer.from(entry.slice(3), "base64");
      if (given.length === expected.length && timingSafeEqual(given, expected)) return null;
    }
    return {
      code: "invalid_signature",
      message: "webhook-signature has no v1 entry matching HMAC-SHA256 of webhook-id.webhook-timestamp.body with the configured secret",
    };
  };
}

function githubCheck(secret: string): Authenticator {
  return (headers, body) => {
    const header = headers["x-hub-signature-256"];
    if (typeof header !== "string") {
      return { code: "missing_github_signature", message: "the X-Hub-Signature-256 header is missing" };
    }
    const expected = createHmac("sha256", secret).update(body).digest();
    const m = /^sha256=([0-9a-f]{64})$/i.exec(header);
    const given = m ? Buffer.from(m[1], "hex") : Buffer.alloc(expected.length);
    if (!timingSafeEqual(given, expected) || !m) {
      return {
        code: "invalid_github_signature",
        message: "X-Hub-Signature-256 does not match sha256=<hex HMAC-SHA256 of the body> with the configured secret",
      };
    }
    return null;
  };
}
