// `environments:` the gate as a GitHub deployment protection rule: what each environment requires
// (sign-off, a PASS, or a run of its own against its own service), and how long it soaks.

import { isMap, isScalar, type Node } from "yaml";
import type { DeployedTarget, GuardedEnvironment, Target } from "../../model/index.js";
import { comparison } from "../../verdict/index.js";
import { countIn, durationIn, oneOf, rateIn } from "../converters.js";
import type { Entry, GateReader } from "../gate-reader.js";
import { DEFAULT_DRAIN_TIMEOUT_MS, ENVIRONMENT_KEYS } from "../schema.js";
import { readDeployed } from "./target.js";

export function readEnvironments(r: GateReader, entry: Entry, gateTarget: Target): GuardedEnvironment[] | undefined {
  const node = r.deref(entry.value);
  const expected = `a mapping from environment name to its rule, such as production: { requires: signoff }`;
  if (r.isEmpty(node)) {
    r.problem(entry.key, "environments", `no environments; expected ${expected}`);
    return undefined;
  }
  if (!isMap(node!)) {
    r.problem(node, "environments", `${r.kindOf(node!)} is not a mapping; expected ${expected}`);
    return undefined;
  }
  const out: GuardedEnvironment[] = [];
  let ok = true;
  for (const pair of node.items) {
    const keyNode = pair.key as Node | null;
    const name = isScalar(keyNode) ? keyNode.value : undefined;
    if (typeof name !== "string" || !/^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/.test(name)) {
      r.problem(
        keyNode,
        "environments",
        `${JSON.stringify(name)} is not an environment name; expected a GitHub environment name such as production or canary-10`,
      );
      ok = false;
      continue;
    }
    const env = readEnvironment(r, { key: keyNode!, value: (pair.value as Node | null) ?? null }, name, gateTarget);
    if (env) out.push(env);
    else ok = false;
  }
  return ok ? out : undefined;
}

function readEnvironment(r: GateReader, entry: Entry, name: string, gateTarget: Target): GuardedEnvironment | undefined {
  const path = `environments.${name}`;
  const m = r.mapping(entry, path, ENVIRONMENT_KEYS, `the environment ${name}`);
  if (!m) return undefined;
  const at = (k: string) => m.entries.get(k);
  const requires = r.value(at("requires"), `${path}.requires`, oneOf(["signoff", "pass", "run"] as const));
  const soakMs = at("soak") ? r.value(at("soak")!, `${path}.soak`, durationIn(0, 7 * 24 * 3_600_000)) : undefined;
  if (requires === undefined || (at("soak") && soakMs === undefined)) return undefined;
  const env: GuardedEnvironment = { name, requires };
  if (soakMs !== undefined) env.soakMs = soakMs;
  if (requires !== "run") {
    let ok = true;
    for (const k of ["target", "credentials", "phase"]) {
      const e = at(k);
      if (!e) continue;
      r.problem(
        e.key,
        `${path}.${k}`,
        `applies only to requires: run (a run of the gate against the environment); expected no ${k} with requires: ${requires}`,
      );
      ok = false;
    }
    return ok ? env : undefined;
  }
  const target = at("target")
    ? readEnvironmentTarget(r, at("target")!, `${path}.target`)
    : gateTarget.kind === "deployed"
      ? gateTarget
      : undefined;
  if (!target) {
    if (!at("target")) {
      r.problem(
        at("requires")!.value,
        `${path}.requires`,
        `requires: run measures the environment's own service, and neither this environment nor the gate names one; expected target: { deployed: { url, database_url } } under ${path}`,
      );
    }
    return undefined;
  }
  env.target = target;
  if (at("credentials")) {
    const c = r.mapping(
      at("credentials"),
      `${path}.credentials`,
      { required: [], optional: ["signing_secret", "bearer_key"] },
      "the credentials",
    );
    if (!c) return undefined;
    // Secrets come from ${VARS}; one that is empty where the gate file is read (e.g. by `gate validate`)
    // is simply not there, and a run without the environment's credentials is refused when it is asked for.
    const secret = (pattern: RegExp, expected: string) => (raw: unknown) => {
      if (raw === "" || raw === null) return "";
      if (typeof raw !== "string" || !pattern.test(raw)) throw new Error(`this is not ${expected}`);
      return raw;
    };
    const signingSecret = c.entries.get("signing_secret")
      ? r.value(
          c.entries.get("signing_secret"),
          `${path}.credentials.signing_secret`,
          secret(/^whsec_/, 'a Standard Webhooks secret (whsec_...); expected e.g. "${CANARY_SIGNING_SECRET:-}"'),
        )
      : "";
    const bearerKey = c.entries.get("bearer_key")
      ? r.value(c.entries.get("bearer_key"), `${path}.credentials.bearer_key`, secret(/^\S+$/, "a bearer key"))
      : "";
    if (signingSecret === undefined || bearerKey === undefined) return undefined;
    env.credentials = { ...(signingSecret ? { signingSecret } : {}), ...(bearerKey ? { bearerKey } : {}) };
  }
  if (at("phase")) {
    const p = r.mapping(
      at("phase"),
      `${path}.phase`,
      { required: ["requests", "rate", "latency_p95"], optional: ["drain_timeout"] },
      "the environment's phase",
    );
    if (!p) return undefined;
    const pat = (k: string) => p.entries.get(k);
    const requests = r.value(pat("requests"), `${path}.phase.requests`, countIn(1, 10_000_000));
    const rate = r.value(pat("rate"), `${path}.phase.rate`, rateIn(100_000));
    const bar = r.value(pat("latency_p95"), `${path}.phase.latency_p95`, comparison("latency_p95"));
    const drainTimeoutMs = pat("drain_timeout")
      ? r.value(pat("drain_timeout")!, `${path}.phase.drain_timeout`, durationIn(1, 3_600_000))
      : DEFAULT_DRAIN_TIMEOUT_MS;
    if (requests === undefined || rate === undefined || bar === undefined || drainTimeoutMs === undefined) return undefined;
    const phaseName =
      name
        .toLowerCase()
        .replace(/[^a-z0-9_-]/g, "-")
        .replace(/^[^a-z]+/, "") || "environment";
    env.phase = { name: phaseName.slice(0, 32), aliases: [], requests, rate, latencyP95Ms: bar.bar, drainTimeoutMs };
  }
  return env;
}

function readEnvironmentTarget(r: GateReader, entry: Entry, path: string): DeployedTarget | undefined {
  const m = r.mapping(entry, path, { required: ["deployed"], optional: [] }, "the environment's target");
  return m && readDeployed(r, m.entries.get("deployed"), path);
}
