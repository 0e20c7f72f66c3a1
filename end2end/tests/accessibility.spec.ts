import AxeBuilder from "@axe-core/playwright";
import { execFileSync } from "node:child_process";
import type { Page } from "@playwright/test";
import { DEMO_PASSWORD, DEMO_USERS, JOYCE_KRAMER } from "./fixtures/demo";
import { LoginPage } from "./fixtures/login_page";
import { expect, onPath, test } from "./fixtures/test";
import { codeAt, currentStep, fromBase32 } from "./fixtures/totp";

// WCAG 2.1 AA (issue 14, item 9): axe-core on every page for every role, with JavaScript off
// (`ssr`) and on (`hydrate`). No violation of impact serious or critical may remain; the
// failure message names each rule and the elements it found.
//
// Like viewer.spec.ts, every grant a test requests is ended again at its end, so the other
// project starts from the same state. Run on a fresh `demo seed`.

const TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"];

/** Runs axe on the page as it is now and fails on serious or critical violations.
 *
 * axe runs as a script in the page, which a page without JavaScript (the `ssr` project) never
 * runs: there it checks a copy of the server's HTML, without its scripts, in a page of its own
 * (same address, so the same stylesheet), which is what a browser without JavaScript shows. */
async function expectAccessible(page: Page, what: string): Promise<void> {
  // With JavaScript: wait until the islands bundle and passkeys.js have come.
  await page.waitForLoadState("networkidle");
  let results;
  if (test.info().project.use.javaScriptEnabled === false) {
    const html = (await page.content()).replace(/<script\b[^>]*>[\s\S]*?<\/script>/gi, "");
    const url = page.url();
    const context = await page.context().browser()!.newContext({ javaScriptEnabled: true, viewport: page.viewportSize() });
    try {
      const copy = await context.newPage();
      await copy.route("**/*", (route) =>
        route.request().resourceType() === "document"
          ? route.fulfill({ status: 200, contentType: "text/html; charset=utf-8", body: html })
          : route.continue(),
      );
      await copy.goto(url, { waitUntil: "load" });
      results = await new AxeBuilder({ page: copy }).withTags(TAGS).analyze();
    } finally {
      await context.close();
    }
  } else {
    results = await new AxeBuilder({ page }).withTags(TAGS).analyze();
  }
  const bad = results.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  const report = bad
    .map((v) => `${v.id} (${v.impact}): ${v.help}\n  ${v.nodes.map((n) => n.target.join(" ")).join("\n  ")}`)
    .join("\n");
  expect(bad.length, `axe on ${what} (${page.url()}):\n${report}`).toBe(0);
}

/** Every page has its own title, a skip link as its first focusable element, and one h1. */
async function expectFrame(page: Page, title: string): Promise<void> {
  await expect(page).toHaveTitle(title);
  await expect(page.locator("h1"), "one h1 per page").toHaveCount(1);
  const skip = page.locator("a.skip-link");
  await expect(skip).toHaveText("Naar de inhoud");
  await expect(skip).toHaveAttribute("href", "#inhoud");
  await expect(page.locator("main#inhoud")).toHaveCount(1);
  const focusable = page.locator(
    "a[href], button, input:not([type=hidden]), select, textarea, [tabindex]:not([tabindex='-1'])",
  );
  await expect(focusable.first(), "the skip link comes first").toHaveClass(/\bskip-link\b/);
}

/** The grant a running test requested and has not ended yet (its client id). */
let openGrant: string | undefined;

test.afterEach(async ({ page }) => {
  if (openGrant === undefined) return;
  const clientId = openGrant;
  openGrant = undefined;
  await page.request.post("/api/end_grant", { form: { client_id: clientId }, maxRedirects: 0 });
});

