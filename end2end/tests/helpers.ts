import { expect, Page } from "@playwright/test";
import * as fs from "node:fs";
import * as path from "node:path";

/** A fresh Gmail address (at the fake Google) per test. */
export function uniqueGmail(tag: string): string {
  return uniqueEmail(tag).replace("@example.com", "@gmail.test");
}

/** A fresh address per test, so tests never collide. */
export function uniqueEmail(tag: string): string {
  const rand = Math.random().toString(36).slice(2, 10);
  return `${tag}-${Date.now()}-${rand}@example.com`;
}

/** Waits until the wasm has hydrated the page, so clicks reach Leptos handlers. */
export async function hydrated(page: Page) {
  await page.waitForFunction(() => (window as any).__mm_hydrated === true, null, { timeout: 15_000 });
}

export async function signUp(page: Page, name: string, email: string, password: string) {
  await page.goto("/signup");
  await page.getByLabel("Name").fill(name);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page).toHaveURL(/\/dashboard$/);
}

/** The fake Google the app talks to in these tests (scripts/test starts it). */
export const FAKE_GOOGLE = `http://127.0.0.1:${process.env.E2E_GOOGLE_PORT ?? "3900"}`;

/** What the fake Gmail received from one account, oldest first. */
export async function receivedBy(page: Page, account: string): Promise<any[]> {
  const res = await page.request.get(`${FAKE_GOOGLE}/_fake/messages?email=${encodeURIComponent(account)}`);
  expect(res.ok()).toBeTruthy();
  return res.json();
}

/** Answers the fake Google's consent screen. */
export async function consent(page: Page, email: string, name: string, decision: "Allow" | "Deny" = "Allow") {
  await expect(page.getByRole("heading", { name: "Fake Google" })).toBeVisible();
  await page.getByLabel("Email", { exact: true }).fill(email);
  await page.getByLabel("Name", { exact: true }).fill(name);
  await page.getByRole("button", { name: decision }).click();
}

/** Settings → Connect Gmail → consent, for the logged-in user. */
export async function connectGmail(page: Page, gmail: string) {
  await page.goto("/settings");
  await page.getByRole("button", { name: "Connect Gmail" }).click();
  await consent(page, gmail, "Test Sender");
  await expect(page).toHaveURL(/\/settings\?gmail=connected$/);
  await expect(page.getByText(`Connected as ${gmail}`)).toBeVisible();
}

/** A new password account with Gmail connected; returns the Gmail address. */
export async function signUpWithGmail(page: Page, name: string, tag: string, password: string): Promise<string> {
  await signUp(page, name, uniqueEmail(tag), password);
  const gmail = uniqueGmail(tag);
  await connectGmail(page, gmail);
  return gmail;
}

/**
 * The newest link to `linkPath` ("/verify/", "/reset/") in the server's own
 * mail to `to`, read from the `.eml` files of the system outbox (mail goes in
 * the background, so this waits for it).
 */
export async function mailedLink(to: string, linkPath: string): Promise<string> {
  const dir = process.env.E2E_SYSTEM_OUTBOX;
  if (!dir) throw new Error("E2E_SYSTEM_OUTBOX is not set (scripts/test sets it)");
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const found: { at: number; link: string }[] = [];
    for (const name of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
      if (!name.endsWith(".eml")) continue;
      const file = path.join(dir, name);
      // The body is quoted-printable (lines over 76 characters are): undo
      // the soft line breaks and =XX escapes, as a mail client would.
      const raw = fs
        .readFileSync(file, "utf8")
        .replace(/=\r?\n/g, "")
        .replace(/=([0-9A-F]{2})/g, (_, hex) => String.fromCharCode(parseInt(hex, 16)));
      if (!new RegExp(`^To: .*${to.replace(/[.+]/g, "\\$&")}`, "mi").test(raw)) continue;
      const link = raw.split(/\s+/).find((w) => w.startsWith("http") && w.includes(linkPath));
      if (link) found.push({ at: fs.statSync(file).mtimeMs, link });
    }
    if (found.length > 0) {
      found.sort((a, b) => a.at - b.at);
      return found[found.length - 1].link;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no ${linkPath} link mailed to ${to} in ${dir}`);
}
