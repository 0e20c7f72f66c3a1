import { copyFile, mkdir } from "node:fs/promises";
import path from "node:path";
import { JOYCE_KRAMER, maskedBsn } from "./fixtures/demo";
import { horizontalOverflow, smallTouchTargets } from "./fixtures/layout";
import { expect, onPath, test } from "./fixtures/test";

// Grants persist in the database and both projects run against the same server: every flow
// that requests access ends that grant again at its end, so the other project starts from the
// same state ("Toegang aanvragen", not "Open cliëntgegevens"). Run on a fresh `demo seed`.

/** The client whose grant the running test requested and has not ended yet. */
let openGrant: string | undefined;

test.afterEach(async ({ page }) => {
  // A flow that failed half-way ends its grant here, so the other project is not misled by it.
  if (openGrant === undefined) return;
  const clientId = openGrant;
  openGrant = undefined;
  await page.request.post("/api/end_grant", { form: { client_id: clientId }, maxRedirects: 0 });
});

/** Without JavaScript the server keeps the outcome in the session and redirects back to `/`. */
const SEARCH_RESULT_SHOWN = "the search result on / (without JavaScript: kept in the session for the redirect)";
/** The access request ends on the same URL, which must now show the client page. */
const CLIENT_PAGE_SHOWN = "the client page after a successful access request";

