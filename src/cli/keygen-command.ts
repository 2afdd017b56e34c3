// `gate keygen`: a fresh Ed25519 key pair for signing evidence, printed once. The private key goes to the
// bot (EVIDENCE_SIGNING_KEY or EVIDENCE_SIGNING_KEY_PATH); the public key is published for `gate verify --key`.

import { writeFile } from "node:fs/promises";
import { generateSigningKeyPair } from "../gates/evidence/index.js";

const HELP = `gate keygen [--out PREFIX]

Generate the Ed25519 key pair the bot signs evidence with, and print it once.
  --out PREFIX  also write PREFIX.key (private, mode 0600) and PREFIX.pub.pem (public)
Give the bot the private key as EVIDENCE_SIGNING_KEY (the PEM text) or EVIDENCE_SIGNING_KEY_PATH (its file);
publish the public key so anyone can run: gate verify DIR --key PREFIX.pub.pem`;

export async function keygenCommand(args: string[]): Promise<number> {
  if (args.includes("--help") || args.includes("-h")) {
    console.log(HELP);
    return 0;
  }
  const outAt = args.indexOf("--out");
  const out = outAt >= 0 ? args[outAt + 1] : undefined;
  const extra = outAt >= 0 ? args.filter((_, i) => i !== outAt && i !== outAt + 1) : args;
  if ((outAt >= 0 && (!out || out.startsWith("-"))) || extra.length) {
    console.error(`gate keygen: unexpected ${extra[0] ?? "--out without a PREFIX"}. Usage: gate keygen [--out PREFIX]`);
    return 2;
  }
  const pair = generateSigningKeyPair();
  if (out) {
    await writeFile(`${out}.key`, pair.privateKeyPem, { mode: 0o600, flag: "wx" });
    await writeFile(`${out}.pub.pem`, pair.publicKeyPem, { flag: "wx" });
    console.error(`gate keygen: wrote ${out}.key (private: EVIDENCE_SIGNING_KEY_PATH=${out}.key) and ${out}.pub.pem (public)`);
  }
  console.log(
    `# key id ${pair.keyId}\n# private key: give it to the bot as EVIDENCE_SIGNING_KEY, keep it nowhere else\n${pair.privateKeyPem}# public key: publish it; gate verify DIR --key PUB.pem\n${pair.publicKeyPem}`,
  );
  return 0;
}
