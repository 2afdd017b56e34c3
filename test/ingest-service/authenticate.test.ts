import { createHmac } from "node:crypto";
import { Webhook } from "standardwebhooks";
import { createAuthenticator } from "../../src/ingest-service/authenticate.js";

// Vectors from REFERENCE.md: the Standard Webhooks TypeScript library's tests and GitHub's docs.
const SW_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const SW_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek";
const SW_TS = 1614265330;
const SW_BODY = Buffer.from('{"test": 2432232314}');
const SW_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
const GH_SECRET = "It's a Secret to Everybody";
const GH_BODY = Buffer.from("Hello, World!");
const GH_SIGNATURE = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

const swHeaders = (signature = SW_SIGNATURE, ts = String(SW_TS)) => ({
  "webhook-id": SW_ID,
  "webhook-timestamp": ts,
  "webhook-signature": signature,
});

describe("Standard Webhooks signatures", () => {
  const check = createAuthenticator({ signingSecret: SW_SECRET });

  test("the specification's test vector verifies", () => {
    expect(check(swHeaders(), SW_BODY, SW_TS)).toBeNull();
  });

  test("one matching v1 entry among several is enough (secret rotation)", () => {
    const headers = swHeaders(`v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= v2,whatever ${SW_SIGNATURE}`);
    expect(check(headers, SW_BODY, SW_TS)).toBeNull();
  });

  test("a changed body fails with invalid_signature", () => {
    expect(check(swHeaders(), Buffer.from('{"test": 2432232315}'), SW_TS)?.code).toBe("invalid_signature");
  });

  test("a timestamp more than five minutes from the server clock is refused, either way", () => {
    expect(check(swHeaders(), SW_BODY, SW_TS + 301)?.code).toBe("timestamp_out_of_tolerance");
    expect(check(swHeaders(), SW_BODY, SW_TS - 301)?.code).toBe("timestamp_out_of_tolerance");
    expect(check(swHeaders(), SW_BODY, SW_TS + 299)).toBeNull();
  });

  test("a missing header is named in the message", () => {
    const { "webhook-signature": _, ...headers } = swHeaders();
    const failure = check(headers, SW_BODY, SW_TS);
    expect(failure?.code).toBe("missing_signature");
    expect(failure?.message).toContain("webhook-signature");
  });

  test("signatures made by the standardwebhooks library verify, and ours agree with it", () => {
    const lib = new Webhook(SW_SECRET);
    const now = new Date();
    const ts = Math.floor(now.getTime() / 1000);
    const body = Buffer.from(JSON.stringify({ hello: "world", n: 1 }));
    const signature = lib.sign("msg_1", now, body.toString());
    expect(check({ "webhook-id": "msg_1", "webhook-timestamp": String(ts), "webhook-signature": signature }, body, ts)).toBeNull();
    expect(lib.sign(SW_ID, new Date(SW_TS * 1000), SW_BODY.toString())).toBe(SW_SIGNATURE);
  });
});

describe("GitHub X-Hub-Signature-256", () => {
  const check = createAuthenticator({ githubSecret: GH_SECRET });

  test("GitHub's documented vector verifies", () => {
    expect(check({ "x-hub-signature-256": GH_SIGNATURE }, GH_BODY, 0)).toBeNull();
  });

  test("a wrong or malformed signature fails, a missing one is named", () => {
    expect(check({ "x-hub-signature-256": GH_SIGNATURE.replace("757", "758") }, GH_BODY, 0)?.code).toBe("invalid_github_signature");
    expect(check({ "x-hub-signature-256": "sha1=abc" }, GH_BODY, 0)?.code).toBe("invalid_github_signature");
    const missing = check({}, GH_BODY, 0);
    expect(missing?.code).toBe("missing_github_signature");
    expect(missing?.message).toContain("X-Hub-Signature-256");
  });
});

describe("bearer key", () => {
  const check = createAuthenticator({ bearerKey: "s3cret-key" });

  test("the configured key passes, in any case of the scheme name", () => {
    expect(check({ authorization: "Bearer s3cret-key" }, Buffer.alloc(0), 0)).toBeNull();
    expect(check({ authorization: "bearer s3cret-key" }, Buffer.alloc(0), 0)).toBeNull();
  });

  test("a missing Authorization header and a wrong key are told apart", () => {
    expect(check({}, Buffer.alloc(0), 0)?.code).toBe("missing_credentials");
    expect(check({ authorization: "Bearer s3cret-kez" }, Buffer.alloc(0), 0)?.code).toBe("invalid_bearer");
    expect(check({ authorization: "Basic czNjcmV0LWtleQ==" }, Buffer.alloc(0), 0)?.code).toBe("invalid_bearer");
  });
});

test("a request must pass every configured scheme", () => {
  const check = createAuthenticator({ bearerKey: "k", githubSecret: GH_SECRET });
  const github = { "x-hub-signature-256": GH_SIGNATURE };
  expect(check({ authorization: "Bearer k", ...github }, GH_BODY, 0)).toBeNull();
  expect(check(github, GH_BODY, 0)?.code).toBe("missing_credentials");
  expect(check({ authorization: "Bearer k" }, GH_BODY, 0)?.code).toBe("missing_github_signature");
  const hmac = createHmac("sha256", "other").update(GH_BODY).digest("hex");
  expect(check({ authorization: "Bearer k", "x-hub-signature-256": `sha256=${hmac}` }, GH_BODY, 0)?.code).toBe("invalid_github_signature");
});

test("with no scheme configured every request passes (the --insecure case)", () => {
  expect(createAuthenticator({})({}, Buffer.alloc(0), 0)).toBeNull();
});
