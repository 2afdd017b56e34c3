// Who may read the war-room pages. With DASHBOARD_TOKEN set: whoever presents it, once, at
// /login?token=…, and then carries the cookie it sets (a keyed digest of the token, never the token
// itself). Without a token: only requests made on this machine's 127.0.0.1 (or ::1), addressed to
// localhost by name, and not relayed by a proxy. The pages are read-only either way.

import { createHmac, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";

export const SESSION_COOKIE = "rg_war_room";

export type Access = { ok: true } | { ok: false; status: 401 | 403; message: string };

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
 * The decision for one page request. Without a token, a request must come from 127.0.0.1 or ::1 itself,
 * name a local host (a page on another site cannot reach us through DNS rebinding), and carry no
 * forwarding header (a reverse proxy on this machine would make every visitor look local).
 */
export function pageAccess(req: Pick<IncomingMessage, "headers" | "socket">, token: string | undefined): Access {
  if (token) {
    const cookie = readCookie(req.headers.cookie, SESSION_COOKIE);
    if (cookie && sameSecret(cookie, sessionValue(token))) return { ok: true };
    return {
      ok: false,
      status: 401,
      message: "The war-room pages need the dashboard token: open /login?token=<DASHBOARD_TOKEN> once in this browser.",
    };
  }
  const peer = req.socket.remoteAddress ?? "";
  const relayed = Boolean(req.headers["x-forwarded-for"] || req.headers.forwarded || req.headers["x-real-ip"]);
  if (LOOPBACK_PEERS.has(peer) && !relayed && LOCAL_HOST_NAMES.has(hostName(req.headers.host))) return { ok: true };
  return {
    ok: false,
    status: 403,
    message:
      "No DASHBOARD_TOKEN is set, so the war-room pages answer only to requests made on 127.0.0.1 itself (not through a proxy). " +
      "Set DASHBOARD_TOKEN on the bot and open /login?token=<DASHBOARD_TOKEN>.",
  };
}
