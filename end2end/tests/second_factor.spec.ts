import { execFileSync } from "node:child_process";
import type { Page } from "@playwright/test";
import { DEMO_PASSWORD } from "./fixtures/demo";
import { expect, onPath, test } from "./fixtures/test";
import { codeAt, currentStep, fromBase32, nextCode } from "./fixtures/totp";

/** The command line of the server under test (`make test` sets OOIEVAAR_BIN and DATABASE_URL). */
function ooievaar(args: string[], input?: string): string {
  const bin = process.env.OOIEVAAR_BIN;
  if (!bin) throw new Error("OOIEVAAR_BIN is not set (make test sets it)");
  return execFileSync(bin, args, { input, encoding: "utf8", env: process.env });
}

/** A new account of the demo practice, without a second factor; unique per test run. */
function newAccount(prefix: string, projectName: string): string {
  const username = `${prefix}-${projectName}-${Date.now() % 1_000_000}`;
  ooievaar(
    ["user", "add", "--organisation", "vp-de-wieg", "--role", "verloskundige", "--username", username, "--name", "Nieuwe Collega"],
    `${DEMO_PASSWORD}\n`,
  );
  return username;
}

/** Enrols on `/login/instellen` from the secret the page shows; returns the secret. */
async function enrolFromPage(page: Page, loginPage: import("./fixtures/login_page").LoginPage): Promise<Buffer> {
  await expect(page).toHaveURL(onPath("/login/instellen"));
  await expect(page.locator(".qr svg")).toBeVisible();
  await page.screenshot({ path: test.info().outputPath("enrolment.png"), fullPage: true });
  const secret = fromBase32((await page.locator("#totp-secret").textContent())!.trim());
  await page.waitForLoadState("networkidle");
  await loginPage.submitCode(codeAt(secret, currentStep()));
  await expect(page).toHaveURL(onPath("/account/herstelcodes"));
  return secret;
}

test.describe("second factor", () => {
  test("a right password alone shows no name, and every page leads to the code step", async ({ page, loginPage, shell }) => {
    await loginPage.goto();
    await loginPage.login("kraamverzorgende", DEMO_PASSWORD);
    await expect(page).toHaveURL(onPath("/login/code"));
    await expect(shell.who).toHaveCount(0);
    await expect(page.getByText("Dewi Visser")).toHaveCount(0);
    const code = page.locator("#code");
    await expect(code).toHaveAttribute("autocomplete", "one-time-code");
    await expect(code).toHaveAttribute("inputmode", "numeric");
    for (const path of ["/", "/account", "/policy", "/login"]) {
      await page.goto(path);
      await expect(page, path).toHaveURL(onPath("/login/code"));
    }
    await page.waitForLoadState("networkidle");
    await loginPage.submitCode("000000");
    await expect(page.locator("#code-form").locator(".field-problem, [role=alert]").first()).toContainText("klopt niet");
    await expect(page).toHaveURL(onPath("/login/code"));
    await loginPage.submitCode(await nextCode("kraamverzorgende"));
    await expect(page).toHaveURL(onPath("/"));
    await expect(shell.who).toContainText("Dewi Visser");
  });

  test("first login: enrolment with QR code and secret, recovery codes once, then a code at every login", async ({ page, loginPage, shell }, testInfo) => {
    const username = newAccount("nieuw", testInfo.project.name);
    await loginPage.goto();
    await loginPage.login(username, DEMO_PASSWORD);
    const secret = await enrolFromPage(page, loginPage);
    const codes = page.locator("[data-testid=recovery-codes] li");
    await expect(codes).toHaveCount(10);
    await expect(codes.first()).toHaveText(/^\d{4} \d{4} \d{4}$/);
    const recovery = (await codes.first().textContent())!;
    await expect(shell.who).toContainText("Nieuwe Collega");
    await page.reload();
    await expect(page.locator("[data-testid=recovery-codes]")).toHaveCount(0);
    await expect(page.getByText("al getoond")).toBeVisible();

    // The next login asks for a code; a recovery code works once.
    await shell.logout();
    await expect(page).toHaveURL(onPath("/login"));
    await loginPage.goto();
    await loginPage.login(username, DEMO_PASSWORD);
    await expect(page).toHaveURL(onPath("/login/code"));
    await page.waitForLoadState("networkidle");
    await loginPage.submitCode(recovery);
    await expect(page).toHaveURL(onPath("/"));

    // reset-2fa: she sets up the app again.
    ooievaar(["user", "reset-2fa", "--username", username]);
    await page.goto("/");
    await expect(page).toHaveURL(onPath("/login"));
    await loginPage.goto();
    await loginPage.login(username, DEMO_PASSWORD);
    const again = await enrolFromPage(page, loginPage);
    expect(again.equals(secret), "a new secret after the reset").toBe(false);
  });

  test("five wrong codes send her back to the password", async ({ page, loginPage }, testInfo) => {
    const username = newAccount("vijfmis", testInfo.project.name);
    await loginPage.goto();
    await loginPage.login(username, DEMO_PASSWORD);
    await expect(page).toHaveURL(onPath("/login/instellen"));
    await page.waitForLoadState("networkidle");
    for (let i = 1; i <= 4; i++) {
      await loginPage.submitCode("000000");
      await expect(page.locator("#enrol-form .field-problem")).toContainText(`Nog ${5 - i}`);
    }
    await loginPage.submitCode("000000");
    await expect(page).toHaveURL(onPath("/login"));
    await expect(page.getByText("te vaak een verkeerde code")).toBeVisible();
  });

  test("the code step fits a tablet with 44 px targets", async ({ page, loginPage }) => {
    await page.setViewportSize({ width: 768, height: 1024 });
    await loginPage.goto();
    await loginPage.login("echoscopist", DEMO_PASSWORD);
    await expect(page).toHaveURL(onPath("/login/code"));
    for (const target of [page.locator("#code"), page.locator("#code-form button")]) {
      const box = (await target.boundingBox())!;
      expect(box.height).toBeGreaterThanOrEqual(44);
    }
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);
    expect(overflow, "no sideways scrolling").toBe(false);
    await page.screenshot({ path: testInfo_path("code-step-tablet") });
  });
});

