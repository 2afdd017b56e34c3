// Everything the bot posts to GitHub passes through here: the one redaction evidence gets too
// (src/gates/evidence/redaction.ts: credential shapes, the bot's own secrets, the run's), and text a user wrote is
// echoed with its @-mentions neutralised, so a command cannot make the bot ping anyone.

import { createRedactor } from "../../gates/evidence/index.js";

/** The text with every credential shape, the bot's own secrets and each of `secrets` replaced by [REDACTED]. */
export function redactForGitHub(text: string, secrets: readonly string[] = []): string {
  return createRedactor(secrets)(text);
}

/** User text as the bot echoes it: `@name` becomes `@\u200bname`, which GitHub does not turn into a mention. */
export function neutraliseMentions(text: string): string {
  return text.replace(/@(?=[A-Za-z0-9_-])/g, "@\u200b");
}

/** The request fields the bot writes text into: comment and PR bodies, titles, status descriptions, check run output, commit messages. */
const TEXT_FIELDS = ["body", "title", "description", "message"] as const;

interface Hookable {
  hook: { before(name: "request", fn: (options: Record<string, unknown>) => void): void };
}

const guarded = new WeakMap<object, Set<string>>();

/**
 * Installs redaction on an Octokit instance's requests (once per instance) and returns it. `secrets`
 * are added to what that instance redacts (a run's secrets, once known).
 */
export function guardForGitHub<T extends object>(octokit: T, secrets: readonly string[] = []): T {
  let known = guarded.get(octokit);
  if (!known) {
    known = new Set<string>();
    guarded.set(octokit, known);
    const set = known;
    const hookable = octokit as unknown as Partial<Hookable>;
    hookable.hook?.before("request", (options) => {
      const redact = (v: string) => redactForGitHub(v, [...set]);
      for (const field of TEXT_FIELDS) if (typeof options[field] === "string") options[field] = redact(options[field] as string);
      const output = options.output as Record<string, unknown> | undefined;
      if (output && typeof output === "object") {
        for (const field of ["title", "summary", "text"])
          if (typeof output[field] === "string") output[field] = redact(output[field] as string);
      }
    });
  }
  for (const s of secrets) if (s) known.add(s);
  return octokit;
}
