// `commands:` the PR slash command that runs the gate, and who may use it.

import type { CommandPolicy } from "../../model/index.js";
import { oneOf, yesNo } from "../converters.js";
import type { Entry, GateReader } from "../gate-reader.js";
import { COMMAND_KEYS, PERMISSIONS } from "../schema.js";

export function readCommands(r: GateReader, entry: Entry | undefined, gateName: string | undefined): CommandPolicy | undefined {
  if (!entry) return gateName === undefined ? undefined : { prefix: `/${gateName}`, permission: "write" };
  const m = r.mapping(entry, "commands", COMMAND_KEYS, "the command policy");
  if (!m) return undefined;
  const at = (k: string) => m.entries.get(k);
  const prefix = at("prefix")
    ? r.text(at("prefix"), "commands.prefix", /^\/[a-z0-9][a-z0-9-]{0,38}$/, "a slash command such as /gate-a")
    : gateName && `/${gateName}`;
  const permission = at("permission") ? r.value(at("permission")!, "commands.permission", oneOf(PERMISSIONS)) : "write";
  const allowForks = at("allow_forks") ? r.value(at("allow_forks")!, "commands.allow_forks", yesNo) : false;
  if (prefix === undefined || permission === undefined || allowForks === undefined) return undefined;
  return allowForks ? { prefix, permission, allowForks } : { prefix, permission };
}
