// Before deploying, make sure Redis and PostgreSQL answer, and say in one line what to do when not.

import net from "node:net";

function hostPort(url: string, defaultPort: number): { host: string; port: number } {
  const u = new URL(url);
  return { host: u.hostname.replace(/^\[|\]$/g, "") || "127.0.0.1", port: Number(u.port || defaultPort) };
}

function answers(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = net.connect({ host, port });
    const finish = (ok: boolean) => {
      socket.destroy();
      done(ok);
    };
    socket.setTimeout(timeoutMs, () => finish(false));
    socket.once("connect", () => finish(true));
    socket.once("error", () => finish(false));
  });
}

const redact = (url: string) => url.replace(/\/\/([^:@/]*):[^@/]*@/, "//$1:***@");

/** null when both answer, else one line naming the URL and how to start the server or point elsewhere. */
export async function checkServices(redisUrl: string, databaseUrl: string, timeoutMs = 2000): Promise<string | null> {
  let redis;
  let db;
  try {
    redis = hostPort(redisUrl, 6379);
  } catch {
    return `REDIS_URL "${redact(redisUrl)}" is not a URL; expected e.g. redis://127.0.0.1:6379`;
  }
  try {
    db = hostPort(databaseUrl, 5432);
  } catch {
    return `DATABASE_URL "${redact(databaseUrl)}" is not a URL; expected e.g. postgres://postgres@127.0.0.1:5432/postgres`;
  }
  if (!(await answers(redis.host, redis.port, timeoutMs))) {
    return `Redis does not answer at ${redact(redisUrl)}: start it (e.g. \`redis-server --daemonize yes --port ${redis.port}\`) or set REDIS_URL`;
  }
  if (!(await answers(db.host, db.port, timeoutMs))) {
    return `PostgreSQL does not answer at ${redact(databaseUrl)}: start it (e.g. \`pg_ctlcluster <version> main start\`) or set DATABASE_URL`;
  }
  return null;
}
