import { CHROMIUM_PATH, planBrowserSetup } from "../support/browser-setup.js";

describe("the test command's browser setup step", () => {
  test("with chromium present there is nothing to do", () => {
    expect(planBrowserSetup({ present: true, root: false, aptGet: false })).toEqual({ action: "ready" });
  });

  test("root on a Debian machine installs Debian's chromium, with a one-line notice", () => {
    const plan = planBrowserSetup({ present: false, root: true, aptGet: true });
    expect(plan).toEqual({
      action: "install",
      notice: `npm test: ${CHROMIUM_PATH} is missing; installing Debian's chromium for the report test (apt-get update && apt-get install -y chromium)`,
    });
    if (plan.action === "install") expect(plan.notice).not.toContain("\n");
  });

  test("anyone else is told the exact command to run, and the tests do not start", () => {
    expect(planBrowserSetup({ present: false, root: false, aptGet: true })).toEqual({
      action: "fail",
      message: `npm test: ${CHROMIUM_PATH} is missing (the report test opens report.html in it) and this user cannot install it (not root); run: sudo sh -c 'apt-get update && apt-get install -y chromium'`,
    });
    const noApt = planBrowserSetup({ present: false, root: true, aptGet: false });
    expect(noApt).toMatchObject({ action: "fail" });
    if (noApt.action === "fail") expect(noApt.message).toMatch(/has no apt-get to install it with; run: install Chromium/);
  });
});
