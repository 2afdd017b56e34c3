// The lint rules of eslint.config.js bite: each fixture under test/lint/fixtures makes deliberate violations
// and is linted with ESLint's Node API as if it sat in the src folder its first line names.

import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, expect, test } from "@jest/globals";
import { ESLint } from "eslint";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
let eslint: ESLint;

beforeAll(() => {
  eslint = new ESLint({ cwd: root });
});

/** Rule id and line of every problem the fixture has when it sits at `as`. */
async function problems(fixture: string, as: string): Promise<{ rule: string | null; line: number; message: string }[]> {
  const code = readFileSync(join(root, "test/lint/fixtures", fixture), "utf8");
  const [result] = await eslint.lintText(code, { filePath: join(root, as) });
  return result.messages.map((m) => ({ rule: m.ruleId, line: m.line, message: m.message }));
}

test("src/ingest-service may import nothing from src/gates, src/bot or src/cli, types and re-exports included", async () => {
  const found = await problems("ingest-service-reaches-up.ts", "src/ingest-service/routes/fixture.ts");
  expect(found.map((p) => [p.rule, p.line])).toEqual([
    ["no-restricted-imports", 2],
    ["no-restricted-imports", 3],
    ["no-restricted-imports", 4],
  ]);
  expect(found[0].message).toContain("src/ingest-service knows nothing of gates");
});

test("src/gates may import nothing from src/bot or src/cli", async () => {
  const found = await problems("gates-reach-up.ts", "src/gates/measure/replay/fixture.ts");
  expect(found.map((p) => [p.rule, p.line])).toEqual([
    ["no-restricted-imports", 2],
    ["no-restricted-imports", 3],
  ]);
});

test("src/bot may import nothing from src/cli", async () => {
  const found = await problems("bot-reaches-cli.ts", "src/bot/commands/fixture.ts");
  expect(found.map((p) => [p.rule, p.line])).toEqual([["no-restricted-imports", 2]]);
});

test("nothing in src imports test/, bench/ or faults/", async () => {
  for (const as of ["src/cli/fixture.ts", "src/gates/verdict/slos/fixture.ts", "src/ingest-service/fixture.ts", "src/bot/fixture.ts"]) {
    const found = await problems("src-reaches-test.ts", as);
    expect(found.map((p) => [p.rule, p.line])).toEqual([
      ["no-restricted-imports", 2],
      ["no-restricted-imports", 3],
      ["no-restricted-imports", 4],
    ]);
  }
});

test("imports along the arrows (cli → bot → gates, and src's own modules) pass", async () => {
  expect(await problems("allowed-direction.ts", "src/bot/commands/fixture.ts")).toEqual([]);
  expect(await problems("allowed-direction.ts", "src/cli/fixture.ts")).toEqual([]);
});

test("a stage folder of src/gates is entered only through its index.ts, and never through its own", async () => {
  const found = await problems("gates-past-the-door.ts", "src/gates/run/fixture.ts");
  expect(found.map((p) => [p.rule, p.line])).toEqual([
    ["release-gate/enter-through-doors", 2],
    ["release-gate/enter-through-doors", 3],
    ["release-gate/enter-through-doors", 4],
    ["release-gate/enter-through-doors", 5],
  ]);
  expect(found[0].message).toBe(
    'src/gates/measure/ is entered only through its door: import from "../measure/index.js" (add the name there if it is missing).',
  );
  expect(found[1].message).toContain('import from "../measure/index.js"');
  expect(found[2].message).toContain('import from "../model/index.js"');
  expect(found[3].message).toContain("src/gates/run/index.ts is the door for other folders");
});

test("inside a stage, a folder with an index.ts is entered through it; siblings, the stage's files and folders without a door are imported directly", async () => {
  const found = await problems("gates-inside-a-stage.ts", "src/gates/measure/shards/fixture.ts");
  expect(found.map((p) => [p.rule, p.line])).toEqual([
    ["release-gate/enter-through-doors", 2],
    ["release-gate/enter-through-doors", 3],
  ]);
  expect(found[0].message).toContain('src/gates/measure/replay/ is entered only through its door: import from "../replay/index.js"');
  expect(found[1].message).toContain("src/gates/measure/index.ts is the door for other folders");
});

test("src/bot (and src/cli) enter a stage of src/gates only through its index.ts", async () => {
  const found = await problems("bot-past-the-door.ts", "src/bot/runs/fixture.ts");
  expect(found.map((p) => [p.rule, p.line])).toEqual([
    ["release-gate/enter-through-doors", 2],
    ["release-gate/enter-through-doors", 3],
  ]);
  expect(found[1].message).toContain('import from "../../gates/run/index.js"');
});

test("a function over 80 lines in src/gates or src/bot fails, unless named as an exception in the config", async () => {
  for (const as of ["src/gates/fixture.ts", "src/bot/web/fixture.ts"]) {
    const found = await problems("long-function.ts", as);
    expect(found.map((p) => p.rule)).toEqual(["release-gate/max-lines-per-function"]);
    expect(found[0].message).toMatch(/'executeRun' has too many lines \(83\)\. Maximum allowed is 80/);
  }
  expect(await problems("long-function.ts", "src/gates/run/execute-run.ts")).toEqual([]);
  // Outside src/gates and src/bot the length is not limited.
  expect(await problems("long-function.ts", "src/ingest-service/fixture.ts")).toEqual([]);
});
