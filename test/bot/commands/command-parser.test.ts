// PR comment commands: what the first line of a comment means, and the help a person gets back.

import { fileURLToPath } from "node:url";
import { loadGate } from "../../../src/gates/gate-file/index.js";
import { commandLabel, isPrivileged, parseCommand, renderHelp } from "../../../src/bot/commands/command-parser.js";
import { COMMANDS, type CommandVerb } from "../../../src/bot/commands/index.js";
import { COMMAND_EXAMPLES } from "../support/command-examples.js";

const fixtures = fileURLToPath(new URL("../fixtures/gates/", import.meta.url));
const gateA = loadGate(`${fixtures}gate-a.yaml`);
const gateF = loadGate(`${fixtures}gate-f.yaml`);
const gates = [gateA, gateF];

describe("PR comment commands", () => {
  test("a replay names a phase by alias or name and runs every phase up to it", () => {
    const byAlias = parseCommand("/gate-a replay 5k", gates);
    expect(byAlias?.gate.name).toBe("gate-a");
    expect(byAlias?.command).toMatchObject({ kind: "replay", selector: "5k" });
    expect(byAlias?.command.kind === "replay" && byAlias.command.phases.map((p) => p.name)).toEqual(["smoke", "load"]);
    const byName = parseCommand("/gate-a replay smoke", gates);
    expect(byName?.command.kind === "replay" && byName.command.phases.map((p) => p.name)).toEqual(["smoke"]);
    const all = parseCommand("/gate-a replay all", gates);
    expect(all?.command.kind === "replay" && all.command.phases).toHaveLength(2);
    expect(commandLabel(byAlias!.command)).toBe("replay 5k");
  });

  test("only the first line counts, case and surrounding spaces do not", () => {
    const parsed = parseCommand("  /Gate-A   REPLAY   1K  \n/gate-a abort\nthanks!", gates);
    expect(parsed?.command).toMatchObject({ kind: "replay", selector: "1k" });
    expect(parseCommand("looks good\n/gate-a replay 1k", gates)).toBeNull();
  });

  test("the prefix comes from each gate file, so two gates answer to their own commands", () => {
    expect(parseCommand("/gate-f status", gates)?.gate.name).toBe("gate-f");
    expect(parseCommand("/gate-a status", gates)?.gate.name).toBe("gate-a");
    expect(parseCommand("/gate-ab status", gates)).toBeNull();
    expect(parseCommand("/gate-b replay 1k", gates)).toBeNull();
  });

  test("status, abort and help take no arguments", () => {
    expect(parseCommand("/gate-a status", gates)?.command).toEqual({ kind: "status" });
    expect(parseCommand("/gate-a abort", gates)?.command).toEqual({ kind: "abort" });
    expect(parseCommand("/gate-a help", gates)?.command).toEqual({ kind: "help" });
    expect(parseCommand("/gate-a abort now", gates)?.command).toMatchObject({
      kind: "help",
      problem: expect.stringContaining("takes no arguments"),
    });
  });

  test("unknown and malformed commands become help with the reason", () => {
    expect(parseCommand("/gate-a deploy", gates)?.command).toMatchObject({ kind: "help", problem: 'unknown command "deploy"' });
    expect(parseCommand("/gate-a", gates)?.command).toMatchObject({ kind: "help", problem: expect.stringContaining("needs a command") });
    expect(parseCommand("/gate-a replay", gates)?.command).toMatchObject({
      kind: "help",
      problem: expect.stringContaining("needs a phase"),
    });
    expect(parseCommand("/gate-a replay 30k", gates)?.command).toMatchObject({
      kind: "help",
      problem: 'unknown phase "30k"; expected one of 1k, smoke, 5k, load, all',
    });
    expect(parseCommand("/gate-a replay 1k 5k", gates)?.command).toMatchObject({
      kind: "help",
      problem: expect.stringContaining("takes one phase"),
    });
  });

  test("only replay and abort need the gate's permission", () => {
    const kinds = ["/gate-a replay 1k", "/gate-a abort", "/gate-a status", "/gate-a help", "/gate-a nonsense"].map((c) =>
      isPrivileged(parseCommand(c, gates)!.command),
    );
    expect(kinds).toEqual([true, true, false, false, false]);
  });

  test("help lists every command, each phase, and who may run what", () => {
    const help = renderHelp(gateA);
    for (const c of ["/gate-a replay <phase>", "/gate-a status", "/gate-a abort", "/gate-a help"]) expect(help).toContain(c);
    expect(help).toContain("`smoke` / `1k`: 200 requests at 200/s, P95 ≤ 500 ms");
    expect(help).toContain("`load` / `5k`: 3,000 requests at 300/s");
    expect(help).toContain("need write (or maintain, or admin) permission");
    expect(help).not.toContain("did not understand");
    expect(renderHelp(gateA, 'unknown command "deploy"')).toMatch(/^⚠️ I did not understand that: unknown command "deploy"\./);
  });
});

describe("the command catalogue", () => {
  const verbs = Object.keys(COMMANDS) as CommandVerb[];

  test("every command is filed under its own verb, in the order help lists them", () => {
    expect(verbs).toEqual(["replay", "status", "abort", "approve-run", "help"]);
    for (const verb of verbs) expect(COMMANDS[verb].verb).toBe(verb);
  });

  test("every verb parses into a command of its own kind, and an argument it does not take becomes help", () => {
    for (const verb of verbs) {
      const parsed = parseCommand(`/gate-a ${COMMAND_EXAMPLES[verb]}`, gates);
      expect(parsed?.command.kind).toBe(verb);
      const extra = parseCommand(`/gate-a ${COMMAND_EXAMPLES[verb]} extra`, gates);
      expect(extra?.command).toMatchObject({ kind: "help", problem: expect.stringContaining(`\`${verb}\``) });
    }
  });

  test("every verb has its line in help, and is named once in who may run what", () => {
    const help = renderHelp(gateA);
    const lines = help.split("\n");
    const who = lines[lines.length - 1];
    for (const verb of verbs) {
      expect(lines.filter((l) => l.startsWith(`- \`/gate-a ${verb}`))).toHaveLength(1);
      const [needsPermission, open] = who.split(" need ");
      const named = (text: string) => text.includes(`\`${verb}\``);
      expect(named(needsPermission)).toBe(COMMANDS[verb].privileged !== false);
      expect(named(open.split(";")[1])).toBe(COMMANDS[verb].privileged === false);
    }
    expect(who).toMatch(/^`replay`, `abort` and `approve-run` need write .*; `status` and `help` are open to anyone\./);
  });

  test("every privileged command says what a refusal forbids", () => {
    const refusals = verbs.flatMap((verb) => {
      const { privileged } = COMMANDS[verb];
      return privileged === false ? [] : [privileged(gateA)];
    });
    expect(refusals).toEqual(["start Gate A runs", "abort Gate A runs", "approve Gate A runs of a fork's code"]);
  });
});
