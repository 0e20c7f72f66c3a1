import { expect, test } from "./fixtures/test";

// The browser bundle (issue 15): the app runs as Leptos islands. Pages are server-rendered
// and their forms are plain HTML forms; JavaScript adds the islands bundle (loaded when the
// browser is idle, off the critical path) and passkeys.js. The bundle's size is checked by
// scripts/check-bundle-size.sh in `make test`, not here.

test.describe("the islands bundle", () => {
  test("starts only with JavaScript; every form is a plain HTML form", async ({
    page,
    loginAs,
    homePage,
    javaScriptEnabled,
  }) => {
    const wasm: string[] = [];
    page.on("request", (r) => {
      if (new URL(r.url()).pathname.endsWith(".wasm")) wasm.push(new URL(r.url()).pathname);
    });
    await loginAs("kraamverzorgende");
    wasm.length = 0;
    await homePage.goto();
    await expect(homePage.searchButton).toBeVisible();
    const marked = page.locator("html[data-hydrated]");
    if (javaScriptEnabled) {
      // The hydrate entry marks the document once the wasm has been compiled and started
      // (a panic in it fails the test through the page-error check).
      await expect(marked, "the islands bundle started").toHaveCount(1);
      expect(wasm, "one wasm file, once").toHaveLength(1);
    } else {
      // The <link rel=preload> in <head> may still fetch it (that is HTML, not script), but
      // nothing runs it.
      await expect(marked).toHaveCount(0);
      expect(wasm.length, "at most one wasm file").toBeLessThanOrEqual(1);
    }
    // No wasm takes a form over, so each must work as the browser's own form: an action to
    // post to (server functions under /api/, or the page itself for a GET form).
    const forms = await page
      .locator("form")
      .evaluateAll((all) => all.map((f) => ({ id: f.id || f.className, action: f.getAttribute("action") ?? "" })));
    expect(forms.length, "the start page has forms (search, logout)").toBeGreaterThan(1);
    for (const form of forms) expect(form.action, `the action of form ${form.id}`).not.toBe("");
  });
});
