// What a commit's build reports, to the evidence bundle and to the run when it fails.

import type { ServiceSourceEvidence } from "../../model/index.js";
export type { ServiceSourceEvidence } from "../../model/index.js";

export class ServiceSourceError extends Error {
  constructor(
    readonly code:
      | "archive_unavailable"
      | "archive_too_large"
      | "archive_invalid"
      | "build_failed"
      | "build_output_missing"
      | "build_timeout"
      | "build_aborted",
    readonly step: "fetch" | "unpack" | "build",
    message: string,
    readonly exitCode: number | null,
    readonly logTail: string[],
    readonly evidence: ServiceSourceEvidence | null,
  ) {
    super(message);
  }
}
