// The `baseline:` field and the objective that needs it: `baseline: last_go` compares the candidate with the last
// signed-off GO, and only the latency_p95_regression objective says by how much it may be slower. Each without the
// other is refused, so a gate file never asks for a comparison it does not judge, nor judges one it does not ask for.

import type { Slo } from "../../model/index.js";
import { oneOf } from "../converters.js";
import type { Entry, GateReader } from "../gate-reader.js";

export function readBaseline(
  r: GateReader,
  entry: Entry | undefined,
  slos: Slo[] | undefined,
  objectives: Entry | undefined,
): "last_go" | undefined {
  const baseline = entry ? r.value(entry, "baseline", oneOf(["last_go"] as const)) : undefined;
  const regression = slos?.some((s) => s.name === "latency_p95_regression");
  if (baseline && slos && !regression) {
    r.problem(
      entry!.key,
      "baseline",
      `baseline: last_go compares with the last GO, but no objective judges the comparison; expected objectives.latency_p95_regression, such as "<= +15%"`,
    );
  }
  if (!entry && regression && objectives) {
    r.problem(
      objectives.key,
      "objectives.latency_p95_regression",
      "latency_p95_regression compares with a baseline run, but the gate names none; expected `baseline: last_go` at the top of the gate file",
    );
  }
  return baseline;
}
