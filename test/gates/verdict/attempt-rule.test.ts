// The retry rule a gate declares in advance: `attempts:` read from the gate file (its errors naming the
// field), the level each attempt is judged at, when a PASS may become a GO, what NEXT says is still
// allowed, and the false-GO bound the README quotes. Pure: no servers.

import { GateDefinitionError, parseGate, type GateProblem } from "../../../src/gates/gate-file/index.js";
import { DEFAULT_ATTEMPT_RULE, attemptRuleOf, type AttemptRule, type Gate } from "../../../src/gates/model/gate.js";
import {
  alphaForAttempt,
  attemptRefusal,
  falseGoBound,
  goWithheld,
  levelText,
  retryAllowance,
} from "../../../src/gates/verdict/attempt-rule.js";
import { attemptLine, checkAttemptLedger, ledgerHead, type LedgerSubject } from "../../../src/gates/evidence/attempt-ledger.js";
import type { AttemptEntry, GateRun } from "../../../src/gates/model/gate-run-record.js";
import { milestoneUpdate, rerunCommand } from "../../../src/gates/war-room/war-room-formats.js";
import { generateSigningKeyPair, readSigningKey } from "../../../src/gates/evidence/dsse.js";

const BASE = [
  "gate: gate-x",
  'title: "Gate X"',
  "application: app",
  "dri: Agent3",
  "target:",
  "  bundled:",
  '    redis_url: "redis://127.0.0.1:6379"',
  '    database_url: "postgres://postgres@127.0.0.1:5432/postgres"',
  "objectives:",
  '  latency_p95: "<= 120ms"',
  "phases:",
  "  - name: smoke",
  "    aliases: [1k]",
  "    requests: 1k",
  "    rate: 500/s",
  '    latency_p95: "<= 20ms"',
  "  - name: load",
  "    aliases: [5k]",
  "    requests: 5k",
  "    rate: 500/s",
  '    latency_p95: "<= 20ms"',
  "corpus:",
  "  seed: x",
  "  ordering_keys: 10",
  "  redelivery_share: 2%",
  "evidence: [replay_logs]",
].join("\n");

const gateWith = (extra: string): Gate => parseGate(`${BASE}\n${extra}\n`, "x.yaml", {});

function problems(extra: string): string[] {
  try {
    gateWith(extra);
  } catch (err) {
    expect(err).toBeInstanceOf(GateDefinitionError);
    return (err as GateDefinitionError).problems.map((p: GateProblem) => `${p.path}: ${p.message}`);
  }
  throw new Error("expected the gate to be refused");
}

describe("attempts: in the gate file", () => {
  test("absent, the rule is max 3 with alpha spending from a total of 0.05", () => {
    const gate = gateWith("");
    expect(gate.attempts).toBeUndefined();
    expect(attemptRuleOf(gate)).toEqual(DEFAULT_ATTEMPT_RULE);
    expect(DEFAULT_ATTEMPT_RULE).toMatchObject({ rule: "alpha_spending", max: 3, alpha: 0.05 });
  });

  test("both rules are read, with what the file said", () => {
    expect(gateWith("attempts: { max: 3, rule: alpha_spending }").attempts).toEqual({
      rule: "alpha_spending",
      max: 3,
      alpha: 0.05,
      display: "max 3, alpha_spending (total alpha 0.05)",
    });
    expect(gateWith("attempts: { max: 4, rule: consecutive_passes, passes: 2 }").attempts).toEqual({
      rule: "consecutive_passes",
      max: 4,
      passes: 2,
      display: "max 4, consecutive_passes (2)",
    });
  });

  test("bad input is refused, each error naming the field and what was expected", () => {
    expect(problems("attempts: { max: 3, rule: alpha_spend }")).toEqual([
      'attempts.rule: "alpha_spend" is not allowed; expected one of alpha_spending, consecutive_passes (did you mean "alpha_spending"?)',
    ]);
    expect(problems("attempts: { max: 0, rule: alpha_spending }")[0]).toMatch(/^attempts.max: 0 is too small; expected at least 1/);
    expect(problems("attempts: { max: 3, rule: consecutive_passes }")[0]).toMatch(
      /^attempts.passes: a consecutive_passes rule needs `passes`/,
    );
    expect(problems("attempts: { max: 2, rule: consecutive_passes, passes: 3 }")[0]).toMatch(
      /^attempts.passes: 3 consecutive PASSes can never happen within max 2 attempts/,
    );
    expect(problems("attempts: { max: 3, rule: alpha_spending, passes: 2 }")[0]).toMatch(
      /^attempts.passes: only a consecutive_passes rule/,
    );
    expect(problems("attempts: { max: 3, rule: alpha_spending, alpha: 0.7 }")[0]).toMatch(/^attempts.alpha: 0.7 is not a total alpha/);
    expect(problems("attempts: { max: 3 }")[0]).toMatch(/^attempts.rule: missing required key "rule"/);
    expect(problems("attempts: { max: 3, rule: alpha_spending, tries: 2 }")[0]).toMatch(/^attempts.tries: unknown key/);
  });
});

