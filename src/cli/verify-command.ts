// `gate verify DIR`: checks an evidence bundle against its SHA256SUMS, file by file, and says what to do about it.
// Exit 0 when intact, 1 on any changed, missing or added file or broken manifest chain, 2 when DIR is not a bundle.

import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import {
  verifyBundle,
  MANIFEST_FILE,
  parseManifest,
  readVerifyKey,
  ATTESTATION_DSSE_FILE,
  SIGNED_APPROVALS_FILE,
  verifySignedEvidence,
} from "../gates/evidence/index.js";

const HELP = `gate verify DIR [--key PUB.pem] [--json]

Check an evidence bundle against its ${MANIFEST_FILE} manifest: every listed file must be there with the same
bytes, no file may have been added, the chain of earlier manifests (manifest-history.txt) must hold, and
so must the ledger of attempts on the commit (attempt-ledger.jsonl, when the bot wrote one): each entry
linked to the one before it, about this gate and commit, the last one this run with its verdict.
The same check without this tool, inside DIR: sha256sum -c --strict ${MANIFEST_FILE}

  --key PUB.pem  also check the signatures, offline, with the bot's public key (gate keygen printed it):
                 ${ATTESTATION_DSSE_FILE} (the signed in-toto statement) and the chain of signed sign-off
                 entries in ${SIGNED_APPROVALS_FILE}, which the approval log must agree with, and every
                 entry of the attempt ledger. A manifest
                 anyone can regenerate; these signatures only the bot's key can make.
  --json         print the result as one JSON document
Exit codes: 0 intact, 1 changed/missing/added files or a broken manifest, 2 DIR is not an evidence bundle.`;

export interface VerifyOutput {
  out: (line: string) => void;
  err: (line: string) => void;
}

const consoleOutput: VerifyOutput = { out: (line) => console.log(line), err: (line) => console.error(line) };

export async function verifyCommand(args: string[], io: VerifyOutput = consoleOutput): Promise<number> {
  if (args.includes("--help") || args.includes("-h")) {
    io.out(HELP);
    return 0;
  }
  const json = args.includes("--json");
  const keyAt = args.indexOf("--key");
  const keyFile = keyAt >= 0 ? args[keyAt + 1] : undefined;
  if (keyAt >= 0 && (!keyFile || keyFile.startsWith("-"))) {
    io.err(`gate verify: --key needs the public key file (PEM) that gate keygen printed. Usage: gate verify DIR [--key PUB.pem] [--json]`);
    return 2;
  }
  const rest = keyAt >= 0 ? args.filter((_, i) => i !== keyAt && i !== keyAt + 1) : args;
  const unknown = rest.filter((a) => a.startsWith("-") && a !== "--json");
  const positional = rest.filter((a) => !a.startsWith("-"));
  if (unknown.length > 0 || positional.length !== 1) {
    io.err(
      unknown.length
        ? `gate verify: unknown option ${unknown[0]}. Usage: gate verify DIR [--json]`
        : `gate verify: expected one bundle folder, got ${positional.length}. Usage: gate verify DIR [--json]`,
    );
    return 2;
  }
  const dir = positional[0]!;
  try {
    if (!(await stat(dir)).isDirectory()) {
      io.err(`gate verify: ${dir} is not a folder; pass the evidence bundle's folder (the one holding ${MANIFEST_FILE})`);
      return 2;
    }
  } catch {
    io.err(`gate verify: ${dir} does not exist; pass the evidence bundle's folder (gate run --out DIR wrote it)`);
    return 2;
  }
  let manifestText: string;
  try {
    manifestText = await readFile(join(dir, MANIFEST_FILE), "utf8");
  } catch {
    io.err(`gate verify: ${join(dir, MANIFEST_FILE)} is missing, so ${dir} is not an evidence bundle (gate run --out DIR writes one)`);
    return 2;
  }

  let key;
  if (keyFile) {
    try {
      key = readVerifyKey(await readFile(keyFile, "utf8"), keyFile);
    } catch (err) {
      io.err(`gate verify: ${(err as Error).message}`);
      return 2;
    }
  }
  const result = await verifyBundle(dir);
  if (key) {
    const signatureProblems = await verifySignedEvidence(dir, key);
    result.problems.push(...signatureProblems.map((p) => `signature: ${p}`));
    if (signatureProblems.length) result.ok = false;
  }
  if (json) {
    io.out(JSON.stringify({ bundle: dir, ...result }, null, 2));
    return result.ok ? 0 : 1;
  }
  const changed = new Set(result.changed);
  const missing = new Set(result.missing);
  for (const { path } of parseManifest(manifestText).entries)
    io.out(`${changed.has(path) ? "CHANGED" : missing.has(path) ? "MISSING" : "OK     "}  ${path}`);
  for (const path of result.added) io.out(`ADDED    ${path}`);
  for (const problem of result.problems) io.out(`PROBLEM  ${problem}`);
  if (result.ok) {
    io.out(
      `gate verify: ${dir} is intact: every file matches ${MANIFEST_FILE} and the manifest chain holds${key ? ", and the attestation and every sign-off entry are signed by the given key" : ""}.`,
    );
    return 0;
  }
  io.out(
    `gate verify: ${dir} does NOT match its manifest: ${result.changed.length} changed, ${result.missing.length} missing, ${result.added.length} added, ${result.problems.length} other problem(s). ` +
      `Restore the bundle from the evidence PR (git checkout -- ${dir}) or write it again with gate run.`,
  );
  return 1;
}
