// What every `gate` subcommand does with its argv: parse the flags, answer --help, and refuse a
// wrong flag or a missing argument with what is wrong and the usage, exit code 2.

import { parseArgs, type ParseArgsConfig } from "node:util";

type Options = NonNullable<ParseArgsConfig["options"]>;
type Values<O extends Options> = ReturnType<typeof parseArgs<{ args: string[]; options: O; allowPositionals: true }>>["values"];

/**
 * The one positional argument and the flag values, or the exit code to return at once (0 after
 * --help, 2 after a usage error). `expected` says what the positional is, with an example.
 */
export function parseCommandLine<O extends Options>(
  command: string,
  args: string[],
  options: O,
  help: string,
  expected: string,
): { values: Values<O>; positional: string } | number {
  let parsed;
  try {
    parsed = parseArgs({ args, options: { ...options, help: { type: "boolean", short: "h" } } as O, allowPositionals: true });
  } catch (err) {
    console.error(`${command}: ${(err as Error).message}\n\n${help}`);
    return 2;
  }
  if ((parsed.values as { help?: boolean }).help) {
    console.log(help);
    return 0;
  }
  if (parsed.positionals.length !== 1) {
    console.error(`${command}: expected ${expected}\n\n${help}`);
    return 2;
  }
  return { values: parsed.values as Values<O>, positional: parsed.positionals[0] };
}
