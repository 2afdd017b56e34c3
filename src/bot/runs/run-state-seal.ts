// The seal on everything the bot keeps in Redis that decides a promotion: each value is stored with an
// HMAC-SHA256 over the Redis key (and hash field) it lives under and its text, with a key only the bot
// holds. Anyone else who can write the bot's Redis (the code under test, a neighbour) can delete or
// replay values, but cannot make one the bot accepts, nor move a valid one under another key.

import { createHmac, createPrivateKey, hkdfSync, randomBytes, timingSafeEqual } from "node:crypto";

/** The format tag every sealed value starts with; a new MAC layout gets a new tag. */
const TAG = "rg1";
const KEY_BYTES = 32;
/** Domain separation: a MAC made here is never valid as any other HMAC made with the same key material. */
const DOMAIN = "release-gate run-state v1";

export type Unsealed = { ok: true; text: string } | { ok: false; problem: string };

export class RunStateSeal {
  private constructor(private readonly key: Buffer) {}

  /** A seal from 32 or more bytes of key material (RUN_STATE_KEY, or what HKDF derived). */
  static fromKey(key: Buffer): RunStateSeal {
    if (key.length < KEY_BYTES) throw new Error(`a run-state key needs at least ${KEY_BYTES} bytes, got ${key.length}`);
    return new RunStateSeal(Buffer.from(key));
  }

  /**
   * A seal whose key is derived with HKDF-SHA256 from the GitHub App's private key (its canonical PKCS#8
   * DER, so the PEM's spelling does not matter): every process holding the App key (the bot and its
   * runners) derives the same key, and no new setting is needed. Rotating the App key invalidates records.
   */
  static fromAppKey(privateKeyPem: string): RunStateSeal {
    const der = createPrivateKey(privateKeyPem).export({ type: "pkcs8", format: "der" });
    return new RunStateSeal(Buffer.from(hkdfSync("sha256", der, "release-gate", "run-state hmac-sha256 key", KEY_BYTES)));
  }

  /** A fresh random key (tests, and one-process tools that keep nothing). */
  static random(): RunStateSeal {
    return new RunStateSeal(randomBytes(KEY_BYTES));
  }

  private mac(where: string, text: string): Buffer {
    return createHmac("sha256", this.key).update(`${DOMAIN}\n${where}\n`, "utf8").update(text, "utf8").digest();
  }

  /** `text` as stored under `where` (the Redis key, plus "\n" and the field for a hash field). */
  seal(where: string, text: string): string {
    return `${TAG}.${this.mac(where, text).toString("base64url")}.${text}`;
  }

  /** The text of a value stored under `where`, or why it is not one the bot sealed there. */
  open(where: string, stored: string): Unsealed {
    const first = stored.indexOf(".");
    const second = first < 0 ? -1 : stored.indexOf(".", first + 1);
    if (second < 0 || stored.slice(0, first) !== TAG)
      return { ok: false, problem: "it carries no seal (written by someone other than the bot)" };
    const given = Buffer.from(stored.slice(first + 1, second), "base64url");
    const text = stored.slice(second + 1);
    const expected = this.mac(where, text);
    if (given.length !== expected.length || !timingSafeEqual(given, expected))
      return { ok: false, problem: "its seal does not match (forged, altered, or copied from another key)" };
    return { ok: true, text };
  }
}
