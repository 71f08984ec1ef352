import { expect, test } from "@playwright/test";
import { hydrated, signUp, uniqueEmail } from "./helpers";

// Every page sends a Content-Security-Policy with a per-response nonce. Each one
// must still hydrate, and nothing on it may trip the policy.
test("every page hydrates under the Content-Security-Policy with no violation", async ({ page }) => {
  // Fourteen pages, each loaded and hydrated: more than the default guard allows
  // on a busy two-core machine.
  test.slow();
  await page.addInitScript(() => {
    (window as any).__violations = [];
    document.addEventListener("securitypolicyviolation", (e) => {
      (window as any).__violations.push(`${e.violatedDirective} ${e.blockedURI}`);
    });
  });
  const check = async (path: string) => {
    const res = await page.goto(path);
    expect(res?.headers()["content-security-policy"], path).toContain("'nonce-");
    await hydrated(page);
    expect(await page.evaluate(() => (window as any).__violations), path).toEqual([]);
  };
  await check("/");
  await check("/login");
  await check("/signup");
  await signUp(page, "Ada Lovelace", uniqueEmail("csp"), "analytical engine");
  for (const path of [
    "/dashboard",
    "/templates",
    "/templates/new",
    "/compose",
    "/merge",
    "/campaigns",
    "/queue",
    "/sent",
    "/files",
    "/settings",
    "/suppression",
    "/no-such-page",
  ]) {
    await check(path);
  }
  // The live preview (a server function called from the hydrated page) still works.
  await page.goto("/templates/new");
  await hydrated(page);
  await page.getByLabel("Body").fill('Hello {{ name | default("&lt;b&gt;there&lt;/b&gt;") }}');
  await expect(page.locator(".body").getByText('{{ name | default("<b>there</b>") }}')).toBeVisible();
  expect(await page.locator(".body b").count()).toBe(0);
  expect(await page.evaluate(() => (window as any).__violations)).toEqual([]);
});

test("a template using a loop is refused next to the body, naming the line", async ({ page }) => {
  await signUp(page, "Mallory", uniqueEmail("loop"), "analytical engine");
  await page.goto("/templates/new");
  await hydrated(page);
  await page.getByLabel("Name").fill("Loop");
  await page.getByLabel("Subject").fill("Hi");
  await page.getByLabel("Body").fill("Hello\n{% for a in range(100000) %}{{ a }}{% endfor %}");
  await page.getByRole("button", { name: "Save template" }).click();
  await expect(page.locator("#field-body-error")).toContainText("Line 2, column 1: templates cannot use {% for %}");
  await expect(page.getByLabel("Body")).toHaveValue("Hello\n{% for a in range(100000) %}{{ a }}{% endfor %}");
});
