// Sign-in with GitHub for the war-room pages: the App's OAuth web flow (@octokit/oauth-app, which
// derives the OAuth host from the API's, so GitHub Enterprise Server works alike), and what the person
// who signed in can read through the App. The user's token is used here and dropped: nothing keeps it.

import { OAuthApp } from "@octokit/oauth-app";
import { gitHubClientClass, type RetryingOctokit } from "../github/github-client.js";

/** A sign-in that did not work, in words for the person in front of the browser. */
export class SignInError extends Error {
  constructor(
    readonly code: "bad_code" | "bad_client" | "github_unreachable" | "listing_failed",
    message: string,
  ) {
    super(message);
  }
}

export interface SignedInPerson {
  login: string;
  /** "owner/repo", lower-cased. */
  repositories: string[];
}

export interface GitHubSignInOptions {
  clientId: string;
  clientSecret: string;
  /** The API's base URL (https://api.github.com or https://ghe.example.com/api/v3). */
  apiBaseUrl: string;
}

export class GitHubSignIn {
  readonly #app: OAuthApp<{ clientType: "github-app"; Octokit: typeof RetryingOctokit }>;
  readonly #UserOctokit: typeof RetryingOctokit;

  constructor(o: GitHubSignInOptions) {
    this.#UserOctokit = gitHubClientClass({ baseUrl: o.apiBaseUrl, userAgent: "release-gate-dashboard" });
    this.#app = new OAuthApp({
      clientType: "github-app",
      clientId: o.clientId,
      clientSecret: o.clientSecret,
      Octokit: this.#UserOctokit,
    });
  }

  /** Where to send the browser: GitHub's authorize page, which comes back to `redirectUrl` with a code and `state`. */
  authorizeUrl(state: string, redirectUrl: string): string {
    return this.#app.getWebFlowAuthorizationUrl({ state, redirectUrl }).url;
  }

  /** Exchanges the code (once: GitHub refuses a second use) and lists what the person can read through the App. */
  async personFor(code: string, redirectUrl: string): Promise<SignedInPerson> {
    let token: string;
    try {
      token = (await this.#app.createToken({ code, redirectUrl })).authentication.token;
    } catch (err) {
      const status = (err as { status?: number }).status;
      const message = (err as Error).message;
      if (status === 400 && message.includes("incorrect_client_credentials"))
        throw new SignInError(
          "bad_client",
          "GitHub refused the App's client credentials: whoever runs the bot should check GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET against the App's settings (General > Client secrets).",
        );
      if (status === 400)
        throw new SignInError(
          "bad_code",
          `GitHub did not accept the sign-in code (${message}): codes work once and for ten minutes. Sign in again at /login.`,
        );
      throw new SignInError(
        "github_unreachable",
        `GitHub could not be asked to complete the sign-in (${(err as Error).message}). Try again at /login; the bot's log has the details.`,
      );
    }
    const user = new this.#UserOctokit({ auth: token });
    try {
      const { data: me } = await user.request("GET /user");
      // The App's installations this person can reach, and in each the repositories they have access to: what
      // GitHub itself would show them. Public repositories they were not given access to are not listed.
      const installations = await user.paginate("GET /user/installations", { per_page: 100 });
      const repositories = new Set<string>();
      for (const installation of installations) {
        const repos = await user.paginate("GET /user/installations/{installation_id}/repositories", {
          installation_id: installation.id,
          per_page: 100,
        });
        for (const r of repos) repositories.add(r.full_name.toLowerCase());
      }
      return { login: me.login, repositories: [...repositories].sort() };
    } catch (err) {
      throw new SignInError(
        "listing_failed",
        `Signed in, but GitHub did not say which repositories you can read (${(err as Error).message}). Try again at /login.`,
      );
    }
  }
}