test.describe("accessibility (axe-core, WCAG 2.1 AA)", () => {
  test("the login page, the code page and the 404 page", async ({ page, javaScriptEnabled }) => {
    await page.goto("/login", { waitUntil: "networkidle" });
    await expectFrame(page, "Inloggen · Ooievaar");
    await expectAccessible(page, "the login page");

    // The skip link shows when the keyboard reaches it, and leads to the main content.
    await page.keyboard.press("Tab");
    const skip = page.locator("a.skip-link");
    await expect(skip).toBeFocused();
    await expect(skip).toBeInViewport();

    // A failed login: still no violations with the error shown.
    const login = new LoginPage(page, javaScriptEnabled);
    await login.login("verloskundige", "niet-het-wachtwoord");
    await expect(login.errorText).toBeVisible();
    await expectAccessible(page, "the login page with an error");

    // The second step.
    await login.login("verloskundige", DEMO_PASSWORD);
    await expect(page).toHaveURL(onPath("/login/code"));
    await expectFrame(page, "Tweede stap · Ooievaar");
    await expectAccessible(page, "the code page");

    // A wrong code: the problem is linked to the input.
    await page.locator("#code").fill("000000");
    await page.locator("#code-form").getByRole("button").click();
    await expect(page.locator("#code-probleem")).toContainText("klopt niet");
    await expect(page.locator("#code")).toHaveAttribute("aria-invalid", "true");
    await expect(page.locator("#code")).toHaveAttribute("aria-describedby", "code-probleem");
    await expectAccessible(page, "the code page with an error");
    // Back to the password: nobody stays half logged in.
    await page.getByRole("button", { name: "Terug naar inloggen" }).click();
    await expect(page).toHaveURL(onPath("/login"));

    const response = await page.goto("/bestaat-niet", { waitUntil: "networkidle" });
    expect(response?.status()).toBe(404);
    await expectFrame(page, "Pagina niet gevonden · Ooievaar");
    await expectAccessible(page, "the 404 page");
  });

  test("the first login: enrolment and the recovery codes", async ({ page, loginPage }, testInfo) => {
    const bin = process.env.OOIEVAAR_BIN;
    if (!bin) throw new Error("OOIEVAAR_BIN is not set (scripts/test.sh sets it)");
    const username = `axe-${testInfo.project.name}-${Date.now() % 1_000_000}`;
    execFileSync(
      bin,
      ["user", "add", "--organisation", "vp-de-wieg", "--role", "verloskundige", "--username", username, "--name", "Nieuwe Collega"],
      { input: `${DEMO_PASSWORD}\n`, encoding: "utf8", env: process.env },
    );
    await loginPage.goto();
    await loginPage.login(username, DEMO_PASSWORD);
    await expect(page).toHaveURL(onPath("/login/instellen"));
    await expect(page.locator(".qr svg")).toBeVisible();
    await expectFrame(page, "Tweede stap instellen · Ooievaar");
    await expectAccessible(page, "the enrolment page");
    const secret = fromBase32((await page.locator("#totp-secret").textContent())!.trim());
    await loginPage.submitCode(codeAt(secret, currentStep()));
    await expect(page).toHaveURL(onPath("/account/herstelcodes"));
    await expect(page.locator("[data-testid=recovery-codes] li")).toHaveCount(10);
    await expectFrame(page, "Herstelcodes · Ooievaar");
    await expectAccessible(page, "the recovery codes");
  });

  for (const user of DEMO_USERS) {
    test(`every page of the ${user.role.toLowerCase()}`, async ({ page, loginAs, homePage, clientPage }) => {
      test.setTimeout(180_000);
      await loginAs(user.username);
      await expectFrame(page, "Startpagina · Ooievaar");
      await expectAccessible(page, `the start page of the ${user.username}`);

      await page.goto("/account", { waitUntil: "networkidle" });
      await expectFrame(page, "Mijn account · Ooievaar");
      await expectAccessible(page, `the account page of the ${user.username}`);

      // A wrong current password: the problem is linked to its input.
      await page.locator("#current_password").fill("niet-het-wachtwoord");
      await page.locator("#new_password").fill("een-nieuw-wachtwoord-2026");
      await page.locator("#confirm_password").fill("een-nieuw-wachtwoord-2026");
      await page.locator("#password-form").getByRole("button").click();
      await expect(page.locator("#current_password-probleem")).toContainText("klopt niet");
      await expect(page.locator("#current_password")).toHaveAttribute("aria-invalid", "true");
      await expect(page.locator("#current_password")).toHaveAttribute("aria-describedby", "current_password-probleem");
      // The field without a problem carries neither attribute.
      await expect(page.locator("#new_password")).not.toHaveAttribute("aria-invalid", /.*/);
      await expect(page.locator("#new_password")).not.toHaveAttribute("aria-describedby", /.*/);
      await expectAccessible(page, `the account page of the ${user.username} with an error`);

      await page.goto("/account/herstelcodes", { waitUntil: "networkidle" });
      await expectFrame(page, "Herstelcodes · Ooievaar");
      await expectAccessible(page, "the recovery codes page (already shown)");

      await page.goto("/policy", { waitUntil: "networkidle" });
      await expectFrame(page, "Toegangsbeleid · Ooievaar");
      await expect(page.locator("table.policy")).toContainText("alleen normaal");
      await expectAccessible(page, "the policy page");

      if (user.username === "beheer") {
        await page.goto("/gebruikers", { waitUntil: "networkidle" });
        await expectFrame(page, "Gebruikers · Ooievaar");
        await expectAccessible(page, "the users page");
        return;
      }

      if (user.username === "privacy") {
        await page.goto("/audit", { waitUntil: "networkidle" });
        await expectFrame(page, "Toegangslogboek · Ooievaar");
        await expectAccessible(page, "the access log");

        // A filter the server refuses: the problem is linked to its input.
        await page.locator("#f-bsn").fill("123");
        await page.locator("#audit-filter").getByRole("button", { name: "Toepassen" }).click();
        await expect(page.locator("#bsn-probleem")).toBeVisible();
        await expect(page.locator("#f-bsn")).toHaveAttribute("aria-invalid", "true");
        await expect(page.locator("#f-bsn")).toHaveAttribute("aria-describedby", "bsn-probleem");
        await expectAccessible(page, "the access log with a field error");
        await page.getByRole("button", { name: "Filters wissen" }).click();
        await page.waitForLoadState("networkidle");

        await page.locator("#o-bsn").fill(JOYCE_KRAMER.bsn);
        await page.locator("#overview-form").getByRole("button", { name: "Maak overzicht" }).click();
        await expect(page).toHaveURL(onPath("/audit/overzicht"));
        await expect(page.locator("[data-testid=client-overview]")).toBeVisible();
        await expectFrame(page, "Overzicht van inzage · Ooievaar");
        await expectAccessible(page, "the client overview");

        // A page of another role: "Geen toegang", with its own title.
        const refused = await page.goto("/gebruikers", { waitUntil: "networkidle" });
        expect(refused?.status()).toBe(403);
        await expectFrame(page, "Geen toegang · Ooievaar");
        await expectAccessible(page, "the forbidden page");
        return;
      }

      // The clinical roles: the search result, the access request, the client page.
      await homePage.goto();
      await homePage.search(JOYCE_KRAMER.bsn, JOYCE_KRAMER.birthDate);
      await expect(homePage.result).toBeVisible();
      await expectAccessible(page, `the search result of the ${user.username}`);
      const clientPath = (await homePage.resultLink.getAttribute("href"))!;

      await homePage.resultLink.click();
      await expect(page).toHaveURL(onPath(clientPath));
      await expect(clientPage.accessHeading).toBeVisible();
      await expectAccessible(page, `the access request form of the ${user.username}`);

      openGrant = clientPath.split("/").pop();
      await clientPage.requestAccess("behandelrelatie");
      await expect(page).toHaveURL(onPath(clientPath));
      await expect(clientPage.name).toHaveText(JOYCE_KRAMER.name);
      await expectAccessible(page, `the client page of the ${user.username} (with a grant)`);

      await clientPage.endGrant();
      openGrant = undefined;
      await expect(page).toHaveURL(onPath("/"));
    });
  }
});
