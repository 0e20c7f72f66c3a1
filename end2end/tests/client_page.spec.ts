import { copyFile, mkdir } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Page, TestInfo } from "@playwright/test";
import { maskedBsn, type DemoClient } from "./fixtures/demo";
import { horizontalOverflow } from "./fixtures/layout";
import { expect, onPath, test } from "./fixtures/test";

// The client page as a midwife and a maternity nurse use it (issue 14): the handover summary
// on top, sections in the order of the role, a timeline that filters without JavaScript, trend
// charts drawn on the server, Dutch formats, and a print view. Every flow ends its grant again.

/** Pregnant, shared by all three demo organisations. */
const PRIYA_RAMDIN: DemoClient = { bsn: "999990068", birthDate: "1994-07-09", name: "Priya Ramdin" };
/** Gave birth a few days ago, shared by all three demo organisations. */
const AYLIN_YILMAZ: DemoClient = { bsn: "999990111", birthDate: "1997-10-12", name: "Aylin Yilmaz" };

let openGrant: string | undefined;

test.afterEach(async ({ page }) => {
  if (openGrant === undefined) return;
  const clientId = openGrant;
  openGrant = undefined;
  await page.request.post("/api/end_grant", { form: { client_id: clientId }, maxRedirects: 0 });
});

const artifacts = fileURLToPath(new URL("../artifacts", import.meta.url));

async function screenshot(page: Page, testInfo: TestInfo, name: string) {
  const shot = testInfo.outputPath(`${name}.png`);
  await page.screenshot({ path: shot, fullPage: true });
  await mkdir(artifacts, { recursive: true });
  await copyFile(shot, path.join(artifacts, `${name}-${testInfo.project.name}.png`));
}

test("a midwife finds the handover essentials on top, a timeline and the trends", async ({
  page,
  loginAs,
  homePage,
  clientPage,
}, testInfo) => {
  await loginAs("verloskundige");
  await homePage.search(PRIYA_RAMDIN.bsn, PRIYA_RAMDIN.birthDate);
  // Before a grant the result names neither the client nor who shares her data.
  await expect(homePage.result).toContainText(maskedBsn(PRIYA_RAMDIN));
  await expect(homePage.result).toContainText("geboren 09-07-1994");
  await expect(homePage.result).not.toContainText(PRIYA_RAMDIN.name);
  await expect(homePage.result).not.toContainText("Gedeeld door");
  await homePage.resultLink.click();
  const clientPath = new URL(page.url()).pathname;
  openGrant = clientPath.split("/").pop();
  await clientPage.requestAccess("behandelrelatie");
  await expect(clientPage.name).toHaveText(PRIYA_RAMDIN.name);
  await expect(clientPage.header).toContainText("Geboren 09-07-1994 (9 juli 1994)");

  // The handover summary comes first, each line with its value, date and source.
  const handover = page.locator("#overdracht");
  await expect(handover.getByRole("heading", { level: 2 })).toHaveText("Overdracht");
  const line = (label: string) => handover.locator(".handover-line").filter({ has: page.getByText(label, { exact: true }) });
  await expect(line("Bloedgroep")).toContainText("O");
  await expect(line("Bloedgroep")).toContainText(/ · \d{2}-\d{2}-\d{4} · (Verloskundigenpraktijk De Wieg|Ziekenhuis Rivierenland)/);
  await expect(line("GBS")).toContainText("Negatief");
  await expect(line("Risicostatus")).toContainText("Tweede lijn");
  await expect(line("Laatste Hb")).toContainText(/\d,\d mmol\/l/);
  await expect(line("Laatste bloeddruk")).toContainText(/\d{2}-\d{2}-\d{4}/);
  await expect(line("Huidige medicatie")).toContainText("Ferrofumaraat");
  // Sections follow the midwife's order: the pregnancy before identity.
  const order = await clientPage.sections.evaluateAll((s) => s.map((e) => e.id));
  expect(order.indexOf("cat-pregnancy")).toBeLessThan(order.indexOf("cat-identity"));
  // Earlier pregnancies stay folded.
  await expect(page.locator("details.earlier-pregnancy").first()).not.toHaveAttribute("open", /.*/);
  // No ISO dates anywhere a person reads.
  expect(await page.locator("main").innerText()).not.toMatch(/\b\d{4}-\d{2}-\d{2}\b/);

  // Trends drawn on the server: SVG with the values in a table.
  const bp = page.locator("#trend-bloeddruk");
  await expect(bp.locator("svg.trend-chart")).toHaveCount(1);
  await expect(bp.locator("table tbody tr")).toHaveCount(5);

  await screenshot(page, testInfo, "client-page-midwife-desktop");

  // The timeline, filtered on one category: links and a GET form, with or without JavaScript.
  await page.getByRole("link", { name: "Tijdlijn" }).click();
  await expect(page).toHaveURL(/weergave=tijdlijn/);
  await page.locator("#categorie").selectOption("lab_screening");
  await page.getByRole("button", { name: "Toon" }).click();
  await expect(page).toHaveURL(/categorie=lab_screening/);
  const timeline = page.locator("#tijdlijn");
  await expect(timeline.getByRole("heading", { level: 2 })).toHaveText("Tijdlijn: Laboratorium en screening");
  await expect(timeline).toContainText("Bloedgroep");
  await expect(timeline).not.toContainText("Ferrofumaraat");

  // The print view: the same data, a footer naming her, the time and "vertrouwelijk".
  await page.goto(`${clientPath}/afdrukken`);
  await expect(page.locator(".print-footer")).toContainText("Afgedrukt door Anna de Vries");
  await expect(page.locator(".print-footer")).toContainText("vertrouwelijk");
  await expect(page.locator("#overdracht")).toContainText("Bloedgroep");

  await page.goto(clientPath);
  await clientPage.endGrant();
  openGrant = undefined;
  await expect(page).toHaveURL(onPath("/"));
});

