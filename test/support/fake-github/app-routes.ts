// GitHub App authentication endpoints: the app (JWT) lists its installation and exchanges the
// JWT for an installation access token, which every repository call then carries.

import { notFound } from "./github-errors.js";
import { checkRepository, intParam, route, type Route } from "./router.js";

/** Installation tokens live an hour on GitHub. */
const TOKEN_LIFETIME_MS = 60 * 60 * 1000;

export const appRoutes: Route[] = [
  route("GET", "/app", "apps.getAuthenticated", (req) => ({ status: 200, body: req.shapes.app() }), { auth: "app" }),

  route("GET", "/app/installations", "apps.listInstallations", (req) => ({ status: 200, body: [req.shapes.installation()] }), {
    auth: "app",
  }),

  route(
    "GET",
    "/app/installations/:installation_id",
    "apps.getInstallation",
    (req) => {
      if (intParam(req, "installation_id") !== req.state.installation.id) throw notFound();
      return { status: 200, body: req.shapes.installation() };
    },
    { auth: "app" },
  ),

  route(
    "POST",
    "/app/installations/:installation_id/access_tokens",
    "apps.createInstallationAccessToken",
    (req) => {
      const installationId = intParam(req, "installation_id");
      if (installationId !== req.state.installation.id) throw notFound();
      const token = req.state.newToken("ghs");
      const expiresAt = new Date(Date.now() + TOKEN_LIFETIME_MS).toISOString().replace(/\.\d{3}Z$/, "Z");
      req.state.installationTokens.set(token, { installationId, expiresAt });
      return {
        status: 201,
        body: {
          token,
          expires_at: expiresAt,
          permissions: req.shapes.app().permissions,
          repository_selection: "selected",
        },
      };
    },
    { auth: "app", mutation: false },
  ),

  route(
    "GET",
    "/repos/:owner/:repo/installation",
    "apps.getRepoInstallation",
    (req) => {
      checkRepository(req);
      return { status: 200, body: req.shapes.installation() };
    },
    { auth: "app" },
  ),
];
