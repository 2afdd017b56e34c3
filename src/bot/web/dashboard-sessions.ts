// The sessions of people who signed in with GitHub: who they are and which repositories they can read,
// kept in the bot's Redis with a time to live. The browser holds only a random id and its HMAC; Redis
// holds the session under a hash of the id, so neither a cookie jar nor a Redis dump alone opens a session.

import { createHash, createHmac, randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import { sameSecret } from "./access.js";

export const SIGN_IN_COOKIE = "rg_session";

/** Eight hours: a working day, after which the person signs in again (and their access is read again). */
export const SESSION_TTL_SECONDS = 8 * 3600;

export interface DashboardSession {
  login: string;
  /** "owner/repo", lower-cased: the repositories the person could read through the App when signing in. */
  repositories: string[];
  signedInAt: string;
}

export class DashboardSessions {
  readonly #key: Buffer;

  /**
   * @param secret what cookies are keyed with (the App's client secret: rotating it signs everyone out)
   * @param ttlSeconds how long a session lives, from sign-in
   */
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    secret: string,
    readonly ttlSeconds = SESSION_TTL_SECONDS,
  ) {
    this.#key = createHmac("sha256", secret).update("release-gate dashboard session key v1").digest();
  }

  #redisKey(id: string): string {
    return `${this.prefix}:dashboard:session:${createHash("sha256").update(id).digest("hex")}`;
  }

  #mac(id: string): string {
    return createHmac("sha256", this.#key).update(id).digest("base64url");
  }

  /** Stores a new session; returns the cookie value (`<id>.<hmac>`). */
  async open(session: Omit<DashboardSession, "signedInAt">): Promise<string> {
    const id = randomBytes(32).toString("base64url");
    const value: DashboardSession = { ...session, signedInAt: new Date().toISOString() };
    await this.redis.set(this.#redisKey(id), JSON.stringify(value), "EX", this.ttlSeconds);
    return `${id}.${this.#mac(id)}`;
  }

  #idOf(cookie: string | null): string | null {
    if (!cookie) return null;
    const dot = cookie.indexOf(".");
    if (dot <= 0) return null;
    const id = cookie.slice(0, dot);
    return sameSecret(cookie.slice(dot + 1), this.#mac(id)) ? id : null;
  }

  /** The session a cookie names, or null: forged, signed out or expired alike. */
  async read(cookie: string | null): Promise<DashboardSession | null> {
    const id = this.#idOf(cookie);
    if (!id) return null;
    const raw = await this.redis.get(this.#redisKey(id));
    if (!raw) return null;
    try {
      const s = JSON.parse(raw) as DashboardSession;
      return typeof s.login === "string" && Array.isArray(s.repositories) ? s : null;
    } catch {
      return null;
    }
  }

  /** Signs out: the session is deleted server-side, so a copied cookie stops working too. */
  async close(cookie: string | null): Promise<void> {
    const id = this.#idOf(cookie);
    if (id) await this.redis.del(this.#redisKey(id));
  }
}
