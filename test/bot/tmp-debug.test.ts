import { startBotWorld, waitFor } from "./support/bot-world.js";
test("debug timing", async () => {
  const world = await startBotWorld("dbg");
  const pr = world.fake.createPullRequest({ head: "feature", files: { "a.ts": "x" } }).number;
  for (const body of ["/gate-a status", "/gate-a deploy", "/gate-a replay 30k"]) {
    const t0 = Date.now();
    const n = world.fake.requests.length;
    const { answer } = await world.comment(pr, "octocat", body);
    console.log(body, "answer", answer.status, Date.now() - t0, world.fake.requests.slice(n).map((r) => r.route).join(","));
  }
  await world.close();
}, 30000);
