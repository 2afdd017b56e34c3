// The one redaction every byte of an evidence bundle and every text posted to GitHub passes through: the
// run's own secrets and the bot's (registered once at start), in every spelling they could be written in,
// and the shapes of credentials (PEM blocks, GitHub tokens, bearer keys, webhook signatures, passwords in URLs).

/** What a redacted value is replaced with. */
export const REDACTED = "[REDACTED]";

export type Redactor = (text: string) => string;

/** Header names whose value carries a credential: `Name: value`, `"name": "value"`, `name=value`. */
const HEADER_KEYS = [
  "authorization",
  "proxy-authorization",
  "webhook-signature",
  "x-hub-signature-256",
  "x-hub-signature",
  "x-api-key",
  "cookie",
  "set-cookie",
];
/** Setting names whose value is a secret. */
const SECRET_KEYS = [
  "password",
  "passwd",
  "secret",
  "webhook_secret",
  "webhook-secret",
  "signing_secret",
  "client_secret",
  "api_key",
  "apikey",
  "access_token",
  "bearer_key",
  "private_key",
];

// The key, an optional closing quote of a JSON key, then the separator. The value is consumed by hand below.
const KEY_RE = new RegExp(
  `(?<![A-Za-z0-9_-])(${[...HEADER_KEYS, ...SECRET_KEYS].map(escapeRegExp).join("|")})(["']?[ \\t]*[:=][ \\t]*)`,
  "gi",
);
/** An authorization scheme, kept so that "Authorization: Bearer [REDACTED]" still says what was sent. */
const SCHEME_RE = /^((?:Bearer|Basic|Token|Digest|Bot)[ \t]+)/i;
/**
 * Whether an unquoted word after a header name or scheme is a credential rather than prose ("Authorization: Bearer
 * with a wrong key", "Basic instead of Bearer"): long, or mixing letters with digits or token punctuation.
 */
function looksLikeCredential(token: string): boolean {
  return token.length >= 16 || (token.length >= 6 && /[A-Za-z]/.test(token) && /[0-9+/=_.~-]/.test(token));
}

