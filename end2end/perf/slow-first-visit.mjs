// A maternity nurse's first visit of a client page on a slow mobile network (issue 15, item 5).
//
// Run by hand against a running server (not part of `make test`: timings depend on the
// machine), for example after `make run`:
//
//   cd end2end && node perf/slow-first-visit.mjs
//
// Environment: BASE_URL (default http://127.0.0.1:3000), OOIEVAAR_USER (default
// kraamverzorgende), CHROMIUM_PATH (default /usr/bin/chromium), RUNS (default 3; the report
// gives each run and the median).
//
// It logs in (password, then the demo account's authenticator code), finds the demo client
// Joyce Kramer by BSN and birth date, requests access once when needed, and then opens her
// client page in a fresh browser context (cold HTTP cache, only the session cookie carried over)
// at 768x1024 with Chromium's network throttled to "Slow 4G" (150 ms round trip, 1.6 Mbit/s
// down, 750 kbit/s up) and the CPU slowed 4x, both through the DevTools protocol. It reports:
//   - LCP (largest-contentful-paint, buffered);
//   - network idle: the end of the last response of the page load (the moment the issue calls
//     "hydrated"), and how long the wasm took to arrive;
//   - hydrated: the moment the wasm has started and hydrated the islands (the hydrate entry
//     marks <html data-hydrated>), when the page loads a wasm at all;
//   - bytes transferred (as on the wire, compressed, headers included) per type.
// Logging in and searching are not throttled: only the measured page load is.

import { createHash, createHmac } from "node:crypto";
import { chromium } from "playwright-core";

const BASE_URL = process.env.BASE_URL ?? "http://127.0.0.1:3000";
const USER = process.env.OOIEVAAR_USER ?? "kraamverzorgende";
const PASSWORD = "ooievaar-demo-2026";
const CLIENT = { bsn: "999990032", birthDate: "1991-04-06" }; // Joyce Kramer (demo seed)
const RUNS = Number(process.env.RUNS ?? 3);
const SLOW_4G = {
  offline: false,
  latency: 150, // ms round trip
  downloadThroughput: (1.6 * 1000 * 1000) / 8, // 200,000 bytes/s
  uploadThroughput: (750 * 1000) / 8, // 93,750 bytes/s
};
const CPU_SLOWDOWN = 4;
const VIEWPORT = { width: 768, height: 1024 };
const ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"];

/** The demo account's authenticator code for a 30-second step (RFC 6238), from the fixed demo
 * secret of `ooievaar demo seed` (the same as `ooievaar demo code <username>` prints). */
