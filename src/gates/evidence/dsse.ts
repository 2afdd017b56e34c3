// DSSE envelopes (the signing wrapper in-toto attestations travel in) with Ed25519 keys: the bytes signed
// are PAE(payloadType, payload), so neither the type nor the payload can be swapped under a signature.

import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from "node:crypto";

export const IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json";

export interface DsseEnvelope {
  payloadType: string;
  /** Base64 of the payload bytes. */
  payload: string;
  signatures: { keyid: string; sig: string }[];
}

/** Pre-authentication encoding: "DSSEv1" SP len(type) SP type SP len(payload) SP payload, lengths in bytes. */
export function pae(payloadType: string, payload: Buffer): Buffer {
  const type = Buffer.from(payloadType, "utf8");
  return Buffer.concat([Buffer.from(`DSSEv1 ${type.length} `), type, Buffer.from(` ${payload.length} `), payload]);
}

/** The key's id: SHA-256 of its public key (SPKI DER), hex, so a verifier can say which key signed. */
export function keyIdOf(key: KeyObject): string {
  const pub = key.type === "private" ? createPublicKey(key) : key;
  return createHash("sha256")
    .update(pub.export({ type: "spki", format: "der" }))
    .digest("hex");
}

export function signEnvelope(payloadType: string, payload: Buffer, privateKey: KeyObject): DsseEnvelope {
  const sig = sign(null, pae(payloadType, payload), privateKey);
  return { payloadType, payload: payload.toString("base64"), signatures: [{ keyid: keyIdOf(privateKey), sig: sig.toString("base64") }] };
}

export type EnvelopeCheck = { ok: true; payload: Buffer } | { ok: false; problem: string };

/** Checks that `envelope` carries a valid signature by `publicKey` over its payload type and payload. */
export function verifyEnvelope(envelope: unknown, publicKey: KeyObject, expectedType?: string): EnvelopeCheck {
  const e = envelope as Partial<DsseEnvelope> | null;
  if (!e || typeof e.payloadType !== "string" || typeof e.payload !== "string" || !Array.isArray(e.signatures)) {
    return { ok: false, problem: "not a DSSE envelope (expected payloadType, payload and signatures)" };
  }
  if (expectedType && e.payloadType !== expectedType)
    return { ok: false, problem: `payloadType is "${e.payloadType}", expected "${expectedType}"` };
  const payload = Buffer.from(e.payload, "base64");
  const message = pae(e.payloadType, payload);
  for (const s of e.signatures) {
    if (typeof s?.sig !== "string") continue;
    try {
      if (verify(null, message, publicKey, Buffer.from(s.sig, "base64"))) return { ok: true, payload };
    } catch {
      // A malformed signature is just not a valid one.
    }
  }
  return { ok: false, problem: `no signature by the given key (${keyIdOf(publicKey).slice(0, 16)}…) is valid over the payload` };
}

/** A signing key from PEM text; throws with what to do when it is not an Ed25519 private key. */
export function readSigningKey(pem: string, where: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem.includes("-----BEGIN") ? pem : Buffer.from(pem, "base64").toString("utf8"));
  } catch (err) {
    throw Object.assign(new Error(`${where} is not a PEM private key (${(err as Error).message}): generate one with \`gate keygen\``), {
      code: "bad_signing_key",
    });
  }
  if (key.asymmetricKeyType !== "ed25519") {
    throw Object.assign(
      new Error(`${where} is a ${key.asymmetricKeyType} key; evidence is signed with Ed25519: generate one with \`gate keygen\``),
      { code: "bad_signing_key" },
    );
  }
  return key;
}

/** A verification key from PEM text (the public key `gate keygen` printed). */
export function readVerifyKey(pem: string, where: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch (err) {
    throw Object.assign(
      new Error(`${where} is not a PEM public key (${(err as Error).message}): pass the public key \`gate keygen\` printed`),
      { code: "bad_verify_key" },
    );
  }
  if (key.asymmetricKeyType !== "ed25519") {
    throw Object.assign(new Error(`${where} is a ${key.asymmetricKeyType} key; evidence is signed with Ed25519`), {
      code: "bad_verify_key",
    });
  }
  return key;
}

export function generateSigningKeyPair(): { privateKeyPem: string; publicKeyPem: string; keyId: string } {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  return {
    privateKeyPem: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    publicKeyPem: publicKey.export({ type: "spki", format: "pem" }).toString(),
    keyId: keyIdOf(publicKey),
  };
}
