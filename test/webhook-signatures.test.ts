// The one signing and verifying module, against the published vectors (REFERENCE.md): the Standard
// Webhooks TypeScript library's tests and GitHub's documentation.

import { Webhook } from "standardwebhooks";
import {
  githubSignature,
  signingKey,
  signingSecretProblem,
  signStandardWebhook,
  standardWebhookSignature,
  verifyGithubSignature,
  verifyStandardWebhook,
} from "../src/webhook-signatures.js";

const SW_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const SW_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek";
const SW_TS = 1614265330;
const SW_BODY = '{"test": 2432232314}';
const SW_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
const GH_SECRET = "It's a Secret to Everybody";
const GH_BODY = "Hello, World!";
const GH_SIGNATURE = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

const swHeaders = (signature: string, ts = String(SW_TS)) => ({
  "webhook-id": SW_ID,
  "webhook-timestamp": ts,
  "webhook-signature": signature,
});

describe("Standard Webhooks", () => {
  test("signing gives the specification's test vector, from the secret or from its decoded key, over text or bytes", () => {
    expect(standardWebhookSignature(SW_SECRET, SW_ID, SW_TS, SW_BODY)).toBe(SW_SIGNATURE);
    expect(signStandardWebhook(signingKey(SW_SECRET), SW_ID, String(SW_TS), Buffer.from(SW_BODY))).toBe(SW_SIGNATURE);
  });

  test("the test vector verifies at its own time and at the edges of the five-minute tolerance, not beyond", () => {
    const key = signingKey(SW_SECRET);
    const body = Buffer.from(SW_BODY);
    expect(verifyStandardWebhook(key, swHeaders(SW_SIGNATURE), body, SW_TS)).toBeNull();
    expect(verifyStandardWebhook(key, swHeaders(SW_SIGNATURE), body, SW_TS + 300)).toBeNull();
    expect(verifyStandardWebhook(key, swHeaders(SW_SIGNATURE), body, SW_TS - 300)).toBeNull();
    expect(verifyStandardWebhook(key, swHeaders(SW_SIGNATURE), body, SW_TS + 301)?.code).toBe("timestamp_out_of_tolerance");
  });

  test("a signature over other bytes, or made with another key, does not verify", () => {
    const key = signingKey(SW_SECRET);
    expect(verifyStandardWebhook(key, swHeaders(SW_SIGNATURE), Buffer.from('{"test": 2432232315}'), SW_TS)?.code).toBe("invalid_signature");
    const other = signingKey(`whsec_${Buffer.alloc(32, 7).toString("base64")}`);
    expect(verifyStandardWebhook(other, swHeaders(SW_SIGNATURE), Buffer.from(SW_BODY), SW_TS)?.code).toBe("invalid_signature");
  });

  test("what it signs, the standardwebhooks library verifies", () => {
    const ts = Math.floor(Date.now() / 1000);
    const body = JSON.stringify({ hello: "world" });
    const signature = standardWebhookSignature(SW_SECRET, "msg_1", ts, body);
    const headers = { "webhook-id": "msg_1", "webhook-timestamp": String(ts), "webhook-signature": signature };
    expect(() => new Webhook(SW_SECRET).verify(body, headers)).not.toThrow();
  });

  test("a secret must be whsec_ followed by base64 of 24 to 64 bytes, and the problem says which rule failed", () => {
    expect(signingSecretProblem(SW_SECRET)).toBeNull();
    expect(signingSecretProblem(`whsec_${Buffer.alloc(64).toString("base64")}`)).toBeNull();
    expect(signingSecretProblem("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")).toMatch(/must start with "whsec_"/);
    expect(signingSecretProblem("whsec_not base64!")).toMatch(/followed by base64/);
    expect(signingSecretProblem("whsec_AAAA")).toBe('must encode 24 to 64 bytes after "whsec_", it encodes 3');
    expect(signingSecretProblem(`whsec_${Buffer.alloc(65).toString("base64")}`)).toMatch(/it encodes 65/);
  });
});

describe("GitHub X-Hub-Signature-256", () => {
  test("signing gives GitHub's documented vector, and it verifies", () => {
    expect(githubSignature(GH_SECRET, GH_BODY)).toBe(GH_SIGNATURE);
    expect(verifyGithubSignature(GH_SECRET, { "x-hub-signature-256": GH_SIGNATURE }, Buffer.from(GH_BODY))).toBeNull();
  });

  test("another body or a malformed header does not verify; a missing header is named", () => {
    expect(verifyGithubSignature(GH_SECRET, { "x-hub-signature-256": GH_SIGNATURE }, Buffer.from("Hello, World?"))?.code).toBe(
      "invalid_github_signature",
    );
    expect(verifyGithubSignature(GH_SECRET, { "x-hub-signature-256": GH_SIGNATURE.slice(0, -1) }, Buffer.from(GH_BODY))?.code).toBe(
      "invalid_github_signature",
    );
    expect(verifyGithubSignature(GH_SECRET, {}, Buffer.from(GH_BODY))?.message).toContain("X-Hub-Signature-256");
  });
});