/** Credential shapes that are secret whatever key (if any) they are written under. */
const SHAPES: [RegExp, string | ((...groups: string[]) => string)][] = [
  // PEM blocks (private keys, certificates), first so no other shape eats into one; an unterminated block to the end.
  [
    /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?(?:-----END \1-----|$)/g,
    (_all: string, kind: string) => `-----BEGIN ${kind}----- ${REDACTED} -----END ${kind}-----`,
  ],
  // GitHub tokens: personal, OAuth, user-to-server, installation (ghs_), refresh, fine-grained.
  [/\b(?:gh[opsur]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})\b/g, REDACTED],
  // Standard Webhooks secrets.
  [/whsec_[A-Za-z0-9+/=_-]+/g, `whsec_${REDACTED}`],
  // Bearer and basic credentials outside a header. Case-sensitive, and only credential-like words, so that prose
  // such as "the right bearer key" keeps its words.
  [
    /\bBearer([ \t]+)(?!\[REDACTED\])([A-Za-z0-9._~+/=-]{6,})/g,
    (all: string, space: string, token: string) => (looksLikeCredential(token) ? `Bearer${space}${REDACTED}` : all),
  ],
  [/\bBasic([ \t]+)(?!\[REDACTED\])[A-Za-z0-9+/]{12,}={0,2}/g, `Basic$1${REDACTED}`],
  // Standard Webhooks signatures: "v1,<base64 of 32 bytes>".
  [/\bv1,[A-Za-z0-9+/]{20,}={0,2}/g, `v1,${REDACTED}`],
  // GitHub signatures: "sha256=<64 hex>".
  [/\bsha(1|256)=[0-9a-fA-F]{40,64}\b/g, `sha$1=${REDACTED}`],
  // A password in any URL's userinfo (postgres://, postgresql://, redis://, rediss://, amqp://, https://).
  [/\b([a-z][a-z0-9+.-]*:\/\/)([^:/@\s"'<>]*):([^@/\s"'<>]+)@/gi, `$1$2:${REDACTED}@`],
  // redis://secret@host: Redis clients read a userinfo without a colon as the password.
  [/\b(rediss?:\/\/)(?!\[REDACTED\])([^:/@\s"'<>]+)@/gi, `$1${REDACTED}@`],
];

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Every way a secret can be spelled in a text file of the bundle: as is, inside a JSON string, URL-encoded, in HTML. */
function spellings(secret: string): string[] {
  const forms = new Set<string>([
    secret,
    JSON.stringify(secret).slice(1, -1),
    encodeURIComponent(secret),
    encodeURI(secret),
    secret.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;"),
  ]);
  return [...forms].filter((form) => form.length > 0);
}

/**
 * Replace the value that follows each credential key. A quoted value ("authorization":"Bearer x") is a credential
 * whole, up to its closing quote. An unquoted one is its first token after any scheme, so that a header line is
 * redacted while prose about headers ("Authorization: Bearer with a wrong key") keeps its words.
 */
function redactKeyedValues(text: string): string {
  let out = "";
  let last = 0;
  KEY_RE.lastIndex = 0;
  for (let m = KEY_RE.exec(text); m !== null; m = KEY_RE.exec(text)) {
    const header = HEADER_KEYS.includes(m[1]!.toLowerCase());
    let start = m.index + m[0].length;
    const quote = text[start];
    let end: number;
    if (quote === '"' || quote === "'") {
      start++;
      end = start;
      while (end < text.length && text[end] !== quote && text[end] !== "\n") end += text[end] === "\\" ? 2 : 1;
      end = Math.min(end, text.length);
      const scheme = header ? (SCHEME_RE.exec(text.slice(start, end))?.[1] ?? "") : "";
      start += scheme.length;
      if (end === start || text.slice(start, end) === REDACTED) continue;
    } else {
      const scheme = header ? (SCHEME_RE.exec(text.slice(start, start + 20))?.[1] ?? "") : "";
      start += scheme.length;
      end = start;
      while (end < text.length && !" \t\r\n\"'&;,}<>".includes(text[end]!)) end++;
      const value = text.slice(start, end);
      if (value === "" || value === REDACTED || (header && !looksLikeCredential(value))) continue;
    }
    out += text.slice(last, start) + REDACTED;
    last = end;
    KEY_RE.lastIndex = Math.max(end, KEY_RE.lastIndex);
  }
  return out + text.slice(last);
}

/** The exact secrets of the process (the bot's keys and tokens), redacted from everything besides a run's own. */
const ownSecrets = new Set<string>();
let ownVersion = 0;

/**
 * Registers the bot's own secrets, once at start (from its options): every redactor made before or after
 * removes them too. A PEM's body lines count on their own, so a key printed in part is still caught.
 */
export function registerOwnSecrets(secrets: readonly string[]): void {
  for (const secret of secrets) {
    const value = secret.trim();
    if (!value) continue;
    ownSecrets.add(value);
    if (value.includes("-----BEGIN"))
      for (const line of value.split(/\r?\n|\\n/)) if (line.trim().length >= 32 && !line.includes("-----")) ownSecrets.add(line.trim());
  }
  ownVersion++;
}

/** Every spelling of `secrets`, longest first so that a secret containing another is not left half-visible. */
function literalsOf(secrets: readonly string[]): string[] {
  return [...new Set(secrets.filter((s) => s.length > 0).flatMap(spellings))].sort(
    (a, b) => b.length - a.length || (a < b ? -1 : a > b ? 1 : 0),
  );
}

/**
 * A redactor for one run. Every non-empty secret is removed in all its spellings, longest first so that a
 * secret containing another is not left half-visible; then the credential shapes are removed. Short secrets
 * are redacted too: an over-redacted bundle is ugly, a leaked key is an incident.
 */
export function createRedactor(secrets: readonly string[]): Redactor {
  let version = -1;
  let literals: string[] = [];
  return (text: string): string => {
    // Rebuilt only when the bot's own secrets were registered since: the common case is one comparison.
    if (version !== ownVersion) {
      literals = literalsOf([...secrets, ...ownSecrets]);
      version = ownVersion;
    }
    let out = text;
    for (const literal of literals) if (out.includes(literal)) out = out.split(literal).join(REDACTED);
    out = redactKeyedValues(out);
    for (const [re, replacement] of SHAPES) out = out.replace(re, replacement as string);
    return out;
  };
}
