// Playwright globalSetup: `make test` starts the server and the tests at the
// same time, so wait until the server answers `/healthz` with 200 (at most 90 seconds).

const DEADLINE_MS = 90_000;
const INTERVAL_MS = 500;

export default async function waitForServer() {
  const base = process.env.BASE_URL ?? "http://127.0.0.1:3100";
  const url = new URL("/healthz", base).toString();
  const deadline = Date.now() + DEADLINE_MS;
  let last = "no answer yet";
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
      if (res.status === 200) return;
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = err?.cause?.code ?? err?.message ?? String(err);
    }
    await new Promise((resolve) => setTimeout(resolve, INTERVAL_MS));
  }
  throw new Error(`server not ready: ${url} did not answer 200 within ${DEADLINE_MS / 1000} s (last: ${last})`);
}
