import { defineConfig } from "@playwright/test";

// The app under test; `make test` (scripts/test.sh) serves it on the Leptos site address.
const baseURL = process.env.BASE_URL ?? "http://127.0.0.1:3100";

export default defineConfig({
  testDir: "./tests",
  // `make test` starts the server and the tests together: wait for /healthz first.
  globalSetup: "./wait-for-server.mjs",
  timeout: 60_000,
  // One browser at a time: the server's login throttling counts failures per address.
  workers: 1,
  fullyParallel: false,
  retries: process.env.CI ? 1 : 0,
  forbidOnly: !!process.env.CI,
  reporter: [["list"]],
  use: {
    baseURL,
    headless: true,
    trace: "on-first-retry",
    launchOptions: {
      // Debian's Chromium; Playwright's own browser downloads are never used.
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
      ],
    },
  },
  // The same specs twice: server-rendered HTML with plain form posts, and the hydrated app.
  projects: [
    { name: "ssr", use: { javaScriptEnabled: false } },
    { name: "hydrate", use: { javaScriptEnabled: true } },
  ],
});
