// One run as the PR sees it: the war-room comment edited at each milestone, the check run, the abort
// command and the runner's shutdown stopping the replay; then the run published (publish-run.ts), the
// check run completed and the final comment. The gate engine (src/gates) runs the replay and writes the bundle.

import type { KeyObject } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import type { Gate, GateRun, WarRoomUpdate } from "../../gates/model/index.js";
import { type RunOptions, runToBundle } from "../../gates/run/index.js";
import { createRedactor } from "../../gates/evidence/index.js";
import { renderVerdictTable } from "../../gates/war-room/index.js";
import { baselineLine } from "../../gates/verdict/index.js";
import { phasesUpTo } from "../../gates/gate-file/index.js";
import { attempt, type BotLog } from "../boot/bot-log.js";
import { fetchSourceArchive } from "../github/source-archive.js";
import { httpStatus, type GitHub } from "../github/github.js";
import type { RunQueue } from "./run-queue.js";
import type { RunRecord } from "./run-state.js";
import { checkRunName, conclusionFor, PARTIAL_NOTE, progressCheckRun, startCheckRun } from "../github/check-run.js";
import {
  attemptHeadlineOf,
  attemptLine,
  refreshWarRoom,
  renderFinalComment,
  runNotes,
  sourceFailureNote,
  whereOf,
  type RunLinks,
} from "../github/war-room-comment.js";
import { evidenceBranch } from "../github/evidence-pr.js";
import { attestationDigestOf, recordEvidence } from "../signoff/run-evidence.js";
import { guardForGitHub } from "../github/redact-for-github.js";
import { escalate, phaseSummaries, progressReporter } from "./war-room-live.js";
import { publishRun } from "../github/publish-run.js";
import { finishAttempt, prOrigin, startAttempt } from "./run-attempt.js";
import { lastGoOrWithheld, type LastGo } from "../signoff/last-go.js";

/** What a run on GitHub needs of its runner. */
export interface RunOnGitHubDeps {
  queue: RunQueue;
  log: BotLog;
  /** Names the runner in the war room ("host:pid"). */
  name?: string;
  /** How often the abort flag is read, ms. */
  abortPollMs?: number;
  /** The longest a run waits for a milestone's GitHub edits before going on, ms (default 5 s). */
  milestoneWaitMs?: number;
  /** Extra environment for the gate's bundled service (tests). */
  serviceEnv?: Record<string, string>;
  /** The Ed25519 key the bundle's attestation is signed with (EVIDENCE_SIGNING_KEY). */
  signingKey?: KeyObject;
  /** Where builds of commits under test are cached (default: release-gate-builds in the temp folder). */
  buildCacheDir?: string;
  /** The gate engine: runs the gate and writes its bundle (default runToBundle; tests give one that decides at once). */
  runGate?: typeof runToBundle;
}

