// Time from navigation to hydrated on a slow phone, for scripts/bench
// (BENCH_PARTS=hydration): Debian's Chromium through Playwright, throttled with
// the DevTools protocol to about 1.6 Mbps down, 750 kbps up, 150 ms round trip
// and a 4x slower CPU, with an empty cache each run. "Hydrated" is the moment
// the wasm sets `window.__mm_hydrated` (src/lib.rs), read from a setter put in
// place before the page's scripts run, as `performance.now()` since navigation
// start. Bytes are what crossed the (throttled) network, compressed as sent.
//
//   BASE=http://127.0.0.1:3200 COOKIE=<mm_session value, for pages behind the login> RUNS=5 \
//     node scripts/hydration.mjs /compose /templates/new
//
// Prints one line a page: "<path> <median ms> <min ms> <max ms> <median bytes>".
import { createRequire } from "node:module";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, "..", "end2end", "package.json"));
const { chromium } = require("@playwright/test");

const base = process.env.BASE;
const cookie = process.env.COOKIE;
const runs = Number(process.env.RUNS ?? 5);
const pages = process.argv.slice(2);
if (!base || pages.length === 0) {
  console.error("usage: BASE=... [COOKIE=...] node scripts/hydration.mjs PATH...");
  process.exit(2);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking"],
});

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function once(pagePath) {
  const context = await browser.newContext();
  if (cookie) await context.addCookies([{ name: "mm_session", value: cookie, url: base }]);
  await context.addInitScript(() => {
    let value;
    Object.defineProperty(window, "__mm_hydrated", {
      configurable: true,
      get: () => value,
      set: (v) => {
        value = v;
        window.__mm_hydrated_at = performance.now();
      },
    });
  });
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send("Network.enable");
  await cdp.send("Network.setCacheDisabled", { cacheDisabled: true });
  await cdp.send("Network.emulateNetworkConditions", {
    offline: false,
    latency: 150,
    downloadThroughput: (1.6 * 1000 * 1000) / 8,
    uploadThroughput: (750 * 1000) / 8,
  });
  await cdp.send("Emulation.setCPUThrottlingRate", { rate: 4 });
  let bytes = 0;
  cdp.on("Network.loadingFinished", (e) => {
    bytes += e.encodedDataLength;
  });
  const response = await page.goto(base + pagePath, { waitUntil: "commit", timeout: 120_000 });
  if (!response || response.status() !== 200) {
    throw new Error(`${pagePath} answered ${response ? response.status() : "nothing"}`);
  }
  if (!new URL(page.url()).pathname.startsWith(pagePath)) {
    throw new Error(`${pagePath} went to ${page.url()} (not logged in?)`);
  }
  await page.waitForFunction(() => window.__mm_hydrated === true, null, { timeout: 120_000, polling: 100 });
  const ms = await page.evaluate(() => window.__mm_hydrated_at);
  // Let the last responses report their sizes.
  await page.waitForLoadState("networkidle", { timeout: 30_000 }).catch(() => {});
  await context.close();
  return { ms, bytes };
}

try {
  for (const p of pages) {
    const results = [];
    for (let i = 0; i < runs; i++) results.push(await once(p));
    const ms = results.map((r) => r.ms);
    console.log(
      `${p} ${median(ms).toFixed(0)} ${Math.min(...ms).toFixed(0)} ${Math.max(...ms).toFixed(0)} ${median(results.map((r) => r.bytes))}`,
    );
  }
} finally {
  await browser.close();
}
