// `${VAR}` substitution in gate values: only in URL, schema and credential fields, only for variables the
// file's `env:` allow-list names, and on parsed values, never on the raw text.

/** Fields where `${VAR}` may appear: URLs, a deployed target's schema and credentials, nothing that decides what PASS means. */
const ENV_FIELD = /(^|\.)(url|schema|[a-z0-9_]*_url|[a-z0-9_]*(secret|token|password|key))$/;

/** The variables a text reads with `${NAME}` or `${NAME:-default}` (a `$${` is a literal, not a reference). */
export function referencedEnv(text: string): string[] {
  const names: string[] = [];
  for (const m of text.replace(/\$\$\{/g, "").matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)/g)) if (!names.includes(m[1]!)) names.push(m[1]!);
  return names;
}

/**
 * `${NAME}` and `${NAME:-default}` (default when unset or empty, as in the shell); `$${` is a literal
 * `${`. Substitution happens on parsed values, never on the raw text, so a variable cannot inject YAML.
 */
export function substituteEnv(text: string, env: Record<string, string | undefined>): { value: string } | { errors: string[] } {
  let out = "";
  const errors: string[] = [];
  let i = 0;
  while (i < text.length) {
    if (text.startsWith("$${", i)) {
      out += "${";
      i += 3;
      continue;
    }
    if (!text.startsWith("${", i)) {
      out += text[i];
      i++;
      continue;
    }
    const end = text.indexOf("}", i + 2);
    if (end < 0) {
      errors.push(`"${text}" has a "\${" with no closing "}"; expected \${NAME} or \${NAME:-default}`);
      break;
    }
    const inner = text.slice(i + 2, end);
    const m = /^([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?$/s.exec(inner);
    if (!m) {
      errors.push(`"\${${inner}}" is not a variable reference; expected \${NAME} or \${NAME:-default}`);
    } else {
      const [, name, fallback] = m as unknown as [string, string, string | undefined];
      const v = env[name];
      if (fallback !== undefined) out += v === undefined || v === "" ? fallback : v;
      else if (v === undefined)
        errors.push(`environment variable ${name} is not set and has no default; set ${name}, or write \${${name}:-default}`);
      else out += v;
    }
    i = end + 1;
  }
  return errors.length ? { errors } : { value: out };
}

/**
 * The value of one field after substitution, or what is wrong: a variable in a field that may not read
 * one, a variable missing from the allow-list, or a reference that does not resolve.
 */
export function substituteField(
  text: string,
  path: string,
  allowed: ReadonlySet<string>,
  env: Record<string, string | undefined>,
): { value: string } | { errors: string[] } {
  const names = referencedEnv(text);
  if (names.length && !ENV_FIELD.test(path)) {
    return {
      errors: [
        `\${${names[0]}} is allowed only in URL, schema and credential fields (url, *_url, schema, *secret, *token, *password, *key); write the value itself here`,
      ],
    };
  }
  const unlisted = names.filter((n) => !allowed.has(n));
  if (unlisted.length) {
    return {
      errors: [
        `\${${unlisted[0]}} is not in the gate file's env: allow-list; add ${unlisted[0]} to env: (a list of variable names at the top level) or write the value itself`,
      ],
    };
  }
  return substituteEnv(text, Object.fromEntries([...allowed].map((n) => [n, env[n]])));
}
