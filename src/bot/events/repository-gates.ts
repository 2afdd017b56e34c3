// Gate files the pull request cannot change: for a repository the bot serves, the gates are read from
// the repository's default branch (`.github/gates/*.yaml`, then `gates/*.yaml`) through the contents
// API when a command arrives, and pinned in the run's record. The bot's GATES_DIR is the fallback for
// repositories that keep none. A PR that edits a gate file is still judged by the default branch's.

import type { Gate } from "../../gates/model/index.js";
import { GateDefinitionError, parseGate } from "../../gates/gate-file/index.js";
import type { GitHub, RepoRef } from "../github/github.js";
import { httpStatus } from "../github/github.js";
import type { GateCatalog } from "../boot/gate-catalog.js";
import type { RunRecord } from "../runs/run-record.js";
import type { PinnedGateFile } from "../runs/run-record.js";
export type { PinnedGateFile } from "../runs/run-record.js";

/** Folders searched on the default branch, in order; the first holding a gate file wins. */
export const GATE_FOLDERS = [".github/gates", "gates"] as const;

export interface RepositoryGates {
  folder: string;
  files: PinnedGateFile[];
  catalog: GateCatalog;
}

export class RepositoryGateError extends Error {
  readonly code = "GATE_FILE_INVALID";
}

/**
 * `${VAR}` in a gate file from a repository may name only these runner variables (where the gate's
 * Redis and PostgreSQL are): a gate file is written by whoever can push to the default branch, and the
 * runner's environment holds the App's key and secrets.
 */
export function gateFileEnv(env: NodeJS.ProcessEnv): Record<string, string | undefined> {
  const allowed: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(env)) {
    if (name === "REDIS_URL" || name === "DATABASE_URL" || name.startsWith("GATE_")) allowed[name] = value;
  }
  return allowed;
}

/** Parses a pinned gate file; its source names the repository path and blob SHA for the attestation. */
export function gateOfFile(file: PinnedGateFile, env: NodeJS.ProcessEnv = process.env): Gate {
  const gate = parseGate(file.text, file.path, gateFileEnv(env));
  gate.source = { ...gate.source, file: file.path, blobSha: file.blobSha };
  return gate;
}

/**
 * The repository's gates on its default branch, or null when it keeps none (the caller falls back to
 * GATES_DIR). A broken gate file is an error naming its file, line and column: a repository that
 * declares gates is never silently judged by other ones.
 */
export async function readRepositoryGates(
  github: GitHub,
  where: RepoRef,
  defaultBranch: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<RepositoryGates | null> {
  for (const folder of GATE_FOLDERS) {
    const listing = await contentsOrNull(github, where, folder, defaultBranch);
    if (!Array.isArray(listing)) continue;
    const entries = listing.filter((e) => e.type === "file" && /\.ya?ml$/i.test(e.name)).sort((a, b) => (a.name < b.name ? -1 : 1));
    if (entries.length === 0) continue;
    const files: PinnedGateFile[] = [];
    for (const e of entries) {
      const file = await contentsOrNull(github, where, e.path, defaultBranch);
      if (!file || Array.isArray(file) || typeof file.content !== "string") continue;
      files.push({ path: e.path, blobSha: file.sha, ref: defaultBranch, text: Buffer.from(file.content, "base64").toString("utf8") });
    }
    const gates: Gate[] = [];
    const problems: string[] = [];
    for (const f of files) {
      try {
        gates.push(gateOfFile(f, env));
      } catch (err) {
        problems.push(err instanceof GateDefinitionError ? err.message : `${f.path}: ${(err as Error).message}`);
      }
    }
    if (problems.length) {
      throw new RepositoryGateError(
        `the gate files on ${defaultBranch} (${folder}/) are invalid:\n${problems.join("\n")}\nFix them on ${defaultBranch}; until then no ${folder}/ gate runs.`,
      );
    }
    const byPath = new Map(gates.map((g) => [g.name, g]));
    return {
      folder,
      files,
      catalog: {
        gates,
        byName: (name) => byPath.get(name),
        fileOf: (g) => g.source.file,
      },
    };
  }
  return null;
}

/** The pinned file a gate was read from. */
export function pinnedFileOf(repoGates: RepositoryGates, gate: Gate): PinnedGateFile | undefined {
  return repoGates.files.find((f) => f.path === gate.source.file);
}

/**
 * How the PR's head differs from the default branch's gate file, as a sentence for the war room, or
 * null when it does not: the PR's version applies only after merge.
 */
export async function gateFileChangeOnPull(github: GitHub, where: RepoRef, file: PinnedGateFile, headSha: string): Promise<string | null> {
  const onHead = await contentsOrNull(github, where, file.path, headSha);
  if (onHead && !Array.isArray(onHead) && onHead.sha === file.blobSha) return null;
  const what = onHead ? "differs on this PR" : "is deleted on this PR";
  return `\`${file.path}\` ${what}: its changes apply after merge. This run is judged by the version on \`${file.ref}\` (blob ${file.blobSha.slice(0, 7)}).`;
}

/** The gate a run was requested for: the pinned file from its repository, else the runner's GATES_DIR. */
export function gateOfRecord(record: Pick<RunRecord, "gate" | "gateFile">, local: GateCatalog): Gate | undefined {
  if (record.gateFile) return gateOfFile(record.gateFile);
  return local.byName(record.gate);
}

interface ContentEntry {
  type: string;
  name: string;
  path: string;
  sha: string;
  content?: string;
}

async function contentsOrNull(github: GitHub, where: RepoRef, path: string, ref: string): Promise<ContentEntry | ContentEntry[] | null> {
  try {
    const { data } = await github.rest.repos.getContent({ ...where, path, ref });
    return data as ContentEntry | ContentEntry[];
  } catch (err) {
    if (httpStatus(err) === 404) return null;
    throw err;
  }
}

/** One gate file as a branch has it, through the contents API; null when the branch has no such file. */
export async function readGateFileAt(github: GitHub, where: RepoRef, path: string, ref: string): Promise<PinnedGateFile | null> {
  const file = await contentsOrNull(github, where, path, ref);
  if (!file || Array.isArray(file) || typeof file.content !== "string") return null;
  return { path, blobSha: file.sha, ref, text: Buffer.from(file.content, "base64").toString("utf8") };
}
