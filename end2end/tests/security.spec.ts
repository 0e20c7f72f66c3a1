import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Page } from "@playwright/test";
import { DEMO_PASSWORD, JOYCE_KRAMER, SANNE_VERBEEK, maskedBsn } from "./fixtures/demo";
import { LoginPage } from "./fixtures/login_page";
import { expect, onPath, test } from "./fixtures/test";
import { nextCode } from "./fixtures/totp";

// DESIGN section 9 ("Every response", "Cross-site requests") and rules 3 and 10 in a real
// browser, with JavaScript off and on (the islands bundle and passkeys.js under the
// Content-Security-Policy); forms are plain form posts either way.

/** Content-Security-Policy violations the browser reports on the console (must stay empty). */
function cspViolations(page: Page): string[] {
  const violations: string[] = [];
  page.on("console", (msg) => {
    if (msg.text().includes("Content Security Policy")) violations.push(msg.text());
  });
  return violations;
}

/** The client whose grant the running test requested and has not ended yet. */
let openGrant: string | undefined;

test.afterEach(async ({ page, loginAs }) => {
  // The grant persists in the database and both projects use the same server: end it again.
  if (openGrant === undefined) return;
  const clientId = openGrant;
  openGrant = undefined;
  await page.context().clearCookies();
  await loginAs("verloskundige");
  await page.request.post("/api/end_grant", { form: { client_id: clientId }, maxRedirects: 0 });
});

test.describe("response headers", () => {
  test("pages carry no-store, the CSP, nosniff and the referrer policy, and still hydrate", async ({
    page,
    loginPage,
    javaScriptEnabled,
  }) => {
    const violations = cspViolations(page);
    const response = (await page.goto("/login", { waitUntil: "networkidle" }))!;
    const headers = response.headers();
    expect(headers["cache-control"]).toBe("no-store");
    expect(headers["x-content-type-options"]).toBe("nosniff");
    expect(headers["referrer-policy"]).toBe("same-origin");
    const csp = headers["content-security-policy"];
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toMatch(/script-src 'self' 'nonce-[A-Za-z0-9_-]{16,}' 'wasm-unsafe-eval'/);
    expect(csp).not.toContain("unsafe-inline");
    expect(headers["x-request-id"]).toMatch(/^[0-9a-f-]{36}$/);

    // Under that policy the forms still work (plain form posts, LoginPage.login checks it).
    await loginPage.login("verloskundige", DEMO_PASSWORD);
    await expect(page).toHaveURL(onPath("/login/code"));
    await page.waitForLoadState("networkidle");
    await loginPage.submitCode(await nextCode("verloskundige"));
    await expect(page).toHaveURL(onPath("/"));
    await expect(page.locator("[data-testid=who]")).toContainText("Anna de Vries");
    if (javaScriptEnabled) {
      const scripts = await page.evaluate(() => document.querySelectorAll("script[nonce]").length);
      expect(scripts, "Leptos's scripts carry the nonce").toBeGreaterThan(0);
      // The islands bundle was allowed to load, compile ('wasm-unsafe-eval') and start: its
      // entry point marks the document.
      await expect(page.locator("html[data-hydrated]"), "the wasm bundle ran").toHaveCount(1);
    }
    expect(violations, "no script or style blocked by the policy").toEqual([]);
  });
});

test.describe("after logout", () => {
  test("the back button does not show the client page again", async ({
    page,
    loginAs,
    homePage,
    clientPage,
    shell,
  }) => {
    const violations = cspViolations(page);
    await loginAs("verloskundige");
    await homePage.search(SANNE_VERBEEK.bsn, SANNE_VERBEEK.birthDate);
    await expect(homePage.result).toContainText(maskedBsn(SANNE_VERBEEK));
    const clientPath = (await homePage.resultLink.getAttribute("href"))!;
    await homePage.resultLink.click();
    await expect(page).toHaveURL(onPath(clientPath));
    if ((await clientPage.accessForm.count()) > 0) {
      openGrant = clientPath.split("/").pop();
      await clientPage.requestAccess("behandelrelatie");
    }
    await expect(clientPage.name).toHaveText(SANNE_VERBEEK.name);
    await expect(clientPage.sections.first()).toBeVisible();
    // A fresh load of the page, as the browser would keep it.
    await page.goto(clientPath, { waitUntil: "networkidle" });
    await expect(clientPage.name).toHaveText(SANNE_VERBEEK.name);

    await shell.logout();
    await expect(page).toHaveURL(onPath("/login"));
    await page.waitForLoadState("networkidle");

    await page.goBack({ waitUntil: "load" });
    await page.waitForLoadState("networkidle");
    // Whatever the browser shows now, it is not her data: the page was not kept (no-store),
    // and asking the server again needs a session.
    await expect(page).toHaveURL(onPath("/login"));
    await expect(page.getByText(SANNE_VERBEEK.name)).toHaveCount(0);
    await expect(clientPage.sections).toHaveCount(0);
    await expect(shell.who).toHaveCount(0);
    expect(violations).toEqual([]);
  });
});

