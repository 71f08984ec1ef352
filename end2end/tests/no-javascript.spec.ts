import { expect, test } from "@playwright/test";
import { uniqueEmail } from "./helpers";

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
