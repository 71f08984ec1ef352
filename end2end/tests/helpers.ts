import { expect, Page } from "@playwright/test";

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
