// How a sender signs a webhook: Standard Webhooks (webhook-signature) and GitHub (X-Hub-Signature-256).

import { createHmac } from "node:crypto";

/** `v1,<base64 HMAC-SHA256(key, "${id}.${timestamp}.${body}")>`, key = base64-decoded part after `whsec_`. */
export function standardWebhookSignature(secret: string, id: string, timestamp: number, body: string): string {
  const key = Buffer.from(secret.startsWith("whsec_") ? secret.slice(6) : secret, "base64");
  return `v1,${createHmac("sha256", key).update(`${id}.${timestamp}.${body}`).digest("base64")}`;
}

/** `sha256=<hex HMAC-SHA256(secret, body)>`. */
export function githubSignature(secret: string, body: string): string {
  return `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
}