describe("the rule's arithmetic", () => {
  const spending = DEFAULT_ATTEMPT_RULE;
  const consecutive: AttemptRule = { rule: "consecutive_passes", max: 4, passes: 2, display: "max 4, consecutive_passes (2)" };

  test("alpha spending: attempt j at 0.05 / 2^j, i.e. 97.5%, 98.75%, 99.375%; the first is today's level", () => {
    expect([1, 2, 3].map((j) => alphaForAttempt(spending, j))).toEqual([0.025, 0.0125, 0.00625]);
    expect([1, 2, 3].map((j) => levelText(alphaForAttempt(spending, j)))).toEqual(["97.5%", "98.75%", "99.375%"]);
    expect(alphaForAttempt(consecutive, 3)).toBe(0.025);
  });

  test("the false-GO bound over all attempts stays within the total alpha", () => {
    expect(falseGoBound(spending)).toBeCloseTo(0.04375, 10);
    expect(falseGoBound(spending)).toBeLessThanOrEqual(0.05);
    expect(falseGoBound(consecutive)).toBeCloseTo(3 * 0.025 ** 2, 10);
  });

  test("consecutive passes: a GO only after enough consecutive full PASSes", () => {
    const pass = { verdict: "PASS" as const, full: true };
    const fail = { verdict: "FAIL" as const, full: true };
    expect(goWithheld(consecutive, [pass])).toMatch(/needs 2 consecutive full PASSes on this commit for a GO; this run makes 1/);
    expect(goWithheld(consecutive, [pass, pass])).toBeNull();
    expect(goWithheld(consecutive, [pass, fail, pass])).toMatch(/this run makes 1/);
    expect(goWithheld(consecutive, [pass, { verdict: "PASS", full: false }])).toMatch(/this run makes 0/);
    expect(goWithheld(spending, [fail, fail, pass])).toBeNull();
    expect(goWithheld(spending, [fail, fail, fail, pass])).toMatch(/attempt 4 is past the 3/);
  });

  test("what is still allowed, and the refusal past max", () => {
    expect(retryAllowance(spending, 1)).toBe("attempt 2 of 3 allowed, at the stricter level 98.75%");
    expect(retryAllowance(spending, 3)).toMatch(/^no attempts left on this commit \(3 of 3 used\): push a new commit/);
    expect(retryAllowance(consecutive, 3, [{ verdict: "FAIL", full: true }])).toMatch(
      /1 attempt\(s\) cannot make the 2 consecutive full PASSes/,
    );
    expect(attemptRefusal(spending, 2)).toBeNull();
    expect(attemptRefusal(spending, 3)).toMatch(/3 attempts, the most the gate's rule allows/);
  });
});

describe("NEXT after a run that is not a GO", () => {
  const gate = gateWith("");
  const failed = { verdict: "FAIL", reason: "load FAIL", phases: [] } as unknown as GateRun;
  const at = new Date("2026-12-06T07:00:00Z");

  test("names the command where the run came from, and what the rule allows", () => {
    const pr = milestoneUpdate(gate, { kind: "verdict", run: failed }, at, {
      origin: { kind: "pr", command: "/gate-x replay 5k" },
      attempt: { number: 1, earlier: [] },
    });
    expect(pr.next).toBe(
      "fix what failed and re-run (`/gate-x replay 5k`); on this commit: attempt 2 of 3 allowed, at the stricter level 98.75%",
    );
    const last = milestoneUpdate(gate, { kind: "verdict", run: { ...failed, verdict: "INCONCLUSIVE" } }, at, {
      origin: { kind: "pr", command: "/gate-x replay 5k" },
      attempt: { number: 3, earlier: [] },
    });
    expect(last.next).toMatch(/no attempts left on this commit \(3 of 3 used\): push a new commit/);
    expect(rerunCommand(gate, { kind: "actions", workflow: ".github/workflows/gate-x.yml" })).toBe(
      "`gh workflow run gate-x.yml` (a workflow_dispatch of .github/workflows/gate-x.yml)",
    );
    expect(rerunCommand(gate, { kind: "cli", command: "gate run gates/gate-x.yaml --phase smoke" }, true)).toBe(
      "`gate run gates/gate-x.yaml`",
    );
    expect(rerunCommand(gate, { kind: "pr", command: "/gate-x replay 1k" }, true)).toBe("`/gate-x replay all`");
    // No /gate-x run: that is no PR command.
    expect(milestoneUpdate(gate, { kind: "verdict", run: failed }, at).next).toBe("fix what failed and re-run (`gate run x.yaml`)");
  });
});

describe("the ledger's chain", () => {
  const subject: LedgerSubject = { repository: "acme/shop", gate: "gate-x", commit: "a".repeat(40) };
  const key = readSigningKey(generateSigningKeyPair().privateKeyPem, "test key");
  function ledger(n: number): string[] {
    const lines: string[] = [];
    for (let i = 1; i <= n; i++) {
      const entry: AttemptEntry = {
        ...subject,
        attempt: i,
        run: `gate-x-run-${i}`,
        verdict: i === n ? "PASS" : "FAIL",
        full: true,
        alpha: 0.05 / 2 ** i,
        origin: "pr",
        at: "2026-12-06T07:00:00Z",
        previous: ledgerHead(subject, lines),
      };
      lines.push(attemptLine(entry, key));
    }
    return lines;
  }

  test("holds as written, signatures included; a reordered, removed or re-pointed entry breaks it", () => {
    const lines = ledger(3);
    expect(checkAttemptLedger(lines, subject, { key })).toMatchObject({
      problem: null,
      entries: [{ attempt: 1 }, { attempt: 2 }, { attempt: 3 }],
    });
    expect(checkAttemptLedger([lines[1]!, lines[0]!, lines[2]!], subject).problem).toMatch(/entry 1 does not link/);
    expect(checkAttemptLedger([lines[0]!, lines[2]!], subject).problem).toMatch(/entry 2 does not link/);
    expect(checkAttemptLedger(lines, { ...subject, commit: "b".repeat(40) }).problem).toMatch(/entry 1 does not link/);
    const other = readSigningKey(generateSigningKeyPair().privateKeyPem, "other key");
    expect(checkAttemptLedger(lines, subject, { key: other }).problem).toMatch(/entry 1 has no valid signature/);
  });
});