function testInfo_path(name: string): string {
  return test.info().outputPath(`${name}.png`);
}

test.describe("passkeys", () => {
  test("add a passkey, log in with it, remove it and it no longer works", async ({ page, loginPage, shell, javaScriptEnabled }, testInfo) => {
    test.skip(!javaScriptEnabled, "WebAuthn needs JavaScript; the code form is the no-JavaScript way");
    const base = (process.env.OOIEVAAR_PUBLIC_URL ?? "http://localhost:3100").replace(/\/$/, "");
    const cdp = await page.context().newCDPSession(page);
    await cdp.send("WebAuthn.enable");
    await cdp.send("WebAuthn.addVirtualAuthenticator", {
      options: {
        protocol: "ctap2",
        transport: "internal",
        hasResidentKey: true,
        hasUserVerification: true,
        isUserVerified: true,
        automaticPresenceSimulation: true,
      },
    });

    const username = newAccount("passkey", testInfo.project.name);
    await page.goto(`${base}/login`, { waitUntil: "networkidle" });
    await loginPage.login(username, DEMO_PASSWORD);
    const secret = await enrolFromPage(page, loginPage);
    const recovery = (await page.locator("[data-testid=recovery-codes] li").first().textContent())!;
    // The enrolment used the current step; the next code comes one step ahead.
    const fresh = () => codeAt(secret, currentStep() + 1);

    await page.goto(`${base}/account`, { waitUntil: "networkidle" });
    const add = page.locator("#passkey-add-form");
    await expect(add).toBeVisible();
    await add.getByLabel(/Naam van de passkey/).fill("Werktelefoon");
    await add.getByLabel(/Code uit uw app/).fill(fresh());
    await add.getByRole("button", { name: "Passkey toevoegen" }).click();
    await expect(page).toHaveURL((url) => url.pathname === "/account" && url.search.includes("passkey=toegevoegd"));
    await expect(page.locator("[data-testid=passkey]")).toContainText("Werktelefoon");

    await shell.logout();
    await page.goto(`${base}/login`, { waitUntil: "networkidle" });
    await loginPage.login(username, DEMO_PASSWORD);
    await expect(page).toHaveURL(onPath("/login/code"));
    await page.waitForLoadState("networkidle");
    await page.getByRole("button", { name: "Inloggen met passkey" }).click();
    await expect(page).toHaveURL(onPath("/"));
    await expect(shell.who).toContainText("Nieuwe Collega");

    // Removing it (with a fresh code) ends its use.
    await page.goto(`${base}/account`, { waitUntil: "networkidle" });
    const item = page.locator("[data-testid=passkey]");
    // Her app's codes of these steps are used; a recovery code is a fresh code too.
    await item.getByLabel("Code uit uw app").fill(recovery);
    await item.getByRole("button", { name: "Verwijderen" }).click();
    await expect(page.locator("[data-testid=passkey]")).toHaveCount(0);

    await shell.logout();
    await page.goto(`${base}/login`, { waitUntil: "networkidle" });
    await loginPage.login(username, DEMO_PASSWORD);
    await expect(page).toHaveURL(onPath("/login/code"));
    await page.waitForLoadState("networkidle");
    await page.getByRole("button", { name: "Inloggen met passkey" }).click();
    await expect(page.locator("[data-passkey-error]")).toContainText(/geen passkey|niet/);
    await expect(page).toHaveURL(onPath("/login/code"));
  });
});
