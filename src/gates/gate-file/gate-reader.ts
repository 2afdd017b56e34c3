// Walks a gate file's YAML tree: follows aliases (counted), checks mappings, lists and scalars,
// substitutes `${VAR}`s, converts, and records every problem with its line and column.

import { isAlias, isMap, isScalar, isSeq, type Document, type LineCounter, type Node } from "yaml";
import { substituteField } from "./env-substitution.js";
import type { GateProblem } from "./problems.js";
import { nearest } from "./suggestions.js";

/** Alias dereferences allowed while reading one file: enough for sharing, too few for a "billion laughs". */
const MAX_ALIAS_DEREFS = 100;

export interface Entry {
  key: Node;
  value: Node | null;
}

export interface Mapping {
  node: Node;
  entries: Map<string, Entry>;
}

/** Walks the YAML tree, converting as it goes and collecting every problem with its position. */
export class GateReader {
  readonly problems: GateProblem[] = [];
  private aliasDerefs = 0;
  /** The variables the file's `env:` allow-list names: the only ones `${VAR}` may read. */
  allowedEnv = new Set<string>();

  constructor(
    readonly file: string,
    private readonly lines: LineCounter,
    private readonly doc: Document,
    private readonly env: Record<string, string | undefined>,
    readonly fileExists: ((relative: string) => boolean) | undefined,
  ) {}

  problemAt(offset: number, path: string, message: string): void {
    const { line, col } = this.lines.linePos(offset);
    this.problems.push({ file: this.file, line, column: col, path, message });
  }

  problem(node: Node | null | undefined, path: string, message: string): void {
    this.problemAt(node?.range?.[0] ?? 0, path, message);
  }

  sorted(): GateProblem[] {
    return [...this.problems].sort((a, b) => a.line - b.line || a.column - b.column);
  }

  /** Follows aliases, counting them: one anchor referenced from a referenced anchor is a bomb. */
  deref(node: Node | null | undefined): Node | null {
    let n = node ?? null;
    while (n && isAlias(n)) {
      if (++this.aliasDerefs > MAX_ALIAS_DEREFS) {
        if (this.aliasDerefs === MAX_ALIAS_DEREFS + 1) {
          this.problem(n, "", `more than ${MAX_ALIAS_DEREFS} alias references; expected a gate file that writes its values out`);
        }
        return null;
      }
      n = (n.resolve(this.doc) as Node | undefined) ?? null;
    }
    return n;
  }

  isEmpty(node: Node | null): boolean {
    return !node || (isScalar(node) && (node.value === null || node.value === undefined));
  }

  kindOf(node: Node): string {
    if (isMap(node)) return "a mapping";
    if (isSeq(node)) return "a list";
    if (isScalar(node))
      return typeof node.value === "string" ? `the text ${JSON.stringify(node.value)}` : `the ${typeof node.value} ${String(node.value)}`;
    return "something else";
  }

  mapping(
    entry: Entry | undefined,
    path: string,
    keys: { required: readonly string[]; optional: readonly string[] },
    what: string,
  ): Mapping | undefined {
    if (!entry) return undefined; // reported as missing by the parent mapping
    const allowed = [...keys.required, ...keys.optional];
    const node = this.deref(entry.value);
    if (this.aliasDerefs > MAX_ALIAS_DEREFS) return undefined;
    if (this.isEmpty(node)) {
      this.problem(entry.key, path, `${what} is empty; expected a mapping with keys ${allowed.join(", ")}`);
      return undefined;
    }
    if (!isMap(node!)) {
      this.problem(node, path, `${what} is ${this.kindOf(node!)}; expected a mapping with keys ${allowed.join(", ")}`);
      return undefined;
    }
    const entries = new Map<string, Entry>();
    for (const pair of node.items) {
      const keyNode = pair.key as Node | null;
      const key = isScalar(keyNode) ? keyNode.value : undefined;
      const keyPath = (k: string) => (path ? `${path}.${k}` : k);
      if (typeof key !== "string") {
        this.problem(keyNode, path, `a key must be a word; expected one of ${allowed.join(", ")}`);
        continue;
      }
      if (!allowed.includes(key)) {
        const near = nearest(key, allowed);
        this.problem(
          keyNode,
          keyPath(key),
          `unknown key; expected one of ${allowed.join(", ")}${near ? ` (did you mean "${near}"?)` : ""}`,
        );
        continue;
      }
      if (!entries.has(key)) entries.set(key, { key: keyNode!, value: (pair.value as Node | null) ?? null });
    }
    for (const k of keys.required) {
      if (!entries.has(k))
        this.problem(path ? entry.key : node, path ? `${path}.${k}` : k, `missing required key "${k}"; expected it in ${what}`);
    }
    return { node, entries };
  }

