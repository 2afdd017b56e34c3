// Who is calling: the app with its JWT (RS256, verified when the fake knows the app's key), an
// installation with a token the fake issued, or a user with a personal token a test handed out.

import { createPublicKey, verify, type KeyObject } from "node:crypto";
import { unauthorized } from "./github-errors.js";
import type { Actor, RepositoryState } from "./repository-state.js";

export interface AuthOptions {
  /** The app's private (or public) key, PEM: when given, JWT signatures and `iss` are checked. */
  appKey?: string;
  /** Reject tokens the fake did not issue (401 Bad credentials). Off by default so Probot's
   *  `githubToken` mode works with any token; such a token then acts as the app's bot. */
  strictTokens?: boolean;
}

const JWT_NOT_DECODED = "A JSON web token could not be decoded";

export class AppAuth {
  readonly #publicKey: KeyObject | undefined;

  constructor(
    private readonly state: RepositoryState,
    private readonly options: AuthOptions,
  ) {
    this.#publicKey = options.appKey ? createPublicKey(options.appKey) : undefined;
  }

  /** The caller, or a 401 in GitHub's words. `needs` is what the route demands. */
  authenticate(header: string | undefined, needs: "app" | "token"): Actor {
    if (!header) throw unauthorized("Requires authentication");
    const match = /^(token|bearer)\s+(\S+)$/i.exec(header.trim());
    if (!match) throw unauthorized("Bad credentials");
    const credential = match[2];
    const isJwt = credential.split(".").length === 3;
    if (needs === "app") {
      if (!isJwt) throw unauthorized(JWT_NOT_DECODED);
      return { kind: "app", appId: this.verifyJwt(credential) };
    }
    if (isJwt) {
      throw unauthorized(
        `${JWT_NOT_DECODED}: this endpoint needs an installation access token (POST /app/installations/{id}/access_tokens), not the app's JWT`,
      );
    }
    const installation = this.state.installationTokens.get(credential);
    if (installation) {
      if (Date.parse(installation.expiresAt) <= Date.now()) throw unauthorized("Bad credentials");
      return { kind: "installation", installationId: installation.installationId, login: this.state.botLogin };
    }
    const user = this.state.userTokens.get(credential);
    if (user) return { kind: "user", login: user };
    if (this.options.strictTokens) throw unauthorized("Bad credentials");
    return { kind: "installation", installationId: this.state.installation.id, login: this.state.botLogin };
  }

  private verifyJwt(jwt: string): string {
    const [h, p, s] = jwt.split(".");
    let header: { alg?: string };
    let payload: { iss?: unknown; iat?: unknown; exp?: unknown };
    try {
      header = JSON.parse(Buffer.from(h, "base64url").toString("utf8"));
      payload = JSON.parse(Buffer.from(p, "base64url").toString("utf8"));
    } catch {
      throw unauthorized(JWT_NOT_DECODED);
    }
    if (header.alg !== "RS256") throw unauthorized(JWT_NOT_DECODED);
    const now = Math.floor(Date.now() / 1000);
    if (typeof payload.exp !== "number" || payload.exp < now) {
      throw unauthorized(
        "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires",
      );
    }
    if (payload.exp > now + 600 + 60) throw unauthorized("'Expiration time' claim ('exp') is too far in the future");
    if (this.#publicKey) {
      const ok = verify("RSA-SHA256", Buffer.from(`${h}.${p}`), this.#publicKey, Buffer.from(s, "base64url"));
      if (!ok) throw unauthorized(JWT_NOT_DECODED);
      if (String(payload.iss) !== String(this.state.app.id)) {
        throw unauthorized(`'Issuer' claim ('iss') must be the app id ${this.state.app.id}, not ${String(payload.iss)}`);
      }
    }
    return String(payload.iss);
  }
}
