// How the evidence bundle's human-readable files write tables, times, HTML and JSON. Numbers are written with
// units.ts ("18.4ms", "30,000", "0.10%") and war-room times with war-room.ts ("20:30 UTC"), as everywhere else.

/** An ISO time as date and minute: "2025-11-13 02:00 UTC". */
export function formatUtcDateTime(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${d.toISOString().slice(0, 10)} ${d.toISOString().slice(11, 16)} UTC`;
}

/** Text made safe for one Markdown table cell: pipes escaped, newlines folded. */
export function markdownCell(value: unknown): string {
  const text = value === null || value === undefined ? "" : String(value);
  return text.replace(/\\/g, "\\\\").replace(/\|/g, "\\|").replace(/\r?\n/g, " ");
}

/** A GitHub-flavoured Markdown table; an empty body gets one row saying so, so a table is never silently blank. */
export function markdownTable(header: string[], rows: unknown[][], emptyText = "none"): string {
  const lines = [`| ${header.map(markdownCell).join(" | ")} |`, `|${header.map(() => "---").join("|")}|`];
  if (rows.length === 0) lines.push(`| ${[emptyText, ...header.slice(1).map(() => "")].map(markdownCell).join(" | ")} |`);
  for (const row of rows) lines.push(`| ${row.map(markdownCell).join(" | ")} |`);
  return lines.join("\n");
}

/** A table under its caption when it has rows, else `none`: a report lists what went wrong only when something did. */
export function markdownListing(caption: string, header: string[], rows: unknown[][], none: string[] = []): string[] {
  return rows.length > 0 ? [caption, "", markdownTable(header, rows), ""] : none;
}

/** Escape text for HTML element content and attribute values. */
export function escapeHtml(value: unknown): string {
  const text = value === null || value === undefined ? "" : String(value);
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;");
}

/** JSON as every bundle file writes it: two-space indent and a final newline, so diffs in the evidence PR stay readable. */
export function jsonFile(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/** "did not run: <why>", without doubling a reason that already says so (the runner writes "not run: ..."). */
export function didNotRun(reason: string): string {
  return /^(did )?not run\b/i.test(reason) ? `did ${reason.replace(/^did /i, "")}` : `did not run: ${reason}`;
}