function demoCode(username, step) {
  const secret = createHash("sha256").update(`ooievaar demo authenticator ${username}`).digest().subarray(0, 20);
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = createHmac("sha1", secret).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  return ((mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000).toString().padStart(6, "0");
}

async function submit(page, form, button) {
  await Promise.all([page.waitForNavigation({ waitUntil: "load" }), page.locator(form).getByRole("button", { name: button }).click()]);
}

/** Logs in and returns the client page's URL (requesting access once when she has none). */
async function prepare(context) {
  const page = await context.newPage();
  await page.goto(`${BASE_URL}/login`, { waitUntil: "load" });
  await page.fill("#username", USER);
  await page.fill("#password", PASSWORD);
  await submit(page, "#login-form", "Inloggen");
  if (new URL(page.url()).pathname !== "/login/code") throw new Error(`after the password: ${page.url()} (wrong password or locked?)`);
  // A code is accepted once; the server also accepts the next step, so try now and now+1, then
  // wait for the clock.
  for (let attempt = 0; new URL(page.url()).pathname === "/login/code"; attempt++) {
    if (attempt >= 4) throw new Error("the second step refused every code");
    const step = Math.floor(Date.now() / 30_000) + (attempt % 2);
    if (attempt === 2) await page.waitForTimeout(30_000);
    await page.fill("#code", demoCode(USER, step));
    await submit(page, "#code-form", "Bevestigen");
  }
  await page.fill("#bsn", CLIENT.bsn);
  await page.fill("#birth_date", CLIENT.birthDate);
  await submit(page, "#search-form", "Zoeken");
  const link = page.locator("[data-testid=search-result] a");
  const href = await link.getAttribute("href");
  if (!href) throw new Error("the demo client was not found (run on a database with `ooievaar demo seed`)");
  const url = new URL(href, BASE_URL).toString();
  await page.goto(url, { waitUntil: "load" });
  if (await page.locator("#access-form").count()) {
    await page.selectOption("#ground", "behandelrelatie");
    await page.check("input[name=attest]");
    await submit(page, "#access-form", "Toegang aanvragen");
  }
  if (!(await page.locator("header.client-header").count())) throw new Error(`no client page at ${page.url()}`);
  await page.close();
  return url;
}

const kind = (type, url) => {
  const path = new URL(url).pathname;
  if (path.endsWith(".wasm")) return "wasm";
  if (path.endsWith(".js")) return "js";
  if (path.endsWith(".css")) return "css";
  if (type === "Document") return "html";
  return type.toLowerCase();
};

async function measure(browser, storageState, url) {
  // A new context: an empty HTTP cache, only the session cookie of the login.
  const context = await browser.newContext({ viewport: VIEWPORT, storageState });
  const page = await context.newPage();
  // Records when the hydrate entry marks the page as hydrated (before any page script runs).
  // (On the document: when init scripts run, its <html> element may not exist yet.)
  await page.addInitScript(() => {
    new MutationObserver((_, observer) => {
      if (document.documentElement?.hasAttribute("data-hydrated")) {
        window.__hydratedAt = performance.now();
        observer.disconnect();
      }
    }).observe(document, { subtree: true, attributes: true, attributeFilter: ["data-hydrated"] });
  });
  const cdp = await context.newCDPSession(page);
  await cdp.send("Network.enable");
  await cdp.send("Network.emulateNetworkConditions", SLOW_4G);
  await cdp.send("Emulation.setCPUThrottlingRate", { rate: CPU_SLOWDOWN });
  const requests = new Map();
  cdp.on("Network.responseReceived", (e) => {
    requests.set(e.requestId, { url: e.response.url, type: e.type, encoding: e.response.headers["content-encoding"] ?? e.response.headers["Content-Encoding"] ?? "" });
  });
  cdp.on("Network.loadingFinished", (e) => {
    const r = requests.get(e.requestId);
    if (r) r.bytes = e.encodedDataLength;
  });
  const response = await page.goto(url, { waitUntil: "networkidle", timeout: 120_000 });
  if (!response?.ok()) throw new Error(`the client page answered ${response?.status()}`);
  if (new URL(page.url()).pathname !== new URL(url).pathname) throw new Error(`sent to ${page.url()} (session lost?)`);
  // Give a late hydration (islands hydrate when the browser is idle) a moment.
  await page.waitForFunction(() => window.__hydratedAt !== undefined || !document.querySelector("link[rel=modulepreload]"), null, { timeout: 10_000 }).catch(() => {});
  const timing = await page.evaluate(async () => {
    const lcp = await new Promise((resolve) => {
      new PerformanceObserver((list) => {
        const entries = list.getEntries();
        resolve(entries[entries.length - 1].startTime);
      }).observe({ type: "largest-contentful-paint", buffered: true });
      setTimeout(() => resolve(null), 2_000);
    });
    const nav = performance.getEntriesByType("navigation")[0];
    const resources = performance.getEntriesByType("resource");
    const wasm = resources.find((r) => r.name.endsWith(".wasm"));
    return {
      lcp,
      domContentLoaded: nav.domContentLoadedEventEnd,
      load: nav.loadEventEnd,
      networkIdle: Math.max(nav.responseEnd, ...resources.map((r) => r.responseEnd)),
      wasm: wasm ? { start: wasm.startTime, end: wasm.responseEnd } : null,
      hydrated: window.__hydratedAt ?? null,
    };
  });
  const bytes = {};
  for (const r of requests.values()) {
    const k = kind(r.type, r.url);
    bytes[k] = bytes[k] ?? { bytes: 0, requests: 0, encodings: new Set() };
    bytes[k].bytes += r.bytes ?? 0;
    bytes[k].requests += 1;
    if (r.encoding) bytes[k].encodings.add(r.encoding);
  }
  await context.close();
  return { ...timing, bytes };
}

const ms = (v) => (v === null || v === undefined ? "n/a" : `${Math.round(v)} ms`);
const median = (values) => {
  const v = values.filter((x) => x !== null && x !== undefined).sort((a, b) => a - b);
  return v.length ? v[Math.floor((v.length - 1) / 2)] : null;
};

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium", args: ARGS });
try {
  const login = await browser.newContext({ viewport: VIEWPORT });
  const url = await prepare(login);
  const storageState = await login.storageState();
  await login.close();
  console.log(`client page: ${new URL(url).pathname} as ${USER}; Slow 4G (150 ms, 1.6 Mbit/s down, 750 kbit/s up), CPU ${CPU_SLOWDOWN}x slower, ${VIEWPORT.width}x${VIEWPORT.height}, cold cache`);
  const runs = [];
  for (let i = 0; i < RUNS; i++) {
    const r = await measure(browser, storageState, url);
    runs.push(r);
    const wasm = r.wasm ? `, wasm arrived ${ms(r.wasm.start)}..${ms(r.wasm.end)}` : ", no wasm";
    console.log(`run ${i + 1}: LCP ${ms(r.lcp)}, DOMContentLoaded ${ms(r.domContentLoaded)}, load ${ms(r.load)}, network idle ${ms(r.networkIdle)}, hydrated ${ms(r.hydrated)}${wasm}`);
  }
  console.log(`median: LCP ${ms(median(runs.map((r) => r.lcp)))}, network idle ${ms(median(runs.map((r) => r.networkIdle)))}, hydrated ${ms(median(runs.map((r) => r.hydrated)))}`);
  console.log("bytes transferred (compressed, headers included), first run:");
  let total = 0;
  for (const [k, v] of Object.entries(runs[0].bytes).sort()) {
    total += v.bytes;
    console.log(`  ${k.padEnd(6)} ${String(v.bytes).padStart(9)} B in ${v.requests} request(s)${v.encodings.size ? ` (${[...v.encodings].join(", ")})` : ""}`);
  }
  console.log(`  total  ${String(total).padStart(9)} B`);
} finally {
  await browser.close();
}
