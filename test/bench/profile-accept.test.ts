import { Session } from "node:inspector";
import { allocatedBySite, allocationsBetween } from "../../bench/profile-accept.js";

const frame = (functionName: string, lineNumber = 0) => ({
  functionName,
  url: "file:///x/src/ingest-service/routes/webhooks.js",
  lineNumber,
});

test("allocations between two snapshots: what each site grew by, per request, largest first; sites that did not grow are left out", () => {
  const before = allocatedBySite({
    callFrame: frame("(root)"),
    selfSize: 0,
    children: [
      { callFrame: frame("handle", 41), selfSize: 1000, children: [] },
      { callFrame: frame("warmUpOnly", 9), selfSize: 5000, children: [] },
    ],
  });
  const after = allocatedBySite({
    callFrame: frame("(root)"),
    selfSize: 0,
    children: [
      {
        callFrame: frame("handle", 41),
        selfSize: 5000,
        // The same function reached by another path counts toward the same site.
        children: [
          { callFrame: frame("handle", 41), selfSize: 1000, children: [{ callFrame: frame("", 3), selfSize: 2000, children: [] }] },
        ],
      },
      { callFrame: frame("warmUpOnly", 9), selfSize: 5000, children: [] },
    ],
  });
  expect(after.get("handle routes/webhooks.js:42")).toBe(6000);
  const { bytesPerRequest, rows } = allocationsBetween(before, after, 10);
  expect(bytesPerRequest).toBe(700);
  expect(rows).toEqual([
    ["handle routes/webhooks.js:42", 500],
    ["(anonymous) routes/webhooks.js:4", 200],
  ]);
});

test("a real allocation sampler's profile: objects already collected still count, so a loop's garbage shows at its site", async () => {
  const session = new Session();
  session.connect();
  const post = <T>(method: string, params?: object) =>
    new Promise<T>((resolve, reject) => session.post(method, params ?? {}, (err, r) => (err ? reject(err) : resolve(r as T))));
  await post("HeapProfiler.enable");
  await post("HeapProfiler.startSampling", {
    samplingInterval: 1024,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
  const snapshot = async () =>
    allocatedBySite(
      (await post<{ profile: { head: Parameters<typeof allocatedBySite>[0] } }>("HeapProfiler.getSamplingProfile")).profile.head,
    );
  const before = await snapshot();
  let kept = 0;
  function makeGarbage(): void {
    // Each object escapes into the list (so the compiler cannot leave it out) and is garbage 1,000 later.
    const list: { i: number }[] = [];
    for (let i = 0; i < 2_000_000; i++) {
      list.push({ i });
      if (list.length === 1000) list.length = 0;
      kept++;
    }
  }
  makeGarbage();
  const after = await snapshot();
  await post("HeapProfiler.stopSampling");
  session.disconnect();
  const { bytesPerRequest, rows } = allocationsBetween(before, after, 2_000_000);
  expect(kept).toBe(2_000_000);
  const site = rows.find(([name]) => name.startsWith("makeGarbage "));
  // 2,000,000 objects of one field (32 MB or more: scavenged many times over): at least 12 bytes each (map, properties, elements, the field), sampled.
  expect(site?.[1]).toBeGreaterThan(10);
  expect(bytesPerRequest).toBeGreaterThanOrEqual(site![1]);
});
