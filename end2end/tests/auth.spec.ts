import { CLINICAL_ROLES, DEMO_USERS } from "./fixtures/demo";
import { expect, onPath, test } from "./fixtures/test";

const LOGIN_FAILED = "Inloggen is niet gelukt. Controleer uw gebruikersnaam en wachtwoord.";

test.describe("login", () => {
  for (const user of DEMO_USERS) {
    test(`${user.username} logs in and sees her own shell`, async ({ page, loginAs, shell }) => {
      await loginAs(user.username, { fresh: true });

      await expect(page.getByRole("heading", { level: 1, name: /^Welkom, / })).toBeVisible();
      await expect(shell.who).toContainText(user.name);
      await expect(shell.who).toContainText(user.role);
      await expect(shell.who).toContainText(user.organisation);
      await expect(shell.navLinks).toHaveText(user.nav);
      await expect(shell.demoBadge).toBeVisible();
    });
  }

  test("a wrong password and an unknown user get the same generic error", async ({ page, loginPage }) => {
    // Failed logins are answered more slowly after a few (login throttling).
    test.setTimeout(120_000);

    await loginPage.goto();
    await loginPage.login("verloskundige", "niet-het-wachtwoord");
    await expect(loginPage.errorText).toHaveText(LOGIN_FAILED, { timeout: 30_000 });
    await expect(page).toHaveURL(onPath("/login"));

    await loginPage.goto();
    await expect(loginPage.errorText).toHaveCount(0);
    await loginPage.login("niemand-bekend", "niet-het-wachtwoord");
    await expect(loginPage.errorText).toHaveText(LOGIN_FAILED, { timeout: 30_000 });
    await expect(page).toHaveURL(onPath("/login"));
  });
});

test.describe("session", () => {
  test("without login, / sends her to /login", async ({ page, loginPage }) => {
    await page.goto("/");
    await expect(page).toHaveURL(onPath("/login"));
    await expect(loginPage.submit).toBeVisible();
  });

  test("logout ends the session", async ({ page, loginAs, shell }) => {
    await loginAs("verloskundige");
    await expect(shell.who).toContainText("Anna de Vries");

    await shell.logout();
    await expect(page).toHaveURL(onPath("/login"));
    await expect(shell.who).toHaveCount(0);

    await page.goto("/");
    await expect(page).toHaveURL(onPath("/login"));
    await expect(shell.who).toHaveCount(0);
  });
});

test.describe("roles", () => {
  test("a privacy officer gets no access to /gebruikers", async ({ page, loginAs }) => {
    await loginAs("privacy");
    await page.goto("/gebruikers");
    await expect(page.getByRole("heading", { name: "Geen toegang" })).toBeVisible();
    await expect(page.getByRole("table")).toHaveCount(0);
  });

  test("the beheerder sees the users of her organisation on /gebruikers", async ({ page, loginAs }) => {
    await loginAs("beheer");
    await page.goto("/gebruikers");
    await expect(page.getByRole("table").getByRole("cell", { name: "Anna de Vries", exact: true })).toBeVisible();
  });

  test("/policy shows every category for all five clinical roles", async ({ page, loginAs }) => {
    await loginAs("verloskundige");
    await page.goto("/policy");
    const table = page.locator("table.policy");
    await expect(table.getByRole("row", { name: /^Laboratorium en screening/ })).toBeVisible();
    for (const role of CLINICAL_ROLES) {
      await expect(table.getByRole("columnheader", { name: role, exact: true })).toBeVisible();
    }
  });

  test("/policy shows the code map: where a coded FHIR value lands", async ({ page, loginAs }) => {
    await loginAs("kraamverzorgende");
    await page.goto("/policy");
    await expect(page.getByRole("heading", { name: "Waar een gecodeerde waarde terechtkomt" })).toBeVisible();
    const hiv = page.locator("table.code-map").getByRole("row", { name: /HIV-1-antistoffen/ });
    await expect(hiv).toContainText("Laboratorium en screening");
    await expect(hiv).toContainText("hoog");
    await expect(hiv).toContainText("LOINC 7917-8");
  });
});
