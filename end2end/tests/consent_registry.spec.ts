import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { JOYCE_KRAMER, maskedBsn } from "./fixtures/demo";
import { expect, onPath, test } from "./fixtures/test";

// The client's national consent choice (DESIGN 8.3) as a gynaecologist sees it. A test
// registry is registered with the command line and sends profiles as the national registry
// would (`ooievaar registry push`); every read applies them. Joyce Kramer is shared by all
// three demo organisations: a verloskundigenpraktijk, a ziekenhuis and a kraamzorg.

const KEYS = fileURLToPath(new URL("../../server/tests/fixtures/keys", import.meta.url));
const REGISTRY = "mitz-e2e";
const DE_WIEG = "Verloskundigenpraktijk De Wieg";
const RIVIERENLAND = "Ziekenhuis Rivierenland, Verloskunde";
const KRAAMHOEK = "Kraamzorg De Kraamhoek";

function ooievaar(args: string[]): { ok: boolean; out: string } {
  const bin = process.env.OOIEVAAR_BIN;
  if (!bin) throw new Error("OOIEVAAR_BIN is not set (scripts/test.sh sets it)");
  try {
    return { ok: true, out: execFileSync(bin, args, { encoding: "utf8", stdio: "pipe" }) };
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string };
    return { ok: false, out: `${err.stdout ?? ""}${err.stderr ?? ""}` };
  }
}

/** Sends Joyce's profile as the registry: `all`, `none`, or `selected` with these options. */
function profile(baseURL: string, choice: string, ...options: string[]) {
  const sent = ooievaar([
    "registry", "push", "--registry", REGISTRY, "--key", `${KEYS}/es256-c.pem`, "--url", baseURL,
    "--bsn", JOYCE_KRAMER.bsn, "--choice", choice, ...options,
  ]);
  expect(sent.ok, sent.out).toBe(true);
}

test.beforeAll(() => {
  // Registered once for both projects; the second registration is refused by name.
  const added = ooievaar(["registry", "add", "--id", REGISTRY, "--public-key", `${KEYS}/es256-c.pub.pem`]);
  expect(added.ok || added.out.includes("bestaat al"), added.out).toBe(true);
});

test.afterEach(({ baseURL }) => {
  // Whatever happened, Joyce is visible to everyone again for the other tests.
  profile(baseURL!, "all");
});

test("the registry's choice decides which organisations' data a gynaecologist sees", async ({
  page,
  baseURL,
  loginAs,
  homePage,
  clientPage,
}) => {
  await loginAs("gynaecoloog");
  await homePage.search(JOYCE_KRAMER.bsn, JOYCE_KRAMER.birthDate);
  await expect(homePage.result).toContainText(maskedBsn(JOYCE_KRAMER));
  const clientPath = (await homePage.resultLink.getAttribute("href"))!;
  await homePage.resultLink.click();
  await clientPage.requestAccess("behandelrelatie");
  await expect(clientPage.name).toHaveText(JOYCE_KRAMER.name);
  const data = clientPage.sections;
  await expect(data.filter({ hasText: DE_WIEG }).first()).toBeVisible();
  await expect(data.filter({ hasText: RIVIERENLAND }).first()).toBeVisible();

  // Only hospitals: the practice's and the kraamzorg's data disappear, without a word about them.
  profile(baseURL!, "selected", "--kind", "ziekenhuis");
  await page.goto(clientPath);
  await expect(clientPage.name).toHaveText(JOYCE_KRAMER.name);
  await expect(data.filter({ hasText: RIVIERENLAND }).first()).toBeVisible();
  await expect(data.filter({ hasText: DE_WIEG })).toHaveCount(0);
  await expect(data.filter({ hasText: KRAAMHOEK })).toHaveCount(0);
  await expect(page.locator("main")).not.toContainText(DE_WIEG);

  // Only her own midwife's practice, by organisation.
  profile(baseURL!, "selected", "--organisation", "vp-de-wieg");
  await page.goto(clientPath);
  await expect(data.filter({ hasText: DE_WIEG }).first()).toBeVisible();
  await expect(data.filter({ hasText: RIVIERENLAND })).toHaveCount(0);

  // None: she is not found, and her page shows nothing, as for a client who is not there.
  profile(baseURL!, "none");
  await page.goto(clientPath);
  await expect(clientPage.header).toHaveCount(0);
  await expect(page.locator("main")).not.toContainText(JOYCE_KRAMER.name);
  await page.goto("/");
  await homePage.search(JOYCE_KRAMER.bsn, JOYCE_KRAMER.birthDate);
  await expect(homePage.result).toContainText("Geen cliënt gevonden");

  // All again: the grant she held still stands and everything is back.
  profile(baseURL!, "all");
  await page.goto(clientPath);
  await expect(page).toHaveURL(onPath(clientPath));
  await expect(clientPage.name).toHaveText(JOYCE_KRAMER.name);
  await expect(data.filter({ hasText: DE_WIEG }).first()).toBeVisible();
  await expect(data.filter({ hasText: RIVIERENLAND }).first()).toBeVisible();
  await clientPage.endGrant();
});