test.describe("on a tablet (768x1024, touch)", () => {
  test.use({ viewport: { width: 768, height: 1024 }, hasTouch: true });

  test("a maternity nurse sees the birth and the newborn first", async ({ page, loginAs, homePage, clientPage }, testInfo) => {
    await loginAs("kraamverzorgende");
    await homePage.search(AYLIN_YILMAZ.bsn, AYLIN_YILMAZ.birthDate);
    await homePage.resultLink.click();
    const clientPath = new URL(page.url()).pathname;
    openGrant = clientPath.split("/").pop();
    await clientPage.requestAccess("behandelrelatie");
    await expect(clientPage.name).toHaveText(AYLIN_YILMAZ.name);

    const handover = page.locator("#overdracht");
    const line = (label: string) => handover.locator(".handover-line").filter({ has: page.getByText(label, { exact: true }) });
    await expect(line("Type bevalling")).toContainText("Vaginale baring");
    await expect(line("Geboortegewicht")).toContainText("3450 g");
    await expect(line("Laatste gewicht kind")).toContainText("3310 g");
    await expect(line("Indicatie kraamzorg")).toContainText("49 uur");
    // The perineum is recorded as 'elevated': above her role, so "niet gedeeld", never left out.
    await expect(line("Perineum")).toContainText("niet gedeeld");
    await expect(handover).not.toContainText("Graad 2");
    // Her sections start with the birth, the newborn and the kraambed.
    const order = await clientPage.sections.evaluateAll((s) => s.map((e) => e.id));
    expect(order.slice(0, 3)).toEqual(["cat-labour_birth", "cat-newborn", "cat-postpartum"]);
    // No foetal weight chart: she may not see ultrasound data.
    await expect(page.locator("#trend-foetaal_gewicht")).toHaveCount(0);
    expect(await horizontalOverflow(page), "px of horizontal scrolling").toBe(0);

    await screenshot(page, testInfo, "client-page-maternity-nurse-tablet");

    await clientPage.endGrant();
    openGrant = undefined;
    await expect(page).toHaveURL(onPath("/"));
  });
});
