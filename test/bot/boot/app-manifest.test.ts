// The GitHub App manifest asks for what the bot uses and nothing more.

import { readFileSync } from "node:fs";
import { parse } from "yaml";

const manifest = parse(readFileSync(new URL("../../../app.yml", import.meta.url), "utf8")) as {
  default_events: string[];
  default_permissions: Record<string, string>;
  hook_attributes: { url: string };
};

test("app.yml subscribes to the events the bot handles and asks for least privilege", () => {
  expect([...manifest.default_events].sort()).toEqual([
    "check_run",
    "deployment_protection_rule",
    "issue_comment",
    "merge_group",
    "pull_request",
    "pull_request_review",
  ]);
  expect(manifest.default_permissions).toEqual({
    metadata: "read",
    contents: "write",
    pull_requests: "write",
    issues: "write",
    checks: "write",
    statuses: "write",
    actions: "read",
    deployments: "write",
    merge_queues: "read",
  });
  expect(manifest.hook_attributes.url).toMatch(/\/api\/github\/webhooks$/);
});
