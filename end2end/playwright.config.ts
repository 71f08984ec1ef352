import { defineConfig, devices } from "@playwright/test";

// The server is built by `scripts/test` and started here with its own database
// and Redis key prefix (see scripts/test). Playwright cannot download browsers on
// our machines, so it drives Debian's Chromium.
const port = process.env.E2E_PORT ?? "3100";
const baseURL = `http://127.0.0.1:${port}`;
const chromium = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

export default defineConfig({
  testDir: "./tests",
  timeout: 30_000,
  expect: { timeout: 10_000 },
  fullyParallel: true,
  workers: 2,
  forbidOnly: !!process.env.CI,
  retries: 0,
  reporter: [["list"]],
  use: {
    baseURL,
    trace: "retain-on-failure",
    launchOptions: {
      executablePath: chromium,
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    },
  },
  // Files named *.clock.spec.ts move the server's clock, which every test
  // shares: they run after all the others.
  projects: [
    { name: "laptop", testIgnore: /\.clock\.spec\.ts$/, use: { ...devices["Desktop Chrome"], channel: undefined } },
    {
      name: "clock",
      testMatch: /\.clock\.spec\.ts$/,
      dependencies: ["laptop"],
      // One after another: each moves the clock the other sees.
      fullyParallel: false,
      use: { ...devices["Desktop Chrome"], channel: undefined },
    },
  ],
  // The fake Google first (the app is configured to use it), then the app.
  webServer: process.env.E2E_SERVER_CMD
    ? [
        {
          command: process.env.E2E_GOOGLE_CMD ?? "false",
          url: `http://127.0.0.1:${process.env.E2E_GOOGLE_PORT ?? "3900"}/_fake/stats`,
          reuseExistingServer: false,
          timeout: 30_000,
          stdout: "pipe",
          stderr: "pipe",
        },
        {
          command: process.env.E2E_SERVER_CMD,
          url: `${baseURL}/healthz`,
          reuseExistingServer: false,
          timeout: 60_000,
          stdout: "pipe",
          stderr: "pipe",
        },
      ]
    : undefined,
});
