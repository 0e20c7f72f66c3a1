import { copyFile, mkdir } from "node:fs/promises";
import path from "node:path";
import type { Page, TestInfo } from "@playwright/test";
import { csvRecords, EXPORT_COLUMNS, parseCsv } from "./fixtures/audit_page";
import { maskedBsn, type DemoClient } from "./fixtures/demo";
import { horizontalOverflow, smallTouchTargets } from "./fixtures/layout";
import { expect, onPath, test } from "./fixtures/test";

// The privacy officer (Femke Mulder, `privacy`, Ziekenhuis Rivierenland) reviews the access log
// of her organisation. Both projects run against the same seeded database, one after the
// other: the scenario requests the spoed grant only when the gynaecologist has none yet, looks
// at the newest events only, reviews the newest (unreviewed) view, and revokes the grant at the
// end, so the next run starts from "Toegang aanvragen" again.

/** Pregnant; shared by De Wieg and Rivierenland (not by the Kraamhoek), and used by no other
 * spec, so her part of the log is this spec's alone. */
const LOTTE_DE_GROOT: DemoClient = { bsn: "999990020", birthDate: "1990-03-05", name: "Lotte de Groot" };
/** Shared by De Wieg and the Kraamhoek only: Rivierenland neither shares nor treats her. */
const FATIMA_EL_AMRANI: DemoClient = { bsn: "999990019", birthDate: "1989-02-04", name: "Fatima el Amrani" };

const GYNAECOLOGIST = {
  username: "gynaecoloog",
  name: "Dr. Bram Jansen",
  role: "Gynaecoloog",
  organisation: "Ziekenhuis Rivierenland, Verloskunde",
};
const OFFICER = { username: "privacy", name: "Femke Mulder" };

/** The BSN as it could appear in a URL (digits only). */
const bsnIn = (urls: string[], bsn: string) => urls.filter((u) => u.replace(/[ .]|%20|%2E/gi, "").includes(bsn));

/** A full-page screenshot, attached to the report and copied to `end2end/artifacts/`
 * (gitignored) as `<name>-<project>.png`. */
async function screenshot(page: Page, testInfo: TestInfo, name: string): Promise<void> {
  const shot = testInfo.outputPath(`${name}.png`);
  await page.screenshot({ path: shot, fullPage: true });
  await testInfo.attach(name, { path: shot, contentType: "image/png" });
  const artifacts = path.join(path.dirname(testInfo.config.configFile!), "artifacts");
  await mkdir(artifacts, { recursive: true });
  await copyFile(shot, path.join(artifacts, `${name}-${testInfo.project.name}.png`));
}

/** Collects the page's requests to matching paths that were answered with a 4xx or 5xx. */
function failedRequests(page: Page, paths: (path: string) => boolean): string[] {
  const failed: string[] = [];
  page.on("response", (r) => {
    const url = new URL(r.url());
    if (r.status() >= 400 && paths(url.pathname)) failed.push(`${r.status()} ${r.request().method()} ${url.pathname}`);
  });
  return failed;
}

