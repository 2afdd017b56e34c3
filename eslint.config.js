// Lint: ESLint's and typescript-eslint's recommended rules (syntax-only, fast), plus the layering
// rules of docs/architecture.md. Formatting is Prettier's (.prettierrc.json), not ESLint's.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/**", "node_modules/**", "coverage/**", "**/*.d.ts"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: "readonly", console: "readonly", Buffer: "readonly", setTimeout: "readonly", clearTimeout: "readonly", setInterval: "readonly", clearInterval: "readonly", setImmediate: "readonly", URL: "readonly", performance: "readonly", AbortController: "readonly", AbortSignal: "readonly", fetch: "readonly", TextEncoder: "readonly", TextDecoder: "readonly", structuredClone: "readonly", queueMicrotask: "readonly" } },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none" }],
      "no-empty": ["error", { allowEmptyCatch: true }],
    },
  },
  // The hostile pull request's script is CommonJS run by a stranger's node; the test fills in its TARGETS.
  {
    files: ["test/security/fixtures/*.cjs"],
    languageOptions: { sourceType: "commonjs", globals: { require: "readonly", TARGETS: "readonly" } },
    rules: { "@typescript-eslint/no-require-imports": "off" },
  },
  // Tests read answers of fakes and fixtures as loose JSON.
  { files: ["test/**/*.ts"], rules: { "@typescript-eslint/no-explicit-any": "off" } },
);