/** A page of another site (`http://localhost:<port>`, the app is on 127.0.0.1) that posts a
 * login form to Ooievaar, as an attacker's page would to log a browser in as herself. */
async function foreignSite(target: string): Promise<{ server: Server; url: string }> {
  const html = `<!doctype html><html><body>
    <form id="f" method="post" action="${target}/api/login">
      <input name="username" value="verloskundige">
      <input name="password" value="${DEMO_PASSWORD}">
      <button type="submit">Verstuur</button>
    </form>
    <button id="fetch" type="button" onclick="
      fetch('${target}/api/login', { method: 'POST', mode: 'no-cors', credentials: 'include',
        body: new URLSearchParams({ username: 'verloskundige', password: '${DEMO_PASSWORD}' }) })
        .then(() => document.body.dataset.sent = 'ja', () => document.body.dataset.sent = 'fout')">Fetch</button>
  </body></html>`;
  const server = createServer((_req, res) => {
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    res.end(html);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { server, url: `http://localhost:${port}/` };
}

test.describe("cross-site requests", () => {
  test("another site's login form post is refused and logs nobody in", async ({
    page,
    baseURL,
    javaScriptEnabled,
    shell,
  }) => {
    const target = new URL(baseURL!).origin;
    const { server, url } = await foreignSite(target);
    try {
      await page.goto(url);
      const answered = page.waitForResponse((r) => new URL(r.url()).pathname === "/api/login");
      await page.locator("#f button").click();
      const response = await answered;
      expect(response.status()).toBe(403);
      expect(response.request().headers()["origin"]).toBe(new URL(url).origin);
      await expect(page.locator("body")).toContainText("Geweigerd");
      expect(await page.context().cookies(target), "no session cookie").toEqual([]);

      if (javaScriptEnabled) {
        // The same with a script of that site (an opaque no-cors fetch).
        await page.goto(url);
        const fetched = page.waitForResponse((r) => new URL(r.url()).pathname === "/api/login");
        await page.locator("#fetch").click();
        expect((await fetched).status()).toBe(403);
        expect(await page.context().cookies(target)).toEqual([]);
      }

      // Nobody is logged in on Ooievaar.
      await page.goto("/");
      await expect(page).toHaveURL(onPath("/login"));
      await expect(shell.who).toHaveCount(0);
    } finally {
      server.close();
    }
  });

  test("Ooievaar's own login form still works and shows its error", async ({ page, loginPage }) => {
    await loginPage.goto();
    await loginPage.login("verloskundige", "niet-het-wachtwoord");
    await expect(loginPage.errorText).toHaveText(/Inloggen is niet gelukt/, { timeout: 30_000 });
    await expect(page).toHaveURL(onPath("/login"));
  });
});

test.describe("shared tablet", () => {
  test("a new login starts clean: the next user does not see the first user's search", async ({
    page,
    context,
    loginAs,
    homePage,
    shell,
    javaScriptEnabled,
  }) => {
    // The login page is already open in a second tab of the tablet.
    const tab = await context.newPage();
    await tab.goto("/login", { waitUntil: "networkidle" });

    // The midwife logs in and searches without JavaScript; the result waits in her session
    // for the page after the redirect, which she never opens.
    await loginAs("verloskundige");
    const search = await page.request.post("/api/search", {
      form: { bsn: JOYCE_KRAMER.bsn, birth_date: JOYCE_KRAMER.birthDate },
      headers: { accept: "text/html" },
      maxRedirects: 0,
    });
    expect(search.status(), "the search posted as a plain form").toBe(302);

    // The maternity nurse logs in on the other tab.
    const login = new LoginPage(tab, javaScriptEnabled);
    await login.login("kraamverzorgende", DEMO_PASSWORD);
    await expect(tab).toHaveURL(onPath("/login/code"));
    await tab.waitForLoadState("networkidle");
    await login.submitCode(await nextCode("kraamverzorgende"));
    await expect(tab).toHaveURL(onPath("/"));
    await tab.waitForLoadState("networkidle");
    await expect(tab.locator("[data-testid=who]")).toContainText("Dewi Visser");
    await expect(tab.locator("[data-testid=search-result]")).toHaveCount(0);
    await expect(tab.getByText(JOYCE_KRAMER.name)).toHaveCount(0);

    // And the first tab, now hers as well, shows nothing of the midwife's either.
    await homePage.goto();
    await expect(shell.who).toContainText("Dewi Visser");
    await expect(homePage.result).toHaveCount(0);
    await tab.close();
  });
});