test.describe("the privacy officer", () => {
  test("an officer filters by client, sees the flagged spoed view, exports, opens the client overview", async ({
    page,
    loginAs,
    homePage,
    clientPage,
    shell,
    auditPage,
    clientOverviewPage,
    visitedUrls,
  }, testInfo) => {
    test.setTimeout(120_000);
    const client = LOTTE_DE_GROOT;
    const run = `${testInfo.project.name} ${Date.now()}`;
    const reason = `Acute bloeding op de verloskamer, dossier nodig (e2e ${run})`;
    const note = `Nagevraagd bij dr. Jansen: spoed was terecht (e2e ${run})`;
    const failed = failedRequests(page, (p) => p.startsWith("/audit") || p.startsWith("/api/audit"));

    // --- The gynaecologist looks at Lotte's data in an emergency. ---------------------------
    await loginAs(GYNAECOLOGIST.username);
    await homePage.search(client.bsn, client.birthDate);
    await expect(homePage.result).toContainText(maskedBsn(client));
    await expect(homePage.resultLink).toHaveText(/^(Toegang aanvragen|Open cliëntgegevens)$/);
    // A run that failed before revoking leaves its spoed grant behind: then she opens the page.
    const requested = (await homePage.resultLink.textContent())!.trim() === "Toegang aanvragen";
    await homePage.resultLink.click();
    if (requested) {
      await expect(clientPage.accessHeading).toBeVisible();
      await clientPage.requestAccess("spoed", reason);
    } else {
      testInfo.annotations.push({ type: "note", description: "the gynaecologist still had a grant for the client" });
    }
    await expect(clientPage.name, "the client page").toHaveText(client.name);
    await shell.logout();
    await expect(page).toHaveURL(onPath("/login"));

    // --- The officer opens the log and filters by the client. ------------------------------
    await loginAs(OFFICER.username);
    await shell.navLink("Toegangslogboek").click();
    await expect(page).toHaveURL(onPath("/audit"));
    await expect(auditPage.heading).toBeVisible();
    await expect(auditPage.chainStatus).toContainText("Logboek intact");
    await expect(auditPage.chainStatus).toContainText(/De hashketen van alle \d{1,3}(\.\d{3})* gebeurtenissen is intact/);
    await expect(auditPage.eventsHeading).toHaveText("Gebeurtenissen");

    await auditPage.filter({ bsn: client.bsn });
    await expect(page).toHaveURL(onPath("/audit"));
    await expect(auditPage.eventsHeading, "the filtered log").toHaveText("Gebeurtenissen (gefilterd)");
    await expect(auditPage.bsn, "the filter form shows the kept filter").toHaveValue(client.bsn);
    await expect(auditPage.eventRows.first()).toBeVisible();
    const bsns = await auditPage.eventRows.evaluateAll((rows) =>
      rows.map((r) => (r as HTMLTableRowElement).cells[3].textContent?.trim()),
    );
    expect(new Set(bsns), "the BSN of every event in the filtered log").toEqual(new Set([client.bsn]));

    // The gynaecologist's newest view: flagged spoed, not reviewed yet.
    const view = auditPage.rowsWithAction("read").filter({ hasText: GYNAECOLOGIST.name }).first();
    await expect(view).toBeVisible();
    await expect(auditPage.cell(view, "action")).toHaveText("Gegevens ingezien");
    // Name first, then role and organisation on the next line.
    await expect(auditPage.cell(view, "who")).toHaveText(
      `${GYNAECOLOGIST.name}${GYNAECOLOGIST.role}, ${GYNAECOLOGIST.organisation}`,
    );
    await expect(auditPage.cell(view, "ground")).toHaveText("Spoed (acute situatie)");
    await expect(auditPage.cell(view, "detail")).toContainText("rivierenland-epd");
    await expect(view).toHaveClass(/\bflagged\b/);
    await expect(auditPage.flag(view, "spoed")).toHaveText("Spoed: toegang op grond van spoed");
    await expect(auditPage.reviewForm(view), "the newest spoed view is not reviewed yet").toBeVisible();
    await expect(auditPage.review(view)).toHaveCount(0);
    const viewId = await auditPage.idOf(view);

    // The spoed request with the gynaecologist's reason.
    const request = auditPage.rowsWithAction("access_request").filter({ hasText: GYNAECOLOGIST.name }).first();
    await expect(auditPage.flag(request, "spoed")).toBeVisible();
    await expect(auditPage.cell(request, "ground")).toHaveText("Spoed (acute situatie)");
    await expect(auditPage.cell(request, "detail")).toHaveText(requested ? `toelichting: ${reason}` : /^toelichting: .+/);

    // --- She marks the view reviewed. ------------------------------------------------------
    await auditPage.markReviewed(view, note);
    await expect(page).toHaveURL(onPath("/audit"));
    const reviewed = auditPage.row(viewId);
    await expect(auditPage.review(reviewed), "the review of the spoed view").toHaveText(
      new RegExp(`^Beoordeeld door ${OFFICER.name} op .+: ${note.replace(/[()]/g, "\\$&")}$`),
    );
    await expect(auditPage.reviewForm(reviewed)).toHaveCount(0);
    // The flag stays: reviewed is not the same as unflagged.
    await expect(auditPage.flag(reviewed, "spoed")).toBeVisible();
    // The review is itself logged, about the same client.
    const reviewEvent = auditPage.rowsWithAction("flag_reviewed").first();
    await expect(auditPage.cell(reviewEvent, "who")).toContainText(OFFICER.name);
    await expect(auditPage.cell(reviewEvent, "detail")).toHaveText(note);
    // The filter is still the client's.
    await expect(auditPage.bsn).toHaveValue(client.bsn);

    // "Alleen onbeoordeelde meldingen": the reviewed view drops out, what is left is flagged.
    await auditPage.filter({ flagged: true });
    await expect(auditPage.flagged).toBeChecked();
    await expect(auditPage.row(viewId), "the reviewed view among the unreviewed").toHaveCount(0);
    for (const row of await auditPage.eventRows.all()) {
      await expect(row.locator("li.flag").first()).toBeVisible();
      await expect(auditPage.reviewForm(row)).toBeVisible();
    }
    await auditPage.filter({ flagged: false });
    await expect(auditPage.row(viewId)).toBeVisible();

    // --- The export: the filtered log as CSV. ----------------------------------------------
    await expect(auditPage.exportLink).toHaveText("Exporteer als CSV");
    const { download, text } = await auditPage.exportByLink();
    expect(download.suggestedFilename()).toBe("toegangslogboek.csv");
    const rows = parseCsv(text);
    expect(rows[0], "the CSV's header row").toEqual(EXPORT_COLUMNS);
    const records = csvRecords(rows);
    expect(records.length, "rows in the export").toBeGreaterThan(0);
    expect(new Set(records.map((r) => r.bsn)), "the BSN of every exported row").toEqual(new Set([client.bsn]));
    const exportedView = records.find((r) => r.id === viewId);
    expect(exportedView, `the spoed view #${viewId} in the export`).toBeDefined();
    expect(exportedView).toMatchObject({
      action: "read",
      outcome: "success",
      user_name: GYNAECOLOGIST.username,
      user_role: "gynaecoloog",
      organisation_id: "zh-rivierenland",
      bsn: client.bsn,
      ground: "spoed",
    });
    expect(exportedView!.occurred_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(JSON.parse(exportedView!.detail), "the view's detail").toHaveProperty("sources");
    // The same over HTTP with the browser's cookies: an attachment that is never cached.
    const answer = await page.request.get("/audit/export.csv");
    expect(answer.status()).toBe(200);
    expect(answer.headers()["content-type"]).toBe("text/csv; charset=utf-8");
    expect(answer.headers()["content-disposition"]).toBe('attachment; filename="toegangslogboek.csv"');
    expect(answer.headers()["cache-control"]).toBe("no-store");
    expect(parseCsv(await answer.text())[0]).toEqual(EXPORT_COLUMNS);
    // Without a session there is no export.
    const anonymous = await page.request.get("/audit/export.csv", { headers: { cookie: "" } });
    expect(anonymous.status(), "the export without a session").toBe(401);

    // The export is logged too, with the client's BSN.
    await auditPage.goto();
    const exportEvent = auditPage.rowsWithAction("export").first();
    await expect(auditPage.cell(exportEvent, "who")).toContainText(OFFICER.name);
    await expect(auditPage.cell(exportEvent, "bsn")).toHaveText(client.bsn);

    // The officer's view of the log, on a desktop and a tablet.
    await expect(auditPage.grantsOf(GYNAECOLOGIST.name, client.bsn).first()).toBeVisible();
    await screenshot(page, testInfo, "audit-desktop");

    // --- The client overview: who looked at Lotte's data. -----------------------------------
    await auditPage.requestOverview(client.bsn);
    await expect(page).toHaveURL(onPath("/audit/overzicht"));
    await expect(clientOverviewPage.heading).toHaveText("Overzicht van inzage in uw gegevens");
    await expect(clientOverviewPage.fact("BSN")).toHaveText(client.bsn);
    await expect(clientOverviewPage.fact("Periode")).toHaveText(/^\d\d-\d\d-\d{4} tot en met \d\d-\d\d-\d{4}$/);
    const spoedView = clientOverviewPage.emergencyLines
      .filter({ hasText: "Gegevens ingezien" })
      .filter({ hasText: GYNAECOLOGIST.name });
    await expect(spoedView.first(), "the spoed view in the overview").toBeVisible();
    const line = spoedView.first();
    await expect(clientOverviewPage.cell(line, "what")).toHaveText("Gegevens ingezien SPOED");
    await expect(clientOverviewPage.cell(line, "organisation")).toHaveText(GYNAECOLOGIST.organisation);
    await expect(clientOverviewPage.cell(line, "role")).toHaveText(GYNAECOLOGIST.role);
    await expect(clientOverviewPage.cell(line, "name")).toHaveText(GYNAECOLOGIST.name);
    await expect(clientOverviewPage.cell(line, "ground")).toHaveText("Spoed (acute situatie)");
    await expect(clientOverviewPage.cell(line, "categories")).not.toBeEmpty();
    // The spoed request is marked too; her search (no ground) is not.
    await expect(
      clientOverviewPage.emergencyLines.filter({ hasText: "Toegang aangevraagd en gekregen" }).filter({ hasText: GYNAECOLOGIST.name }).first(),
    ).toBeVisible();
    const search = clientOverviewPage.lines.filter({ hasText: "Gezocht op BSN en geboortedatum" }).filter({ hasText: GYNAECOLOGIST.name });
    await expect(search.first()).toBeVisible();
    await expect(search.first()).not.toHaveClass(/\bemergency\b/);
    await expect(clientOverviewPage.overview).toContainText(`door ${OFFICER.name}, privacyfunctionaris van ${GYNAECOLOGIST.organisation}`);
    await expect(clientOverviewPage.printButton).toBeVisible();

    await screenshot(page, testInfo, "overview-desktop");

    // A reload generates the overview again from the session (the BSN is never in the URL).
    await page.reload({ waitUntil: "networkidle" });
    await expect(clientOverviewPage.fact("BSN")).toHaveText(client.bsn);

    // --- Back on the log, she revokes the spoed grant (the next run starts without it). -----
    await clientOverviewPage.backLink.click();
    await expect(page).toHaveURL(onPath("/audit"));
    const grants = auditPage.grantsOf(GYNAECOLOGIST.name, client.bsn);
    await expect(grants.first(), "the gynaecologist's spoed grant for the client").toBeVisible();
    await expect(grants.first().getByRole("cell", { name: "Spoed (acute situatie)", exact: true })).toBeVisible();
    const before = await grants.count();
    await auditPage.revoke(grants.first(), `Spoedsituatie voorbij (e2e ${run})`);
    await expect(page).toHaveURL(onPath("/audit"));
    await expect(grants).toHaveCount(before - 1);

    expect(bsnIn(visitedUrls, client.bsn), "URLs with the BSN in them").toEqual([]);
    expect(failed, "failed requests of the officer's pages and forms").toEqual([]);
  });

  test("the officer's start page answers 200 without failing requests", async ({ page, loginAs }) => {
    const failed = failedRequests(page, () => true);
    await loginAs(OFFICER.username);
    await expect(page.getByRole("link", { name: "Naar het toegangslogboek" })).toBeVisible();
    const home = await page.request.get("/");
    expect(home.status(), "the status of / for the officer").toBe(200);
    expect(failed, "failed requests on the officer's start page").toEqual([]);
  });

  test("the filter refuses a BSN that fails the 11-check, without the BSN in a URL", async ({
    page,
    loginAs,
    auditPage,
    visitedUrls,
  }) => {
    await loginAs(OFFICER.username);
    await auditPage.goto();
    await auditPage.filter({ bsn: "123456789" });
    await expect(page).toHaveURL(onPath("/audit"));
    await expect(auditPage.filterForm.locator("#bsn-probleem")).toContainText("elfproef");
    await expect(page.locator(".form-error[role=alert]").first()).toBeVisible();
    // Nothing is kept: the log stays unfiltered.
    await expect(auditPage.eventsHeading).toHaveText("Gebeurtenissen");
    expect(bsnIn(visitedUrls, "123456789"), "URLs with the BSN in them").toEqual([]);
  });

  test("the overview is refused for a client her organisation neither shares nor treats", async ({
    page,
    loginAs,
    auditPage,
    clientOverviewPage,
    visitedUrls,
  }) => {
    await loginAs(OFFICER.username);
    await auditPage.goto();
    await auditPage.requestOverview(FATIMA_EL_AMRANI.bsn);
    // Refused at the form, on /audit, with the reason beside the BSN field.
    await expect(page).toHaveURL(onPath("/audit"));
    await expect(page.locator("#overview-form")).toContainText("deelt of behandelt deze cliënt niet");
    await expect(clientOverviewPage.overview).toHaveCount(0);
    await expect(page.getByText(FATIMA_EL_AMRANI.name)).toHaveCount(0);
    expect(bsnIn(visitedUrls, FATIMA_EL_AMRANI.bsn), "URLs with the BSN in them").toEqual([]);
  });

  test.describe("on a tablet (768x1024, touch)", () => {
    test.use({ viewport: { width: 768, height: 1024 }, hasTouch: true });

    test("the log filtered by a client fits the tablet", async ({ page, loginAs, auditPage, visitedUrls }, testInfo) => {
      await loginAs(OFFICER.username);
      await auditPage.goto();
      await auditPage.filter({ bsn: LOTTE_DE_GROOT.bsn });
      await expect(auditPage.eventsHeading).toHaveText("Gebeurtenissen (gefilterd)");
      await screenshot(page, testInfo, "audit-tablet");
      expect(await horizontalOverflow(page), "px of horizontal scrolling on /audit").toBe(0);
      // On a tablet each event is a block: nothing (flags, review forms) hides behind a sideways
      // scroll of the table.
      const inner = await page
        .locator(".table-wrap")
        .filter({ has: auditPage.events })
        .evaluateAll((els) => els.map((el) => el.scrollWidth - el.clientWidth));
      expect(inner[0] ?? 0, "px the events table scrolls inside its frame").toBeLessThanOrEqual(1);
      testInfo.annotations.push({ type: "touch targets under 44 px", description: (await smallTouchTargets(page)).join("; ") || "none" });
      expect(bsnIn(visitedUrls, LOTTE_DE_GROOT.bsn), "URLs with the BSN in them").toEqual([]);
    });

    test("the client overview fits the tablet", async ({ page, loginAs, auditPage, clientOverviewPage }, testInfo) => {
      await loginAs(OFFICER.username);
      await auditPage.goto();
      await auditPage.requestOverview(LOTTE_DE_GROOT.bsn);
      await expect(page).toHaveURL(onPath("/audit/overzicht"));
      await expect(clientOverviewPage.fact("BSN")).toHaveText(LOTTE_DE_GROOT.bsn);
      await screenshot(page, testInfo, "overview-tablet");
      expect(await horizontalOverflow(page), "px of horizontal scrolling on /audit/overzicht").toBe(0);
    });
  });
});
