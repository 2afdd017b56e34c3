import { truncation } from "../../faults/truncation.js";

const all = {
  scenarios: ["worker-kill", "redis-kill", "postgres-away"],
  only: null,
  size: "full" as const,
  badInput: true,
  iterations: 100,
};

test("the full suite is not truncated", () => {
  expect(truncation(all)).toEqual([]);
});

test("a run that left anything out says what", () => {
  expect(truncation({ ...all, only: ["redis-kill", "bad-input"] })).toEqual(["--only: scenarios worker-kill, postgres-away not run"]);
  expect(truncation({ ...all, size: "ci" })).toEqual(["--size ci: smaller plans than the full suite"]);
  expect(truncation({ ...all, badInput: false })).toEqual(["the bad-input catalogue not run"]);
  expect(truncation({ ...all, only: ["redis-kill"] })).toEqual([
    "--only: scenarios worker-kill, postgres-away not run",
    "the bad-input catalogue not run",
  ]);
  expect(truncation({ ...all, iterations: 10 })).toEqual(["--iterations 10: the memory check ran 10 of 100 catalogue runs"]);
});
