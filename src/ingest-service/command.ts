// `gate ingest serve|worker`: placeholder until the ingest service lands.
export async function ingestCommand(args: string[]): Promise<number> {
  console.error(`gate ingest: not implemented yet (${args.join(" ")})`);
  return 2;
}
