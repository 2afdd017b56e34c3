// Who may read the war-room pages. With DASHBOARD_TOKEN set: whoever presents it, once, at
// /login?token=…, and then carries the cookie it sets (a keyed digest of the token, never the token
// itself). Without a token the dashboard is closed: no page, stream or API answers, because nothing in a
// request proves it was not relayed (a reverse proxy rewrites Host and need not add X-Forwarded-For).
// Only a bot started with `--dashboard open` (bound to 127.0.0.1, and logged) trusts local requests.
// People who signed in with GitHub (sign-in-routes.ts) are readers of some repositories only.

import { createHmac, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";

export const SESSION_COOKIE = "rg_war_room";

export type Access = { ok: true } | { ok: false; status: 401 | 403; message: string };

/** Who is reading: a machine or an operator (every run), or a person signed in with GitHub (their repositories' runs). */
export type Reader = { sees: "all" } | { sees: "repositories"; login: string; repositories: ReadonlySet<string> };

export const READS_ALL: Reader = { sees: "all" };

/** Whether the reader may see a run of owner/repo; the pages answer 404 otherwise, so existence does not leak. */
export function canRead(reader: Reader, run: { owner: string; repo: string }): boolean {
  return reader.sees === "all" || reader.repositories.has(`${run.owner}/${run.repo}`.toLowerCase());
}

export interface AccessOptions {
  /** DASHBOARD_TOKEN. */
  token?: string;
  /** Sign-in with GitHub is configured: a request without a cookie is told to sign in. */
  signIn?: boolean;
  /** `gate bot --dashboard open`. */
  open?: boolean;
}

/** The cookie value for a token: an HMAC, so a leaked cookie jar does not hand out the token itself. */
export function sessionValue(token: string): string {
  return createHmac("sha256", token).update("release-gate war-room session v1").digest("base64url");
}

/** Constant-time comparison of two strings of any length (both are hashed first, so lengths leak nothing). */
export function sameSecret(a: string, b: string): boolean {
  const ha = createHmac("sha256", "compare").update(a).digest();
  const hb = createHmac("sha256", "compare").update(b).digest();
  return timingSafeEqual(ha, hb);
}

export function readCookie(header: string | undefined, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(";")) {
    const i = part.indexOf("=");
    if (i > 0 && part.slice(0, i).trim() === name) return decodeURIComponent(part.slice(i + 1).trim());
  }
  return null;
}

const LOOPBACK_PEERS = new Set(["127.0.0.1", "::1", "::ffff:127.0.0.1"]);
const LOCAL_HOST_NAMES = new Set(["127.0.0.1", "localhost", "[::1]"]);

function hostName(hostHeader: string | undefined): string {
  if (!hostHeader) return "";
  return hostHeader.startsWith("[") ? hostHeader.slice(0, hostHeader.indexOf("]") + 1) : hostHeader.split(":")[0]!.toLowerCase();
}

/**
 * The decision for one page request. With a token: its cookie. Without one, only when the operator opened
 * the dashboard (`--dashboard open`): a request from 127.0.0.1 or ::1 itself, naming a local host (a page on
 * another site cannot reach us through DNS rebinding), with no forwarding header at all (even an empty one).
 */
export function pageAccess(req: Pick<IncomingMessage, "headers" | "socket">, o: AccessOptions): Access {
  const { token, signIn, open } = o;
  if (signIn && !open) {
    const cookie = token ? readCookie(req.headers.cookie, SESSION_COOKIE) : null;
    if (token && cookie && sameSecret(cookie, sessionValue(token))) return { ok: true };
    return { ok: false, status: 401, message: "Sign in to see the war-room pages: open /login and choose Sign in with GitHub." };
  }
  if (token) {
    const cookie = readCookie(req.headers.cookie, SESSION_COOKIE);
    if (cookie && sameSecret(cookie, sessionValue(token))) return { ok: true };
    return {
      ok: false,
      status: 401,
      message: "The war-room pages need the dashboard token: open /login?token=<DASHBOARD_TOKEN> once in this browser.",
    };
  }
  if (!open) {
    return {
      ok: false,
      status: 403,
      message:
        "The dashboard is closed: no DASHBOARD_TOKEN is set. Set DASHBOARD_TOKEN on the bot and open /login?token=<DASHBOARD_TOKEN>, " +
        "or, on a laptop, start it with `gate bot --dashboard open` (it then listens on 127.0.0.1 only).",
    };
  }
  const peer = req.socket.remoteAddress ?? "";
  const relayed = ["x-forwarded-for", "forwarded", "x-real-ip", "x-forwarded-host", "via"].some((h) => h in req.headers);
  if (LOOPBACK_PEERS.has(peer) && !relayed && LOCAL_HOST_NAMES.has(hostName(req.headers.host))) return { ok: true };
  return {
    ok: false,
    status: 403,
    message:
      "The dashboard was opened with --dashboard open, so it answers only to requests made on 127.0.0.1 itself (not through a proxy). " +
      "Set DASHBOARD_TOKEN on the bot and open /login?token=<DASHBOARD_TOKEN>.",
  };
}
