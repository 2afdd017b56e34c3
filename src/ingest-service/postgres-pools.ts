// PostgreSQL connections each process of the service holds: a public fact of the service, so that a
// gate's pre-flight can check the database has room for them.

export const SERVER_POSTGRES_POOL = 1;
export const WORKER_POSTGRES_POOL = 2;
