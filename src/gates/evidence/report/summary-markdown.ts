// summary.md, the bundle's front page in Markdown: what the evidence PR shows.

import { capacityMarkdown } from "../../measure/index.js";
import { formatCount, formatMs } from "../../model/index.js";
import { renderTimeline, renderWarRoomUpdate } from "../../war-room/index.js";
import { baselineLine } from "../../verdict/index.js";
import { preflightMarkdown } from "./preflight-report.js";
import { durationText, itemEntries, latencyCells, phaseReplayNote, signoffMarkdown, type ReportInput } from "./evidence-report.js";
import type { EvidenceItem } from "../items/index.js";
import { MANIFEST_FILE, MANIFEST_HISTORY_FILE } from "../manifest.js";
import { didNotRun, markdownCell, markdownTable } from "./report-format.js";
import { resourcesMarkdown } from "./resources-report.js";
import { attemptsMarkdown } from "../attempt-ledger.js";

export function renderSummaryMarkdown(input: ReportInput): string {
  const { run } = input;
  const gate = run.gate;
  const byPhase = new Map(input.histograms.map((h) => [h.histogram.phase, h]));
  const out: string[] = [
    `# ${gate.title}: ${run.verdict}`,
    "",
    `**${run.verdict}**: ${run.reason}`,
    "",
    markdownTable(
      ["", ""],
      [
        ["Gate", `\`${gate.name}\` from \`${gate.source.file}\` (sha256 \`${gate.source.sha256}\`)`],
        ["Application", gate.application],
        ["Commit under test", `\`${run.commit}\``],
        ["Run", `\`${run.id}\`, ${run.startedAt} to ${run.finishedAt}${durationText(run)}`],
        ...(run.baseline ? [["Baseline", baselineLine(run.baseline)!]] : []),
        ["DRI / status owner", `${gate.dri} / ${gate.statusOwner}`],
        // The status itself lives in the sign-off section, the only part a recorded approval rewrites.
        [
          "Sign-off",
          `${input.approvals.required} approval(s) from ${input.approvals.approvers.length ? input.approvals.approvers.join(", ") : `anyone with ${input.approvals.permission} permission`}; status under [HOTL sign-off](#hotl-sign-off)`,
        ],
      ],
    ),
    "",
    ...(run.attempts ? ["## Attempts on this commit", "", ...attemptsMarkdown(run.attempts), ""] : []),
    "## Verdict by phase",
    "",
    markdownTable(
      ["Phase", "Requests", "Rate", "Latency bar (P95)", "Replay", "Verdict", "Reason"],
      run.phases.map((p) => [
        p.name,
        formatCount(p.requests),
        `${p.rate}/s`,
        formatMs(p.latencyBarMs),
        phaseReplayNote(p),
        `**${p.verdict}**`,
        p.reason,
      ]),
      "no phase",
    ),
    "",
    ...resourcesMarkdown(run, input.timelines ?? [], new Set(input.items.flatMap((i) => i.files))),
    "## Each SLO against its bar",
    "",
  ];
  for (const p of run.phases) {
    out.push(`### ${p.name}: ${p.verdict}`, "");
    out.push(
      markdownTable(
        ["SLO", "Measured", "Bar", "Verdict", "Detail"],
        p.slos.map((s) => [s.name, s.measuredDisplay, s.bar, `**${s.verdict}**`, s.detail ?? ""]),
        p.ran ? "no SLO was evaluated" : didNotRun(p.reason),
      ),
      "",
    );
  }
  out.push(
    "## Latency",
    "",
    "Open-loop replay; latency is from each request's due time to its answer (coordinated omission corrected), over every request of the phase.",
    "",
    markdownTable(
      ["Phase", "n", "P50", "P95", "P99", "Max", "Bar", "Histogram"],
      run.phases.map((p) => {
        const h = byPhase.get(p.name);
        const links = h ? `[svg](${h.files.svg}) · [json](${h.files.json}) · [csv](${h.files.csv})` : "";
        return [p.name, ...latencyCells(h?.histogram), formatMs(p.latencyBarMs), links];
      }),
      "no phase",
    ),
    "",
  );
  for (const h of input.histograms) out.push(`![${markdownCell(h.histogram.phase)} latency histogram](${h.files.svg})`, "");
  for (const o of input.overlays ?? []) out.push(`![${markdownCell(o.phase)} against the baseline](${o.file})`, "");
  for (const s of input.shards ?? []) out.push(`![${markdownCell(s.phase)}: each runner's histogram](${s.file})`, "");
  const l = input.ledger;
  out.push(
    "## Error budget",
    "",
    `From ${l.source}.`,
    "",
    markdownTable(
      ["Scope", "Allowed", "Spent", "Left", "Status"],
      [...l.phases, l.overall].map((x) => [
        x.scope,
        x.ran ? formatCount(x.allowed) : "—",
        formatCount(x.spent),
        x.ran ? formatCount(x.left) : "—",
        x.status,
      ]),
    ),
    "",
    "## Evidence items",
    "",
    ...itemLinksMarkdown(input),
    "",
    `Also: ${input.rootFiles.map((f) => `[${f}](${f})`).join(", ")}.`,
    "",
  );
  if (input.problems.length > 0) out.push("## Problems", "", ...input.problems.map((p) => `- ${p}`), "");
  if (run.preflight) out.push(preflightMarkdown(run.preflight).replace(/^# /, "## "));
  if (run.capacity) out.push(capacityMarkdown(run.capacity));
  out.push("## War-room timeline", "", run.timeline.length ? renderTimeline(run.timeline) : "No milestone was recorded.", "");
  const latest = run.updates[run.updates.length - 1];
  out.push(
    "## Latest war-room update",
    "",
    latest ? ["```", renderWarRoomUpdate(latest), "```"].join("\n") : "No update was recorded.",
    "",
  );
  out.push(signoffMarkdown(input.approvals, input.decisions), "");
  out.push(
    "## How to check this bundle",
    "",
    "Inside the bundle's folder, with nothing but GNU coreutils:",
    "",
    "```",
    `sha256sum -c --strict ${MANIFEST_FILE}`,
    "```",
    "",
    `or \`gate verify DIR\`, which also names every file added since the manifest was written. When a sign-off is recorded the manifest is rewritten; the digest of each replaced manifest is listed in [${MANIFEST_HISTORY_FILE}](${MANIFEST_HISTORY_FILE}) and a copy kept under \`manifest-history/\`, so the bundle's history is a chain.`,
    "",
    "## Layout",
    "",
    layoutParagraph(input.items.map((i) => i.item)),
    "",
  );
  return out.join("\n");
}

function itemLinksMarkdown(input: ReportInput): string[] {
  return itemEntries(input).map(({ item, files, note }) => {
    const links = files.map((f) => `[${f.slice(f.lastIndexOf("/") + 1)}](${f})`).join(", ");
    return `${item.number}. **${item.title}**: ${links}${note}`;
  });
}

/** summary.md's Layout paragraph: the files of the items in this bundle, then the ones at the root. */
function layoutParagraph(items: readonly EvidenceItem[]): string {
  const inFolders = items.filter((i) => !i.rootFiles).map((i) => i.layout);
  const atRoot = items.filter((i) => i.rootFiles).map((i) => i.layout);
  return `Stable names, one folder per numbered item: ${inFolders.join("; ")}; and at the root ${[...atRoot, ROOT_LAYOUT].join(", ")}. Every file is redacted: no credential used in the run appears in it.`;
}

const ROOT_LAYOUT =
  "`summary.md`, `report.html`, `verdict.json` (the document `gate run --json` prints), `attestation.intoto.json` (in-toto Statement v1, test-result predicate)";
