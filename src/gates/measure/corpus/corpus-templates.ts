// The webhook templates a generated corpus is made of: GitHub's published payload examples (from
// @octokit/webhooks-examples), trimmed to a realistic size and compiled once into fill-in-the-blanks strings.

import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { CorpusError } from "./corpus-error.js";

/** Bodies at or under this size are sent as GitHub published them. */
const WHOLE_BODY_LIMIT = 8 * 1024;
/** Larger examples lose their `*_url` hypermedia links; still larger than this, they are skipped. */
const TRIMMED_BODY_LIMIT = 16 * 1024;

export interface Template {
  eventType: string;
  render(values: Record<Placeholder, string>): string;
}

export type Placeholder = "EVENT_ID" | "AT" | "SHA" | "REPO_ID" | "REPO_NAME" | "REPO_FULL_NAME";

const PLACEHOLDER = /"@@rg:(EVENT_ID|AT|SHA|REPO_ID|REPO_NAME|REPO_FULL_NAME)@@"/;
const mark = (p: Placeholder) => `@@rg:${p}@@`;

// Top-level objects that describe the sender's world rather than the event itself: their ids stay.
const CONTEXT_OBJECTS = new Set(["repository", "sender", "organization", "installation", "enterprise"]);

let templateCache: Template[] | undefined;

/**
 * One template per published example that concerns a repository, in the package's order (the
 * order is part of determinism).
 * Each is the example's JSON split around placeholders, so rendering an event is a join, not a
 * parse and re-serialise of a 5 KB object.
 */
export function loadTemplates(): Template[] {
  if (templateCache) return templateCache;
  let file: string;
  try {
    file = createRequire(import.meta.url).resolve("@octokit/webhooks-examples/api.github.com/index.json");
  } catch {
    throw new CorpusError(
      "corpus_examples_missing",
      "the corpus is built from @octokit/webhooks-examples, which is not installed: run `npm install @octokit/webhooks-examples` in the project folder",
    );
  }
  const catalogue = JSON.parse(readFileSync(file, "utf8")) as { name: string; examples: Record<string, unknown>[] }[];
  const templates: Template[] = [];
  for (const { name, examples } of catalogue) {
    for (const example of examples) {
      let payload = example;
      if (JSON.stringify(payload).length > WHOLE_BODY_LIMIT) payload = withoutLinkTemplates(payload) as Record<string, unknown>;
      if (JSON.stringify(payload).length > TRIMMED_BODY_LIMIT) continue;
      // Ordering keys are repositories: app-level events (installation, organization ...) have none.
      if (payload.repository === null || typeof payload.repository !== "object") continue;
      templates.push(compileTemplate(name, payload));
    }
  }
  if (templates.length === 0) throw new CorpusError("corpus_examples_missing", `no usable webhook examples in ${file}`);
  templateCache = templates;
  return templates;
}

/** Drops GitHub's `*_url` hypermedia links (derivable from `url`), keeping `url` and `html_url`. */
function withoutLinkTemplates(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutLinkTemplates);
  if (value === null || typeof value !== "object") return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (k.endsWith("_url") && k !== "html_url") continue;
    out[k] = withoutLinkTemplates(v);
  }
  return out;
}

function compileTemplate(eventType: string, example: Record<string, unknown>): Template {
  const payload = structuredClone(example);
  // Vary what differs between real deliveries: the event's own object id and times, and the
  // repository, which becomes the ordering key's.
  for (const [k, v] of Object.entries(payload)) {
    if (typeof v === "string" && (k.endsWith("_at") || k.endsWith("_date"))) payload[k] = mark("AT");
    if (k === "after" && typeof v === "string" && /^[0-9a-f]{40}$/.test(v)) payload[k] = mark("SHA");
    if (v === null || typeof v !== "object" || Array.isArray(v)) continue;
    const object = v as Record<string, unknown>;
    if (k === "repository") {
      if ("id" in object) object.id = mark("REPO_ID");
      if ("name" in object) object.name = mark("REPO_NAME");
      if ("full_name" in object) object.full_name = mark("REPO_FULL_NAME");
      if (typeof object.pushed_at === "string") object.pushed_at = mark("AT");
      if (typeof object.updated_at === "string") object.updated_at = mark("AT");
      continue;
    }
    if (CONTEXT_OBJECTS.has(k)) continue;
    if (typeof object.id === "number") object.id = mark("EVENT_ID");
    if (k === "head_commit" && typeof object.id === "string") object.id = mark("SHA");
    for (const field of ["created_at", "updated_at", "timestamp"]) {
      if (typeof object[field] === "string") object[field] = mark("AT");
    }
  }
  const parts = JSON.stringify(payload).split(PLACEHOLDER);
  // split() with a capturing group alternates literal text and placeholder names.
  return {
    eventType,
    render(values) {
      // join() builds one flat string; += would build a rope that is flattened later, at send time.
      const out = parts.slice();
      for (let i = 1; i < out.length; i += 2) out[i] = values[out[i] as Placeholder];
      return out.join("");
    },
  };
}
