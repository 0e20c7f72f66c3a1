import { maskedBsn, type DemoClient } from "./fixtures/demo";
import { SpoedFollowUp } from "./fixtures/spoed";
import { expect, onPath, test } from "./fixtures/test";

// The follow-up of a spoed access (issue 14, item 7; "informeer achteraf"). A maternity nurse
// (Kraamhoek, which does not share the client) opens a client's record with spoed: her client
// page then carries a standing notice until she marks "gedaan". The start page of a midwife of
// De Wieg (which shares the client) lists the access until she marks it seen.
//
// Both projects run against the same database, one after the other: each uses its own client
// (used by no other spec), a reason unique to the run, and ends its grant at the end (also
// after a failure, below), so a later run starts from "Toegang aanvragen" again.

/** Shared by De Wieg and Rivierenland only; used by no other spec. */
const CLIENTS: Record<string, DemoClient> = {
  ssr: { bsn: "999990056", birthDate: "1993-06-08", name: "Mirjam van Dijk" },
  hydrate: { bsn: "999990135", birthDate: "1989-12-14", name: "Ingrid Schouten" },
};
const HOLDER = { username: "kraamverzorgende", name: "Dewi Visser", organisation: "Kraamzorg De Kraamhoek" };
const SHARING_USER = "verloskundige";

/** The client whose grant the running test requested and has not ended yet. */
let openGrant: string | undefined;

test.afterEach(async ({ page }) => {
  if (openGrant === undefined) return;
  const clientId = openGrant;
  openGrant = undefined;
  await page.request.post("/api/end_grant", { form: { client_id: clientId }, maxRedirects: 0 });
});

test("after a spoed access the holder informs the client and a sharing organisation marks it seen", async ({
  page,
  javaScriptEnabled,
  loginAs,
  homePage,
  clientPage,
  shell,
}, testInfo) => {
  test.setTimeout(120_000);
  const client = CLIENTS[testInfo.project.name] ?? CLIENTS.ssr;
  const reason = `Acuut overgenomen tijdens kraambed, dossier nodig (e2e ${testInfo.project.name} ${Date.now()})`;
  const spoed = new SpoedFollowUp(page, javaScriptEnabled);

  // --- The maternity nurse opens the record with spoed. ---------------------------------
  await loginAs(HOLDER.username);
  await homePage.search(client.bsn, client.birthDate);
  await expect(homePage.result).toContainText(maskedBsn(client));
  await expect(homePage.resultLink).toHaveText("Toegang aanvragen");
  await homePage.resultLink.click();
  await expect(clientPage.accessHeading).toBeVisible();
  openGrant = new URL(page.url()).pathname.split("/").pop();
  await clientPage.requestAccess("spoed", reason);
  await expect(clientPage.name, "the client page").toHaveText(client.name);

  // The standing notice: she viewed the client with spoed and must inform her afterwards.
  // (Opened once more: the notice is about a view that was logged.)
  await page.reload({ waitUntil: "networkidle" });
  await expect(spoed.notice).toBeVisible();
  await expect(spoed.notice).toContainText("U heeft deze cliënt met spoed ingezien");
  await expect(spoed.notice).toContainText("Informeer haar achteraf over deze inzage.");
  await expect(spoed.notice, "a Dutch date, no ISO date").not.toContainText(/\d{4}-\d{2}-\d{2}/);
  await spoed.markInformed();
  await expect(page).toHaveURL(onPath(`/clients/${openGrant}`));
  await expect(clientPage.name).toHaveText(client.name);
  await expect(spoed.notice, "gone after 'gedaan'").toHaveCount(0);
  // Still gone when the page is opened again.
  await page.reload({ waitUntil: "networkidle" });
  await expect(clientPage.name).toHaveText(client.name);
  await expect(spoed.notice).toHaveCount(0);

  // Her grant ends; the follow-up at the sharing organisations does not depend on it.
  await clientPage.endGrant();
  await expect(page).toHaveURL(onPath("/"));
  openGrant = undefined;
  await shell.logout();
  await expect(page).toHaveURL(onPath("/login"));

  // --- A midwife of De Wieg (which shares the client) sees it on her start page. --------
  await loginAs(SHARING_USER);
  await homePage.goto();
  await expect(spoed.listHeading).toBeVisible();
  const item = spoed.item(reason);
  await expect(item).toHaveCount(1);
  await expect(item).toContainText(client.name);
  await expect(item).toContainText(HOLDER.name);
  await expect(item).toContainText(HOLDER.organisation);
  await expect(item, "the birth date in Dutch format").toContainText(client.birthDate.split("-").reverse().join("-"));
  await expect(item, "no ISO date").not.toContainText(/\d{4}-\d{2}-\d{2}/);
  await spoed.markSeen(item);
  await expect(page).toHaveURL(onPath("/"));
  await expect(spoed.item(reason), "gone after 'gezien'").toHaveCount(0);
  await homePage.goto();
  await expect(spoed.item(reason)).toHaveCount(0);
});