export async function runOnGitHub(
  deps: RunOnGitHubDeps,
  github: GitHub,
  gate: Gate,
  runId: string,
  stopSignal: AbortSignal | undefined,
  posted: Partial<RunRecord>,
): Promise<void> {
  const { queue, log } = deps;
  const state = queue.state;
  const name = deps.name ?? `${hostname()}:${process.pid}`;
  let record = (await state.update(runId, () => ({ phase: "running", startedAt: new Date().toISOString(), runner: name })))!;
  const where = whereOf(record);
  // The attempt this run is on its commit, before anything runs: past the rule's max (a race with another
  // command), or on a ledger that fails its check, it does not run, and it is no attempt.
  const started = await startAttempt(gate, state, queue.attempts, record);
  if ("refused" in started) {
    const at = new Date().toISOString();
    record = (await state.update(runId, () => ({
      phase: "finished",
      verdict: "ERROR",
      reason: `not run: ${started.refused}`,
      finishedAt: at,
      reportedAt: at,
    })))!;
    await refreshWarRoom(github, gate, record, log);
    await attempt(log, "reply", runId, () =>
      github.rest.issues.createComment({
        ...where,
        issue_number: record.pullNumber,
        body: `⛔ Run \`${runId}\` (\`${record.label}\`) did not start: ${started.refused}.`,
      }),
    );
    return;
  }
  // `baseline: last_go`: the last GO is found and checked before the run, so the war room names it from the start.
  const lastGo = gate.baseline ? await lastGoOrWithheld(github, where, state, gate) : undefined;
  if (lastGo?.withheld)
    log.error({ runId, why: lastGo.withheld }, "a GO to compare with exists but could not be read: this run's PASS is no GO");
  record = (await state.update(runId, () => ({
    attempt: started.attempt,
    ...(lastGo ? { baseline: baselineOfRecord(lastGo) } : {}),
  })))!;
  const origin = prOrigin(gate, record);

  await attempt(log, "react", runId, async () => {
    if (record.commandCommentId) {
      await github.rest.reactions.createForIssueComment({ ...where, comment_id: record.commandCommentId, content: "rocket" });
    }
  });
  const comment = await refreshWarRoom(github, gate, record, log);
  const check = await attempt(log, "start the check run", runId, () =>
    startCheckRun(github, where, {
      name: checkRunName(gate, record.label),
      headSha: record.headSha,
      externalId: runId,
      summary: `Run \`${runId}\` requested by @${record.requestedBy}: ${attemptLine(record)}.`,
      detailsUrl: comment?.url,
    }),
  );
  Object.assign(posted, {
    ...(comment ? { warRoomCommentId: comment.id, warRoomUrl: comment.url } : {}),
    ...(check ? { checkRunId: check.id, checkRunUrl: check.url } : {}),
  });
  record = (await state.update(runId, () => ({
    warRoomCommentId: comment?.id,
    warRoomUrl: comment?.url,
    checkRunId: check?.id,
    checkRunUrl: check?.url,
  })))!;

  const controller = new AbortController();
  // The runner shutting down (or losing its lock on the job) stops the run the way an abort does.
  const onStop = () => {
    const because = String((stopSignal?.reason as Error)?.message ?? stopSignal?.reason ?? "the runner stopped");
    void state.update(runId, (r) => (r.abortRequestedBy || r.stoppedBecause ? null : { stoppedBecause: because })).catch(() => {});
    controller.abort(new Error(because));
  };
  if (stopSignal?.aborted) onStop();
  else stopSignal?.addEventListener("abort", onStop, { once: true });
  const poll = setInterval(() => {
    state.get(runId).then(
      (r) => {
        if (r?.abortRequestedBy && !controller.signal.aborted) controller.abort(new Error(`aborted by @${r.abortRequestedBy}`));
      },
      () => {},
    );
  }, deps.abortPollMs ?? 500);

  // Milestones are edited in order. The engine waits for the edit before it goes on, so no GitHub
  // traffic shares the runner's event loop with a replay (it would show up as the driver's send lag),
  // but never longer than a few seconds: a slow GitHub must not hold the run back.
  let edits: Promise<unknown> = Promise.resolve();
  const onUpdate = (u: WarRoomUpdate, run: GateRun): Promise<void> => {
    const timeline = run.timeline.map((t) => ({ ...t }));
    const phases = phaseSummaries(run.phases);
    const preflight = run.preflight?.map((r) => ({ ...r }));
    edits = edits.then(async () => {
      const latest = await state
        .update(runId, () => ({ lastUpdate: u, timeline, phases, preflight }))
        .catch((err: unknown) => {
          log.warn({ err, runId }, "could not record a war-room update");
          return null;
        });
      if (!latest) return;
      if (u.escalation) await escalate(github, state, latest, gate, u, log);
      await refreshWarRoom(github, gate, latest, log);
      if (latest.checkRunId) {
        await attempt(log, "update the check run", runId, () =>
          progressCheckRun(
            github,
            where,
            latest.checkRunId!,
            `${u.milestone} (${u.status})`,
            `Latest war-room update:\n\n\`\`\`\n${renderWarRoomText(u)}\n\`\`\``,
          ),
        );
      }
    });
    let timer: NodeJS.Timeout | undefined;
    const bounded = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, deps.milestoneWaitMs ?? 5_000);
    });
    return Promise.race([edits.then(() => undefined), bounded]).finally(() => clearTimeout(timer));
  };

  const workDir = await mkdtemp(join(tmpdir(), "release-gate-run-"));
  try {
    const bundleDir = join(workDir, "bundle");
    let finished: { run: GateRun; stopped: boolean };
    try {
      finished = await (deps.runGate ?? runToBundle)(gate, {
        phases: phasesUpTo(gate, record.selector),
        commit: record.headSha,
        runId,
        signal: controller.signal,
        serviceEnv: deps.serviceEnv,
        source: commitSource(deps, github, gate, record, workDir),
        observer: { update: onUpdate, progress: progressReporter(queue.progress, runId, log) },
        requestedAt: record.requestedAt,
        out: bundleDir,
        signingKey: deps.signingKey,
        // The retry rule: a later attempt on the same commit is judged at a stricter level.
        judgeAlpha: started.attempt.alpha,
        origin,
        ...(lastGo ? { baseline: lastGo.baseline } : {}),
        attempt: { number: started.attempt.number, earlier: started.earlier },
        recordAttempt: async (run) => {
          const ended = await finishAttempt(gate, state, queue.attempts, record, {
            verdict: run.verdict,
            at: run.finishedAt || new Date().toISOString(),
            origin: origin.kind,
          }).catch((err: unknown) => {
            log.error({ err, runId }, "could not record the attempt in its commit's ledger");
            const why = `its attempt could not be recorded (${(err as Error).message})`;
            return { attempt: { ...started.attempt, ledgerProblem: why, goWithheld: why }, bundle: undefined };
          });
          // A lost comparison withholds the GO as the retry rule would: in the record and in the bundle's approval log.
          if (lastGo?.withheld && run.verdict === "PASS" && !ended.attempt.goWithheld) {
            ended.attempt = { ...ended.attempt, goWithheld: lastGo.withheld };
            if (ended.bundle) ended.bundle = { ...ended.bundle, goWithheld: lastGo.withheld };
          }
          record = (await state.update(runId, () => ({ attempt: ended.attempt }))) ?? record;
          return ended.bundle;
        },
      });
    } finally {
      clearInterval(poll);
      stopSignal?.removeEventListener("abort", onStop);
      await edits;
    }
    const { run, stopped: aborted } = finished;
    // Whatever the engine did with recordAttempt, a PASS without its comparison is no GO.
    if (lastGo?.withheld && run.verdict === "PASS" && !record.attempt?.goWithheld) {
      record =
        (await state.update(runId, (r) => ({ attempt: { ...(r.attempt ?? started.attempt), goWithheld: lastGo.withheld } }))) ?? record;
    }
    // Whatever the bot posts from here on is also redacted of the run's own secrets.
    guardForGitHub(github, run.secrets);
    const sourceFailure = run.sourceFailure ? redactedFailure(run) : undefined;
    const published = await publishRun(github, where, {
      gate,
      bundleDir,
      sourcePullRequest: `#${record.pullNumber}`,
      withoutEvidence: (err) => {
        // A bundle that does not match its manifest was tampered with: an incident, not a hiccup.
        if ((err as { code?: string }).code === "bundle_inconsistent")
          log.error({ err, runId }, "the evidence bundle does not match its manifest");
        else log.warn({ err, runId }, "could not open the evidence PR");
        return evidenceFailure(err, gate.name, runId);
      },
      recordEvidence: async (evidence) => {
        record = (await state.update(runId, () => ({
          phase: "finished",
          finishedAt: run.finishedAt,
          verdict: run.verdict,
          reason: run.reason,
          aborted,
          lastUpdate: run.updates[run.updates.length - 1] ?? record.lastUpdate,
          timeline: run.timeline,
          phases: phaseSummaries(run.phases),
          decisions: run.decisions,
          preflight: run.preflight,
          capacity: run.capacity,
          evidencePullNumber: evidence?.number,
          evidenceUrl: evidence?.url,
          ...(sourceFailure ? { sourceFailure } : {}),
        })))!;
        if (!evidence) return;
        const attestationDigest = await attestationDigestOf(bundleDir);
        const recorded = await attempt(log, "record the evidence and set the promotion status", runId, () =>
          recordEvidence(github, where, gate, state, runId, evidence, { attestationDigest, log }),
        );
        if (recorded) record = recorded;
        if (evidence.reviewerProblem) {
          await attempt(log, "comment on the evidence PR", runId, () =>
            github.rest.issues.createComment({ ...where, issue_number: evidence.number, body: `⚠️ ${evidence.reviewerProblem}` }),
          );
        }
      },
      check: record.checkRunId
        ? {
            run: { id: record.checkRunId },
            conclusion: conclusionFor(run.verdict, aborted, record.full !== false),
            title: `${aborted ? "Aborted" : run.verdict}${record.full === false ? ` (${record.label}, ${PARTIAL_NOTE})` : ""}, ${attemptHeadlineOf(record)}: ${run.reason}`,
            summary: `${attemptLine(record)}.\n\n${renderVerdictTable(run)}${sourceFailure ? `\n\n${sourceFailureNote(sourceFailure)}` : ""}`,
          }
        : undefined,
    });
    for (const problem of published.problems) log.warn({ runId }, `while publishing: ${problem}`);
    const links: RunLinks = { checkRun: record.checkRunUrl, evidencePullRequest: record.evidenceUrl, warRoom: record.warRoomUrl };
    await refreshWarRoom(github, gate, record, log);
    const notes = runNotes(record, gate);
    if (!published.evidence) notes.push(`⚠️ ${published.evidenceProblem}`);
    await attempt(log, "post the final comment", runId, () =>
      github.rest.issues.createComment({
        ...where,
        issue_number: record.pullNumber,
        body: renderFinalComment(run, record.label, links, notes),
      }),
    );
    await state.update(runId, () => ({ reportedAt: new Date().toISOString() }));
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

/**
 * The commit under test as the service to deploy (target.bundled.source: commit, the default for PR
 * runs): its tarball, fetched with the installation token at the run's first step, then built.
 */
function commitSource(deps: RunOnGitHubDeps, github: GitHub, gate: Gate, record: RunRecord, workDir: string): RunOptions["source"] {
  if (gate.target.kind !== "bundled" || (gate.target.source ?? "commit") !== "commit") return undefined;
  const where = whereOf(record);
  const archiveLimit = gate.target.sourceLimits?.archive;
  return {
    archive: async () => {
      const file = join(workDir, "source.tar.gz");
      await fetchSourceArchive(github, where, record.headSha, file, archiveLimit);
      return file;
    },
    // One cache per installation: no installation's runs can be handed another's builds.
    cacheDir: join(deps.buildCacheDir ?? join(tmpdir(), "release-gate-builds"), String(record.installationId)),
    repository: `${where.owner}/${where.repo}`,
    build: gate.target.build,
  };
}

/** What the record keeps of a run's baseline: the run compared with, the line the war room shows, and any GO withheld. */
function baselineOfRecord(lastGo: LastGo): NonNullable<RunRecord["baseline"]> {
  return {
    runId: lastGo.baseline.compared ? lastGo.baseline.run.runId : null,
    line: baselineLine(lastGo.baseline)!,
    withheld: lastGo.withheld,
  };
}

/** The failure as the PR sees it: its log tail through the run's redactor. */
function redactedFailure(run: GateRun): NonNullable<RunRecord["sourceFailure"]> {
  const redact = createRedactor(run.secrets);
  const f = run.sourceFailure!;
  return { ...f, logTail: f.logTail.map((l) => redact(l)) };
}

/** What the PR is told when its evidence PR could not be opened: GitHub's answer and where the bundle went. */
function evidenceFailure(err: unknown, gateName: string, runId: string): string {
  const status = httpStatus(err);
  const answer = status ? `GitHub answered ${status}: ${(err as Error).message}` : (err as Error).message;
  return (
    `The evidence PR could not be opened (${answer}). If the evidence was committed it is on branch ` +
    `\`${evidenceBranch(gateName, runId)}\`: open a PR from it, or run the command again.`
  );
}

function renderWarRoomText(u: WarRoomUpdate): string {
  return [`MILESTONE: ${u.milestone}`, `STATUS: ${u.status}`, `PROGRESS: ${u.progress}`, `NEXT: ${u.next}`, `ETA: ${u.eta}`].join("\n");
}
