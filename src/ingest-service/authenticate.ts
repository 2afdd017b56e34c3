// Webhook authentication over the raw body bytes, in constant time: bearer key, Standard Webhooks
// signatures and GitHub's X-Hub-Signature-256 (both from ../webhook-signatures.ts). A request must
// pass every scheme that is configured.

import { timingSafeEqual } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import { signingKey, verifyGithubSignature, verifyStandardWebhook, type SignatureFailure } from "../webhook-signatures.js";

export interface AuthSettings {
  /** Authorization: Bearer <key>. */
  bearerKey?: string;
  /** Standard Webhooks secret, "whsec_<base64>". */
  signingSecret?: string;
  /** GitHub webhook secret, for X-Hub-Signature-256. */
  githubSecret?: string;
}

export interface AuthFailure {
  code: "missing_credentials" | "invalid_bearer" | SignatureFailure["code"];
  message: string;
}

/** Checks one request; null when every configured scheme passes. `nowS` is unix seconds. */
export type Authenticator = (headers: IncomingHttpHeaders, body: Buffer, nowS: number) => AuthFailure | null;

export function createAuthenticator(settings: AuthSettings): Authenticator {
  const checks: Authenticator[] = [];
  const { bearerKey, signingSecret, githubSecret } = settings;
  if (bearerKey) checks.push(bearerCheck(bearerKey));
  if (signingSecret) {
    const key = signingKey(signingSecret);
    checks.push((headers, body, nowS) => verifyStandardWebhook(key, headers, body, nowS));
  }
  if (githubSecret) checks.push((headers, body) => verifyGithubSignature(githubSecret, headers, body));
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
