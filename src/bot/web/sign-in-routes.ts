// The pages of sign-in with GitHub: the sign-in page, the start of the OAuth web flow (a random state
// bound to a short-lived cookie), GitHub's callback (state checked, code exchanged once, a session
// opened) and sign-out (the session deleted server-side).

import { randomBytes } from "node:crypto";
import type { Request, Response, Router } from "express";
import express from "express";
import type { BotLog } from "../boot/bot-log.js";
import { readCookie, sameSecret, SESSION_COOKIE, type Reader } from "./access.js";
import { DashboardSessions, SIGN_IN_COOKIE } from "./dashboard-sessions.js";
import { GitHubSignIn, SignInError } from "./github-sign-in.js";
import { errorPage, layout } from "./pages.js";

const STATE_COOKIE = "rg_oauth_state";
/** Ten minutes to come back from GitHub, as long as GitHub's own code lives. */
const STATE_TTL_SECONDS = 600;

export interface SignInDeps {
  github: GitHubSignIn;
  sessions: DashboardSessions;
  /** DASHBOARD_URL: the origin GitHub sends people back to; else the one the browser used. */
  publicUrl?: string;
  log: BotLog;
}

function secure(req: Request, publicUrl: string | undefined): string {
  return req.secure || publicUrl?.startsWith("https:") ? "; Secure" : "";
}

function callbackUrl(req: Request, publicUrl: string | undefined): string {
  return `${publicUrl ?? `${req.protocol}://${req.get("host") ?? "localhost"}`}/auth/callback`;
}

function refuse(res: Response, status: number, message: string): void {
  res.status(status).type("html").send(errorPage(status, message));
}

/** The page /login shows when sign-in with GitHub is configured. */
export function signInPage(token: boolean): string {
  return layout(
    "Sign in",
    `<h1>Sign in</h1>
<p><a class="sign-in" href="/auth/github">Sign in with GitHub</a></p>
<p class="muted">You will see the runs of the repositories you can read through the App.${
      token ? " Machines use /login?token=&lt;DASHBOARD_TOKEN&gt;." : ""
    }</p>`,
  );
}

/** The person behind a request's session cookie, or null. */
export async function sessionReader(sessions: DashboardSessions, req: Request): Promise<Reader | null> {
  const session = await sessions.read(readCookie(req.headers.cookie, SIGN_IN_COOKIE));
  return session ? { sees: "repositories", login: session.login, repositories: new Set(session.repositories) } : null;
}

export function signInRoutes(deps: SignInDeps): Router {
  const router = express.Router();

  router.get("/auth/github", (req, res) => {
    const state = randomBytes(24).toString("base64url");
    res.set(
      "set-cookie",
      `${STATE_COOKIE}=${state}; HttpOnly; SameSite=Lax; Path=/auth/callback; Max-Age=${STATE_TTL_SECONDS}${secure(req, deps.publicUrl)}`,
    );
    res.redirect(302, deps.github.authorizeUrl(state, callbackUrl(req, deps.publicUrl)));
  });

  router.get("/auth/callback", async (req, res, next) => {
    const q = (name: string) => (typeof req.query[name] === "string" ? (req.query[name] as string) : "");
    const expected = readCookie(req.headers.cookie, STATE_COOKIE);
    // The state cookie is for one attempt, whatever its outcome.
    res.append("set-cookie", `${STATE_COOKIE}=; HttpOnly; SameSite=Lax; Path=/auth/callback; Max-Age=0`);
    if (q("error"))
      return refuse(res, 401, `GitHub did not sign you in (${q("error")}: ${q("error_description")}). Sign in again at /login.`);
    if (!q("code") || !q("state"))
      return refuse(res, 400, "GitHub's answer has no code or no state: start the sign-in at /login, not at this address.");
    if (!expected)
      return refuse(
        res,
        400,
        "This browser did not start this sign-in (its sign-in cookie is missing: it lasts ten minutes and needs cookies allowed). Sign in again at /login.",
      );
    if (!sameSecret(expected, q("state")))
      return refuse(
        res,
        400,
        "The sign-in's state does not match the one this browser was given, so it is refused (a link from someone else?). Sign in again at /login.",
      );
    try {
      const person = await deps.github.personFor(q("code"), callbackUrl(req, deps.publicUrl));
      const cookie = await deps.sessions.open(person);
      deps.log.info({ login: person.login, repositories: person.repositories.length }, "dashboard: signed in with GitHub");
      res.append(
        "set-cookie",
        `${SIGN_IN_COOKIE}=${cookie}; HttpOnly; SameSite=Lax; Path=/; Max-Age=${deps.sessions.ttlSeconds}${secure(req, deps.publicUrl)}`,
      );
      res.redirect(303, "/");
    } catch (err) {
      if (!(err instanceof SignInError)) return next(err);
      deps.log.warn({ err, code: err.code }, "dashboard: sign-in with GitHub failed");
      refuse(res, err.code === "bad_code" ? 401 : 502, err.message);
    }
  });

  // A form, so that a link on another site cannot sign anyone out (SameSite=Lax withholds the cookie from its POST).
  router.get("/logout", (_req, res) => {
    res
      .type("html")
      .send(layout("Sign out", `<h1>Sign out</h1><form method="post" action="/logout"><button type="submit">Sign out</button></form>`));
  });

  router.post("/logout", async (req, res, next) => {
    try {
      await deps.sessions.close(readCookie(req.headers.cookie, SIGN_IN_COOKIE));
      res.append("set-cookie", `${SIGN_IN_COOKIE}=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0`);
      res.append("set-cookie", `${SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0`);
      res.type("html").send(layout("Signed out", `<h1>Signed out</h1><p><a href="/login">Sign in again</a></p>`));
    } catch (err) {
      next(err);
    }
  });
  return router;
}