/** A client page's path: `/clients/<opaque id>`. */
const CLIENT_PATH = /^\/clients\/[^/?#]+$/;

/** The BSN as it could appear in a URL (digits only). */
const bsnIn = (urls: string[], bsn: string) => urls.filter((u) => u.replace(/[ .]|%20|%2E/gi, "").includes(bsn));

test.describe("finding a client and requesting access", () => {
  test("a midwife finds Joyce Kramer, requests access and sees her laboratory results", async ({
    page,
    loginAs,
    homePage,
    clientPage,
    shell,
    visitedUrls,
  }) => {
    await loginAs("verloskundige");

    await homePage.search(JOYCE_KRAMER.bsn, JOYCE_KRAMER.birthDate);
    await expect(homePage.result, SEARCH_RESULT_SHOWN).toContainText(maskedBsn(JOYCE_KRAMER));
    await expect(page).toHaveURL(onPath("/"));
    await expect(homePage.resultLink).toHaveText("Toegang aanvragen");
    await expect(homePage.resultLink).toHaveAttribute("href", CLIENT_PATH);
    const clientPath = (await homePage.resultLink.getAttribute("href"))!;

    await homePage.resultLink.click();
    await expect(page).toHaveURL(onPath(clientPath));
    await expect(clientPage.accessHeading).toBeVisible();
    await expect(clientPage.header).toHaveCount(0);

    openGrant = clientPath.split("/").pop();
    await clientPage.requestAccess("behandelrelatie");
    await expect(page).toHaveURL(onPath(clientPath));
    await expect(clientPage.name, CLIENT_PAGE_SHOWN).toHaveText(JOYCE_KRAMER.name);
    await expect(clientPage.header).toContainText("BSN ******032");
    await expect(clientPage.consentNote).toContainText("Gegevens van zorgverleners die geen toestemming van de cliënt hebben om te delen, ziet u niet.");
    await expect(clientPage.accessForm).toHaveCount(0);
    await expect(clientPage.sectionHeading("lab_screening")).toHaveText("Laboratorium en screening");
    await expect(clientPage.entryValue("lab_screening", "Bloedgroep")).toHaveText("O");
    await expect(clientPage.entryValue("lab_screening", "HIV-screening")).toHaveText("negatief");

    // Her start page ("Cliënten" in the menu) now lists Joyce under "Mijn cliënten".
    await shell.navLink("Cliënten").click();
    await expect(page).toHaveURL(onPath("/"));
    await expect(homePage.myClient(JOYCE_KRAMER.name)).toHaveAttribute("href", clientPath);

    expect(bsnIn(visitedUrls, JOYCE_KRAMER.bsn), "URLs with the BSN in them").toEqual([]);

    // Leave no grant behind: "Ik behandel deze cliënt niet meer" ends it and Joyce leaves the list.
    await homePage.myClient(JOYCE_KRAMER.name).click();
    await expect(clientPage.name).toHaveText(JOYCE_KRAMER.name);
    await clientPage.endGrant();
    openGrant = undefined;
    await expect(page).toHaveURL(onPath("/"));
    await expect(homePage.myClients).toContainText("U heeft op dit moment geen toegang tot cliënten");
    await expect(homePage.myClient(JOYCE_KRAMER.name)).toHaveCount(0);
  });

  test.describe("on a tablet (768x1024, touch)", () => {
    test.use({ viewport: { width: 768, height: 1024 }, hasTouch: true });

    test("a maternity nurse sees the newborn and kraambed, and nothing above her role", async ({
      page,
      loginAs,
      homePage,
      clientPage,
      visitedUrls,
    }, testInfo) => {
      await loginAs("kraamverzorgende");

      // The start page fits the tablet too.
      await expect(homePage.searchButton).toBeVisible();
      expect(await horizontalOverflow(page), "px of horizontal scrolling on /").toBe(0);
      expect(await smallTouchTargets(page), "buttons, nav links and form controls under 44 px on /").toEqual([]);

      await homePage.search(JOYCE_KRAMER.bsn, JOYCE_KRAMER.birthDate);
      await expect(homePage.result, SEARCH_RESULT_SHOWN).toContainText(maskedBsn(JOYCE_KRAMER));
      await expect(page).toHaveURL(onPath("/"));
      await homePage.resultLink.click();
      await expect(clientPage.accessHeading).toBeVisible();
      const clientPath = new URL(page.url()).pathname;
      expect(clientPath).toMatch(CLIENT_PATH);

      openGrant = clientPath.split("/").pop();
      await clientPage.requestAccess("waarneming", "kraamzorg dag 3");
      await expect(page).toHaveURL(onPath(clientPath));
      await expect(clientPage.name, CLIENT_PAGE_SHOWN).toHaveText(JOYCE_KRAMER.name);

      await expect(clientPage.sectionHeading("newborn")).toHaveText("Pasgeborene");
      await expect(clientPage.entryValue("newborn", "Geboortegewicht")).toHaveText("3450 g");
      await expect(clientPage.sectionHeading("postpartum")).toHaveText("Kraambed");
      await expect(clientPage.entryValue("postpartum", "Temperatuur")).toHaveText("37,1 °C");
      // Up to "normal" in laboratory and psychosocial data, and no ultrasound at all.
      await expect(clientPage.entryValue("lab_screening", "Bloedgroep")).toHaveText("O");
      await expect(clientPage.entryValue("psychosocial", "Steun van partner")).toHaveText("Goed");
      await expect(page.locator("#cat-ultrasound")).toHaveCount(0);
      const html = await page.content();
      for (const hidden of ["HIV-screening", "Signaal huiselijk geweld", "Besproken, veiligheidsplan"]) {
        expect(html, `the page's HTML does not contain "${hidden}"`).not.toContain(hidden);
      }
      // Nor does the server's answer for this page (the whole document, scripts included).
      const served = await (await page.request.get(clientPath)).text();
      expect(served).toContain(JOYCE_KRAMER.name);
      for (const hidden of ["HIV-screening", "Signaal huiselijk geweld", "Besproken, veiligheidsplan"]) {
        expect(served, `the server's HTML does not contain "${hidden}"`).not.toContain(hidden);
      }

      // Fits the tablet: no horizontal scrolling, touch targets at least 44 px high.
      expect(await horizontalOverflow(page), "px of horizontal scrolling").toBe(0);
      expect(await smallTouchTargets(page), "buttons, nav links and form controls under 44 px").toEqual([]);

      const shot = testInfo.outputPath("client-page-tablet.png");
      await page.screenshot({ path: shot, fullPage: true });
      await testInfo.attach("client-page-tablet", { path: shot, contentType: "image/png" });
      const artifacts = path.join(path.dirname(testInfo.config.configFile!), "artifacts");
      await mkdir(artifacts, { recursive: true });
      await copyFile(shot, path.join(artifacts, `client-page-tablet-${testInfo.project.name}.png`));

      expect(bsnIn(visitedUrls, JOYCE_KRAMER.bsn), "URLs with the BSN in them").toEqual([]);

      // Leave no grant behind (see the top of this file).
      await clientPage.endGrant();
      openGrant = undefined;
      await expect(page).toHaveURL(onPath("/"));
      await expect(homePage.myClient(JOYCE_KRAMER.name)).toHaveCount(0);
    });
  });
});

test.describe("search outcomes", () => {
  test("an unknown BSN finds no client", async ({ page, loginAs, homePage, visitedUrls }) => {
    await loginAs("verloskundige");
    await homePage.search("111222333", "1990-05-01");
    await expect(homePage.result, SEARCH_RESULT_SHOWN).toContainText("Geen cliënt gevonden");
    await expect(homePage.resultLink).toHaveCount(0);
    await expect(page).toHaveURL(onPath("/"));
    expect(bsnIn(visitedUrls, "111222333"), "URLs with the BSN in them").toEqual([]);
  });

  test("a BSN that fails the 11-check is refused on /", async ({ page, loginAs, homePage, visitedUrls }) => {
    await loginAs("verloskundige");
    await homePage.search("123456789", "1990-05-01");
    await expect(homePage.bsnProblem).toContainText("elfproef");
    await expect(homePage.formError).toBeVisible();
    await expect(homePage.result).toHaveCount(0);
    await expect(page).toHaveURL(onPath("/"));
    expect(bsnIn(visitedUrls, "123456789"), "URLs with the BSN in them").toEqual([]);
  });
});

test.describe("the start page", () => {
  test("loaded as a page of its own, / shows the search and Mijn cliënten", async ({ page, loginAs, homePage }) => {
    await loginAs("verloskundige");
    // A reload (or a typed URL) renders `/` on the server; with JavaScript the islands bundle
    // then starts (a panic in it fails the test through the page-error check).
    await homePage.goto();
    await expect(page).toHaveURL(onPath("/"));
    await expect(homePage.searchButton).toBeVisible();
    await expect(homePage.myClients).toBeVisible();
  });
});
