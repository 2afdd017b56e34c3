// Evidence item 2: each phase's latency histogram (P50/P95/P99 against its bar) and its latency over time, each as
// data, CSV and picture; a phase that did not run says so in all of them.

import { fileStem } from "../evidence-layout.js";
import { histogramSvg } from "../histogram-svg.js";
import { buildLatencyHistogram, histogramCsv } from "../latency-histogram.js";
import { buildLatencyTimeline, timelineCsv } from "../latency-timeline.js";
import { jsonFile } from "../report-format.js";
import { timelineSvg } from "../timeline-svg.js";
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
  layout: "`02-latency/<phase>.histogram.{json,csv,svg}`, `02-latency/<phase>.timeline.{json,csv,svg}` (latency over time)",
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
    }
  },
} as const satisfies EvidenceItem;