  sequence(entry: Entry | undefined, path: string, expected: string): Node[] | undefined {
    if (!entry) return undefined; // reported as missing by the parent mapping
    const node = this.deref(entry.value);
    if (this.aliasDerefs > MAX_ALIAS_DEREFS) return undefined;
    if (this.isEmpty(node)) {
      this.problem(entry.key, path, `no value; expected ${expected}`);
      return undefined;
    }
    if (!isSeq(node!)) {
      this.problem(node, path, `${this.kindOf(node!)} is not a list; expected ${expected}`);
      return undefined;
    }
    return node.items as Node[];
  }

  seqItem(entry: Entry, index: number): Node | null {
    const node = this.deref(entry.value);
    return node && isSeq(node) ? ((node.items[index] as Node) ?? null) : null;
  }

  /** One scalar, `${VAR}`-substituted if text, converted; undefined (with the problem recorded) if not. */
  value<T>(entry: Entry | undefined, path: string, convert: (raw: unknown) => T): T | undefined {
    if (!entry) return undefined; // reported as missing by the parent mapping
    const node = this.deref(entry.value);
    if (this.aliasDerefs > MAX_ALIAS_DEREFS) return undefined;
    if (this.isEmpty(node)) {
      this.problem(entry.key, path, `no value; expected one (see the comments at the top of the gate file)`);
      return undefined;
    }
    if (!isScalar(node!)) {
      this.problem(node, path, `found ${this.kindOf(node!)}; expected a single value`);
      return undefined;
    }
    let raw: unknown = node.value;
    if (typeof raw === "string") {
      const sub = substituteField(raw, path, this.allowedEnv, this.env);
      if ("errors" in sub) {
        for (const e of sub.errors) this.problem(node, path, e);
        return undefined;
      }
      raw = sub.value;
    }
    try {
      return convert(raw);
    } catch (err) {
      this.problem(node, path, (err as Error).message);
      return undefined;
    }
  }

  /** `env: [REDIS_URL, DATABASE_URL]`: the variables the file may read; none when absent. */
  envAllowList(entry: Entry | undefined): Set<string> {
    const names = new Set<string>();
    if (!entry) return names;
    const items = this.sequence(entry, "env", "a list of environment variable names such as REDIS_URL");
    items?.forEach((item, i) => {
      const node = this.deref(item);
      const v = node && isScalar(node) ? node.value : undefined;
      if (typeof v === "string" && /^[A-Za-z_][A-Za-z0-9_]*$/.test(v)) names.add(v);
      else this.problem(item, `env[${i}]`, `${JSON.stringify(v ?? null)} is not a variable name; expected a name such as REDIS_URL`);
    });
    return names;
  }

  text(entry: Entry | undefined, path: string, pattern?: RegExp, expected?: string): string | undefined {
    return this.value(entry, path, (raw) => {
      if (typeof raw !== "string" || raw.trim() === "") {
        throw new Error(`${JSON.stringify(raw)} is not text; expected ${expected ?? "some text"}`);
      }
      if (pattern && !pattern.test(raw)) throw new Error(`${JSON.stringify(raw)} is not valid; expected ${expected}`);
      return raw;
    });
  }
}
