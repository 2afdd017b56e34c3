import { jest } from "@jest/globals";
import { roundsInTurn } from "../../bench/rounds-in-turn.js";

test("every kind runs once per round, in turn, and each kind's mean is over its own runs", async () => {
  const order: string[] = [];
  const costs: Record<string, number[]> = { a: [10, 20], b: [1, 5] };
  const log = jest.spyOn(console, "log").mockImplementation(() => {});
  try {
    const mean = await roundsInTurn(
      ["a", "b"] as const,
      2,
      async (kind) => {
        order.push(kind);
        return { us: costs[kind].shift()! };
      },
      (r) => `${r.us} µs`,
    );
    expect(order).toEqual(["a", "b", "a", "b"]);
    expect([...mean]).toEqual([
      ["a", 15],
      ["b", 3],
    ]);
    expect(log.mock.calls.map((c) => c[0])).toEqual([
      "round 1 a        10 µs",
      "round 1 b        1 µs",
      "round 2 a        20 µs",
      "round 2 b        5 µs",
    ]);
  } finally {
    log.mockRestore();
  }
});
