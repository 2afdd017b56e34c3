// Evidence item 10: SHA256SUMS, the digest of every file in the bundle (GNU coreutils format), and the chain of the
// manifests a sign-off replaced. The bundle writes SHA256SUMS itself, last, over everything else; this item starts
// the (empty) chain.

import { MANIFEST_FILE, MANIFEST_HISTORY_FILE, renderManifestHistory } from "../manifest.js";
import type { EvidenceItem } from "./evidence-item.js";

export const sha256Manifest = {
  id: "sha256_manifest",
  number: 10,
  title: "SHA-256 manifest",
  path: MANIFEST_FILE,
  rootFiles: [MANIFEST_FILE, MANIFEST_HISTORY_FILE],
  required: `sha256sum -c and gate verify check the bundle against ${MANIFEST_FILE}, and a sign-off seals it again`,
  layout: `\`${MANIFEST_FILE}\`, \`${MANIFEST_HISTORY_FILE}\``,
  async write({ bundle }) {
    await bundle.text(MANIFEST_HISTORY_FILE, renderManifestHistory([]));
  },
} as const satisfies EvidenceItem;
