// Probes a deployed ingest service with every credential case and records expected against actual
// status: the RBAC test matrix of the evidence bundle.

import { randomBytes } from "node:crypto";
import type { RbacCase } from "../model/index.js";
import type { Credentials } from "./deployment.js";
import { githubSignature, standardWebhookSignature } from "../../webhook-signatures.js";

interface ProbeRequest {
  name: string;
  description: string;
  expectedStatus: number;
  method?: string;
  path?: string;
  /** Headers on top of a fully valid request; null removes a header. */
  headers?: Record<string, string | null>;
  /** Replaces the valid signature with one over other content. */
  tamper?: (h: Record<string, string>) => void;
}

function validHeaders(c: Credentials, id: string, body: string, timestamp: number): Record<string, string> {
  const h: Record<string, string> = { "content-type": "application/json", "webhook-id": id, "webhook-timestamp": String(timestamp) };
  if (c.bearerKey) h.authorization = `Bearer ${c.bearerKey}`;
  if (c.signingSecret) h["webhook-signature"] = standardWebhookSignature(c.signingSecret, id, timestamp, body);
  if (c.githubSecret) h["x-hub-signature-256"] = githubSignature(c.githubSecret, body);
  return h;
}

function cases(c: Credentials): ProbeRequest[] {
  const all: ProbeRequest[] = [
    { name: "all_valid", description: "every configured credential valid", expectedStatus: 202 },
    {
      name: "no_credentials",
      description: "no Authorization and no signature headers",
      expectedStatus: c.bearerKey || c.signingSecret || c.githubSecret ? 401 : 202,
      headers: { authorization: null, "webhook-signature": null, "x-hub-signature-256": null },
    },
  ];
  if (c.bearerKey) {
    all.push(
      { name: "bearer_missing", description: "Authorization header absent", expectedStatus: 401, headers: { authorization: null } },
      {
        name: "bearer_wrong",
        description: "Authorization: Bearer with a wrong key",
        expectedStatus: 401,
        headers: { authorization: `Bearer ${randomBytes(16).toString("hex")}` },
      },
      {
        name: "bearer_wrong_scheme",
        description: "Authorization: Basic instead of Bearer",
        expectedStatus: 401,
        headers: { authorization: `Basic ${Buffer.from("user:pass").toString("base64")}` },
      },
    );
  }
  if (c.signingSecret) {
    all.push(
      {
        name: "signature_missing",
        description: "webhook-signature header absent",
        expectedStatus: 401,
        headers: { "webhook-signature": null },
      },
      {
        name: "signature_bad",
        description: "webhook-signature made with another secret",
        expectedStatus: 401,
        tamper: (h) => {
          h["webhook-signature"] = standardWebhookSignature(
            `whsec_${randomBytes(24).toString("base64")}`,
            h["webhook-id"],
            Number(h["webhook-timestamp"]),
            "{}",
          );
        },
      },
      {
        name: "signature_malformed",
        description: "webhook-signature not in v1,<base64> form",
        expectedStatus: 401,
        headers: { "webhook-signature": "v1" },
      },
      {
        name: "timestamp_stale",
        description: "webhook-timestamp 10 minutes old (tolerance 5 minutes)",
        expectedStatus: 401,
        tamper: () => {},
      },
      { name: "timestamp_future", description: "webhook-timestamp 10 minutes ahead", expectedStatus: 401, tamper: () => {} },
      {
        name: "timestamp_missing",
        description: "webhook-timestamp header absent",
        expectedStatus: 401,
        headers: { "webhook-timestamp": null },
      },
    );
  }
  if (c.githubSecret) {
    all.push(
      {
        name: "github_signature_missing",
        description: "X-Hub-Signature-256 absent",
        expectedStatus: 401,
        headers: { "x-hub-signature-256": null },
      },
      {
        name: "github_signature_bad",
        description: "X-Hub-Signature-256 over other bytes",
        expectedStatus: 401,
        headers: { "x-hub-signature-256": githubSignature("not-the-secret", "{}") },
      },
    );
  }
  all.push(
    { name: "wrong_method", description: "GET /webhooks", expectedStatus: 405, method: "GET" },
    { name: "unknown_path", description: "POST /webhookz", expectedStatus: 404, path: "/webhookz" },
  );
  return all;
}

export async function probeRbac(baseUrl: string, credentials: Credentials): Promise<RbacCase[]> {
  const results: RbacCase[] = [];
  for (const probe of cases(credentials)) {
    const id = `msg_rbac_${probe.name}_${randomBytes(6).toString("hex")}`;
    const body = JSON.stringify({ probe: probe.name, at: new Date().toISOString() });
    let ts = Math.floor(Date.now() / 1000);
    if (probe.name === "timestamp_stale") ts -= 600;
    if (probe.name === "timestamp_future") ts += 600;
    const headers = validHeaders(credentials, id, body, ts);
    probe.tamper?.(headers);
    for (const [k, v] of Object.entries(probe.headers ?? {})) {
      if (v === null) delete headers[k];
      else headers[k] = v;
    }
    const method = probe.method ?? "POST";
    let actual: number;
    try {
      const res = await fetch(`${baseUrl}${probe.path ?? "/webhooks"}`, {
        method,
        headers,
        body: method === "GET" ? undefined : body,
        signal: AbortSignal.timeout(5000),
      });
      actual = res.status;
      await res.arrayBuffer();
    } catch {
      actual = 0;
    }
    results.push({
      name: probe.name,
      description: probe.description,
      expectedStatus: probe.expectedStatus,
      actualStatus: actual,
      verdict: actual === probe.expectedStatus ? "PASS" : "FAIL",
    });
  }
  return results;
}
