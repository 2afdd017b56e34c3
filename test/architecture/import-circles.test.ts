// No import circle in src, types included: every stage of src/gates imports down toward model/, and a
// type two stages share lives there. A circle that appears fails here, naming its files.

import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { expect, test } from "@jest/globals";
import { importCircles, importGraph } from "./import-graph.js";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "../..");

test("src has no import circle", () => {
  const circles = importCircles(importGraph(root, "src"));
  // On failure: a type or function is in the wrong stage; move it down, toward src/gates/model/.
  expect(circles).toEqual([]);
});

test("the scanner sees type-only imports and re-exports, and finds circles of any length", () => {
  const graph = new Map([
    ["a.ts", ["b.ts"]],
    ["b.ts", ["c.ts"]],
    ["c.ts", ["a.ts"]],
    ["d.ts", ["a.ts"]],
    ["e.ts", ["e.ts"]],
  ]);
  expect(importCircles(graph)).toEqual([["a.ts", "b.ts", "c.ts"], ["e.ts"]]);
  // src/bot/events/repository-gates.ts reaches run-record.ts by `import type` alone; slos/index.ts re-exports its modules.
  const src = importGraph(root, "src");
  expect(src.get("src/bot/events/repository-gates.ts")).toContain("src/bot/runs/run-record.ts");
  expect(src.get("src/gates/verdict/slos/index.ts")?.length).toBeGreaterThan(3);
});
