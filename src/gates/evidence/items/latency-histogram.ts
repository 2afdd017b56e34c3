// Evidence item 2: each phase's latency histogram (P50/P95/P99 against its bar) and its latency over time, each as
// data, CSV and picture; a phase that did not run says so in all of them.

import { fileStem } from "../evidence-layout.js";
import { histogramSvg } from "../report/histogram-svg.js";
import { buildLatencyHistogram, histogramCsv } from "../report/latency-buckets.js";
import { buildLatencyTimeline, timelineCsv } from "../report/latency-timeline.js";
import { jsonFile } from "../report/report-format.js";
import { timelineSvg } from "../report/timeline-svg.js";
import { baselineOverlaySvg } from "../report/baseline-overlay-svg.js";
import { shardsSvg } from "../report/shards-svg.js";
import { comparisonDocument, COMPARISON_FILE } from "../comparison-document.js";
import type { BundleWriter } from "./bundle-writer.js";
import type { EvidenceItem } from "./evidence-item.js";

const FOLDER = "02-latency";

/** A chart's data, as JSON and CSV, and its picture. */
interface ChartFiles {
  json: string;
  csv: string;
  svg: string;
}

export function histogramFiles(phaseName: string): ChartFiles {
  const stem = `${FOLDER}/${fileStem(phaseName)}.histogram`;
  return { json: `${stem}.json`, csv: `${stem}.csv`, svg: `${stem}.svg` };
}

/** A phase's histogram over the baseline run's (a gate with `baseline:` that found one). */
export function overlayFile(phaseName: string): string {
  return `${FOLDER}/${fileStem(phaseName)}.baseline-overlay.svg`;
}

/** A runner-driven phase's shards' histograms over the merged one. */
export function shardsFile(phaseName: string): string {
  return `${FOLDER}/${fileStem(phaseName)}.shards.svg`;
}

/** A phase's latency over time (latency-timeline.ts), beside its histogram. */
export function timelineFiles(phaseName: string): ChartFiles {
  const stem = `${FOLDER}/${fileStem(phaseName)}.timeline`;
  return { json: `${stem}.json`, csv: `${stem}.csv`, svg: `${stem}.svg` };
}

async function writeChart(bundle: BundleWriter, at: ChartFiles, json: string, csv: string, svg: string): Promise<void> {
  await bundle.text(at.json, json);
  await bundle.text(at.csv, csv);
  await bundle.text(at.svg, svg);
}

export const latencyHistogram = {
  id: "latency_histogram",
  number: 2,
  title: "Latency histograms (P50/P95/P99)",
  path: FOLDER,
  layout:
    "`02-latency/<phase>.histogram.{json,csv,svg}`, `02-latency/<phase>.timeline.{json,csv,svg}` (latency over time); for a gate with `baseline:`, `02-latency/comparison.json` (this run's identity and the baseline it was compared with) and `02-latency/<phase>.baseline-overlay.svg`; for a phase driven by several runners, `02-latency/<phase>.shards.svg` (each shard's histogram over the merged one)",
  async write({ run, bundle, report }) {
    for (const phase of run.phases) {
      const histogram = buildLatencyHistogram(phase);
      const histogramPicture = histogramSvg(histogram);
      const histogramAt = histogramFiles(phase.name);
      await writeChart(bundle, histogramAt, jsonFile(histogram), histogramCsv(histogram), histogramPicture);
      report.histograms.push({ histogram, svg: histogramPicture, files: histogramAt });
      const timeline = buildLatencyTimeline(phase);
      const timelinePicture = timelineSvg(timeline);
      const timelineAt = timelineFiles(phase.name);
      await writeChart(bundle, timelineAt, jsonFile(timeline), timelineCsv(timeline), timelinePicture);
      report.timelines.push({ timeline, svg: timelinePicture, files: timelineAt });
      // One shard's histogram is the merged one: the picture is for phases split over runners.
      if (phase.replay?.shards && phase.replay.shards.runners > 1) {
        const svg = shardsSvg(phase.name, phase.replay.shards);
        const file = shardsFile(phase.name);
        await bundle.text(file, svg);
        report.shards.push({ phase: phase.name, svg, file });
      }
    }
    if (!run.baseline) return;
    await bundle.text(COMPARISON_FILE, jsonFile(comparisonDocument(run, run.baseline)));
    if (!run.baseline.compared) return;
    const base = run.baseline.run;
    for (const phase of run.phases) {
      const other = base.phases.find((p) => p.name === phase.name);
      if (!phase.replay || !other) continue;
      const judged = phase.slos.find((s) => s.name === "latency_p95_regression");
      const svg = baselineOverlaySvg({
        phase: phase.name,
        candidate: phase.replay.samples.map((s) => s.latencyMs),
        baseline: other.samples.map((s) => s.latencyMs),
        candidateLabel: "this run",
        baselineLabel: `baseline ${base.runId}`,
        verdict: judged?.verdict ?? "not judged",
        measured: judged?.measuredDisplay ?? "",
      });
      const file = overlayFile(phase.name);
      await bundle.text(file, svg);
      report.overlays.push({ phase: phase.name, svg, file });
    }
  },
} as const satisfies EvidenceItem;
