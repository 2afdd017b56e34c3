// Where the files outside the numbered items live in an evidence bundle (each item's own files are named in its
// module under items/). These names are stable: the bot, the docs, reviewers' scripts and `sha256sum -c` all
// rely on them, and summary.md documents them for people.

export const BUNDLE_FILES = {
  summary: "summary.md",
  report: "report.html",
  verdict: "verdict.json",
  attestation: "attestation.intoto.json",
} as const;

/** A name made safe for a file name: phase and log names come from gate files and runs, not from us. */
export function fileStem(name: string): string {
  const stem = name
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, "-")
    .replace(/^[-.]+|-+$/g, "");
  return stem || "unnamed";
}
