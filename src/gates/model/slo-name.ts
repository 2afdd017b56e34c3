// The names of the objectives a gate file may state. The catalogue in verdict/slos/ must file one module
// under each (it fails to compile otherwise), so a name here cannot be forgotten there, nor the reverse.

export type SloName =
  "latency_p95" | "acceptance" | "error_rate" | "idempotency_violations" | "ordering_violations" | "lost_events" | "latency_p95_regression";
