// Signing and verifying webhooks, written once for every sender and receiver in the project: the
// replay driver, the probes and the fault suite sign; the ingest service verifies. Standard Webhooks
// ("whsec_" secrets; webhook-id, webhook-timestamp, webhook-signature) and GitHub's X-Hub-Signature-256.
// Data in, data out: no I/O, so the gate and the service can both import it.

import { createHmac, timingSafeEqual } from "node:crypto";

/** What a Standard Webhooks secret starts with; the rest is the base64 of the HMAC key. */
export const SECRET_PREFIX = "whsec_";

/** Standard Webhooks' tolerance for webhook-timestamp, either way. */
export const SIGNATURE_TOLERANCE_S = 300;

/** Request headers as node:http gives them (lower-case names). */
export type WebhookHeaders = Record<string, string | string[] | undefined>;

/** Why a request's signature does not hold; `message` says what to send instead. */
export interface SignatureFailure {
  code: "missing_signature" | "timestamp_out_of_tolerance" | "invalid_signature" | "missing_github_signature" | "invalid_github_signature";
  message: string;
}

// ---- Standard Webhooks -------------------------------------------------------------------------

/** Why a secret is not one Standard Webhooks issues ("whsec_" + base64 of 24 to 64 bytes), or null. */
export function signingSecretProblem(secret: string): string | null {
  if (!secret.startsWith(SECRET_PREFIX)) return 'must start with "whsec_" followed by base64 (as Standard Webhooks issues it)';
  const b64 = secret.slice(SECRET_PREFIX.length);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) return 'must be "whsec_" followed by base64';
  const bytes = Buffer.from(b64, "base64").length;
  if (bytes < 24 || bytes > 64) return `must encode 24 to 64 bytes after "whsec_", it encodes ${bytes}`;
  return null;
}

/** The HMAC key of a secret: the bytes its base64 after "whsec_" decodes to. Decode once, sign many. */
export function signingKey(secret: string): Buffer {
  return Buffer.from(secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret, "base64");
}

/**
 * webhook-signature's value: "v1," + base64 HMAC-SHA256 of "id.timestamp.body". The replay driver
 * calls this for every request: it stays one HMAC and one string, with the key decoded beforehand.
 */
export function signStandardWebhook(key: Buffer, id: string, timestamp: number | string, body: string | Buffer): string {
  return "v1," + createHmac("sha256", key).update(`${id}.${timestamp}.`).update(body).digest("base64");
}

/** webhook-signature's value straight from the secret, for a one-off request. */
export function standardWebhookSignature(secret: string, id: string, timestamp: number | string, body: string | Buffer): string {
  return signStandardWebhook(signingKey(secret), id, timestamp, body);
}

/**
 * Checks a request's Standard Webhooks headers over its raw body, in constant time: null when the
 * timestamp is within the tolerance of `nowS` (unix seconds) and one v1 entry matches.
 */
export function verifyStandardWebhook(key: Buffer, headers: WebhookHeaders, body: Buffer, nowS: number): SignatureFailure | null {
  const id = headers["webhook-id"];
  const timestamp = headers["webhook-timestamp"];
  const signature = headers["webhook-signature"];
  if (typeof id !== "string" || typeof timestamp !== "string" || typeof signature !== "string") {
    const missing = ["webhook-id", "webhook-timestamp", "webhook-signature"].filter((h) => typeof headers[h] !== "string");
    return { code: "missing_signature", message: `Standard Webhooks header(s) missing: ${missing.join(", ")}` };
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
}

// ---- GitHub ------------------------------------------------------------------------------------

/** X-Hub-Signature-256's value: "sha256=" + hex HMAC-SHA256 of the body, the secret used as it is. */
export function githubSignature(secret: string, body: string | Buffer): string {
  return "sha256=" + createHmac("sha256", secret).update(body).digest("hex");
}

/** Checks X-Hub-Signature-256 over the raw body, in constant time; null when it matches. */
export function verifyGithubSignature(secret: string, headers: WebhookHeaders, body: Buffer): SignatureFailure | null {
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
}
