import { expect, test } from "@playwright/test";
import { receivedBy, signUpWithGmail, uniqueEmail } from "./helpers";

test.use({ javaScriptEnabled: false });

test("signup, errors, logout and login all work without JavaScript", async ({ page }) => {
  const email = uniqueEmail("nojs");

  // An error comes back from the server and shows next to its field.
  await page.goto("/signup");
  await page.getByLabel("Name").fill("Hedy Lamarr");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("short");
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page).toHaveURL(/\/signup\?/);
  await expect(page.locator("#field-password-error")).toHaveText("Use at least 8 characters for your password.");

  await page.getByLabel("Name").fill("Hedy Lamarr");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("frequency hopping");
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page).toHaveURL(/\/dashboard$/);
  await expect(page.getByText("Welcome, Hedy.")).toBeVisible();

  await page.getByRole("button", { name: "Log out" }).click();
  await expect(page).toHaveURL(/\/login$/);

  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("wrong password");
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page.getByRole("alert")).toHaveText("That email and password do not match an account.");

  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("frequency hopping");
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page).toHaveURL(/\/dashboard$/);
});

test("connect Gmail, send now and see it sent, all without JavaScript", async ({ page }) => {
  const gmail = await signUpWithGmail(page, "Grace Hopper", "nojs-send", "compilers rule");

  await page.goto("/compose");
  await page.getByLabel("To", { exact: true }).fill("ada@example.com");
  await page.getByLabel("Subject").fill("No script needed");
  await page.getByLabel("Body").fill("Plain forms all the way.");
  await page.getByRole("button", { name: "Send now" }).click();
  await expect(page).toHaveURL(/\/sent\?sending=1$/);
  await expect.poll(async () => (await receivedBy(page, gmail)).length, { timeout: 15_000 }).toBe(1);
  // The page refreshes itself while sending; the row appears once sent.
  await expect(page.getByRole("row", { name: /ada@example.com/ })).toContainText("Sent", { timeout: 15_000 });

  // Settings save without JavaScript too, with errors next to the field.
  await page.goto("/settings");
  await page.getByLabel("Daily sending cap").fill("0");
  await page.getByRole("button", { name: "Save settings" }).click();
  await expect(page.locator("#field-daily_send_cap-error")).toContainText("from 1 to 2000");
  await page.getByLabel("Daily sending cap").fill("250");
  await page.getByLabel("Time zone").fill("Europe/Berlin");
  await page.getByRole("button", { name: "Save settings" }).click();
  await expect(page).toHaveURL(/\/settings\?saved=1$/);
  await expect(page.getByLabel("Daily sending cap")).toHaveValue("250");
  await expect(page.getByLabel("Time zone")).toHaveValue("Europe/Berlin");
});
