// PostgreSQL connections each process of the service holds: a public fact of the service, so that a
// gate's pre-flight can check the database has room for them.

export const SERVER_POSTGRES_POOL = 1;
export const WORKER_POSTGRES_POOL = 2;

/** The application_name of a process's PostgreSQL connections (a namespace is at most 41 characters, so it fits PostgreSQL's 63). */
export function postgresApplicationName(role: "serve" | "worker", namespace: string): string {
  return `ingest ${role} ${namespace}`;
}
