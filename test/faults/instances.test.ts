import { existsSync } from "node:fs";
import pg from "pg";
import { Redis } from "ioredis";
import { PostgresInstance, RedisInstance } from "../../faults/instances.js";

describe("private Redis and PostgreSQL instances", () => {
  test("a Redis write acknowledged before a SIGKILL is there after the restart, and the directory is removed at the end", async () => {
    const redis = await RedisInstance.start();
    try {
      const client = new Redis(redis.url, { maxRetriesPerRequest: 0, enableOfflineQueue: false, lazyConnect: true });
      await client.connect();
      expect(await client.config("GET", "appendfsync")).toEqual(["appendfsync", "always"]);
      expect(await client.config("GET", "maxmemory-policy")).toEqual(["maxmemory-policy", "noeviction"]);
      await client.xadd("s", "*", "k", "v");
      client.disconnect();
      await redis.kill("SIGKILL");
      expect(redis.running).toBe(false);
      await redis.start();
      const again = new Redis(redis.url, { lazyConnect: true });
      await again.connect();
      expect(await again.xlen("s")).toBe(1);
      again.disconnect();
    } finally {
      await redis.destroy();
    }
    expect(existsSync(redis.dir)).toBe(false);
  });

  test("a PostgreSQL commit survives an immediate shutdown, and the cluster is removed at the end", async () => {
    const postgres = await PostgresInstance.start();
    try {
      const client = new pg.Client({ connectionString: postgres.url });
      await client.connect();
      await client.query("create table t (x int); insert into t values (1)");
      await client.end();
      const pid = postgres.pid;
      expect(pid).not.toBeNull();
      await postgres.restart("immediate");
      expect(postgres.pid).not.toBe(pid);
      const again = new pg.Client({ connectionString: postgres.url });
      await again.connect();
      expect((await again.query("select count(*)::int as n from t")).rows[0].n).toBe(1);
      await again.end();
    } finally {
      await postgres.destroy();
    }
    expect(existsSync(postgres.dir)).toBe(false);
  });
});
