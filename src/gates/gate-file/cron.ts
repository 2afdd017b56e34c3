// The `schedule:` field: five numeric cron fields, checked here so a typo fails at validate, not in Actions.

const CRON_FIELDS = [
  { name: "minute", min: 0, max: 59 },
  { name: "hour", min: 0, max: 23 },
  { name: "day of month", min: 1, max: 31 },
  { name: "month", min: 1, max: 12 },
  { name: "day of week", min: 0, max: 7 },
];

/** Five numeric cron fields, as GitHub Actions' on.schedule takes them (UTC). */
export function cron(raw: unknown): string {
  const expected = `expected five cron fields in UTC such as "0 2 * * *" (02:00 every day)`;
  if (typeof raw !== "string") throw new Error(`${JSON.stringify(raw)} is not a schedule; ${expected}`);
  const fields = raw.trim().split(/\s+/);
  if (fields.length !== 5) throw new Error(`${JSON.stringify(raw)} has ${fields.length} fields; ${expected}`);
  fields.forEach((field, i) => {
    const spec = CRON_FIELDS[i]!;
    for (const part of field.split(",")) {
      const m = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(part);
      const nums = m ? [m[2], m[3]].filter((x): x is string => x !== undefined).map(Number) : [];
      const bad = !m || nums.some((n) => n < spec.min || n > spec.max) || (m[4] !== undefined && Number(m[4]) < 1);
      if (bad) {
        throw new Error(
          `${JSON.stringify(raw)}: the ${spec.name} field "${part}" is not valid; expected *, */N, N, N-M or lists of them, with N from ${spec.min} to ${spec.max}`,
        );
      }
    }
  });
  return raw.trim();
}
