import { expect, test } from "@playwright/test";
import { hydrated, signUp, uniqueEmail } from "./helpers";

test("sign up, see your name, log out, log in again", async ({ page }) => {
  const email = uniqueEmail("ada");
  await page.goto("/signup");
  await hydrated(page);
  await page.getByLabel("Name").fill("Ada Lovelace");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("analytical engine");
  await page.getByRole("button", { name: "Create account" }).click();

  await expect(page).toHaveURL(/\/dashboard$/);
  await expect(page.getByRole("heading", { name: "Dashboard" })).toBeVisible();
  await expect(page.getByText("Welcome, Ada.")).toBeVisible();
  await expect(page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Templates" })).toBeVisible();
  await expect(page.locator(".account-wide").getByText("Ada Lovelace")).toBeVisible();

  await page.getByRole("button", { name: "Log out" }).click();
  await expect(page).toHaveURL(/\/login$/);
  // The session is gone on the server: the dashboard is closed again.
  await page.goto("/dashboard");
  await expect(page).toHaveURL(/\/login\?next=%2Fdashboard$/);

  await hydrated(page);
  await page.getByLabel("Email").fill(email.toUpperCase());
  await page.getByLabel("Password").fill("analytical engine");
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page).toHaveURL(/\/dashboard$/);
  await expect(page.getByText("Welcome, Ada.")).toBeVisible();
});

test("a wrong password says so and keeps what was typed", async ({ page }) => {
  const email = uniqueEmail("wrongpw");
  await signUp(page, "Grace Hopper", email, "compiler pioneer");
  await page.getByRole("button", { name: "Log out" }).click();
  await expect(page).toHaveURL(/\/login$/);

  await hydrated(page);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("not my password");
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page.getByRole("alert")).toHaveText("That email and password do not match an account.");
  await expect(page.getByLabel("Email")).toHaveValue(email);
  await expect(page).toHaveURL(/\/login$/);
});

test("an unknown email gets the same message as a wrong password", async ({ page }) => {
  await page.goto("/login");
  await hydrated(page);
  await page.getByLabel("Email").fill(uniqueEmail("nobody"));
  await page.getByLabel("Password").fill("whatever it is");
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page.getByRole("alert")).toHaveText("That email and password do not match an account.");
});

test("a logged-out visit to the dashboard lands on the login page and returns after login", async ({ page }) => {
  const email = uniqueEmail("next");
  await signUp(page, "Katherine Johnson", email, "orbital mechanics");
  await page.getByRole("button", { name: "Log out" }).click();
  await expect(page).toHaveURL(/\/login$/);

  const response = await page.goto("/settings");
  expect(response?.url()).toMatch(/\/login\?next=%2Fsettings$/);
  await expect(page.getByRole("heading", { name: "Log in" })).toBeVisible();
  await hydrated(page);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("orbital mechanics");
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page).toHaveURL(/\/settings$/);
  await expect(page.getByRole("heading", { name: "Settings" })).toBeVisible();
});

test("signup errors appear next to their fields and nothing typed is lost", async ({ page }) => {
  await page.goto("/signup");
  await hydrated(page);
  await page.getByLabel("Name").fill("Alan Turing");
  await page.getByLabel("Email").fill("alan-at-example.com");
  await page.getByLabel("Password").fill("short");
  await page.getByRole("button", { name: "Create account" }).click();

  await expect(page.locator("#field-email-error")).toHaveText("Enter an email address like name@example.com.");
  await expect(page.locator("#field-password-error")).toHaveText("Use at least 8 characters for your password.");
  await expect(page.getByLabel("Name")).toHaveValue("Alan Turing");
  await expect(page.getByLabel("Email")).toHaveValue("alan-at-example.com");
  await expect(page).toHaveURL(/\/signup$/);

  // Fix the mistakes and the account is created.
  await page.getByLabel("Email").fill(uniqueEmail("alan"));
  await page.getByLabel("Password").fill("enigma machine");
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page).toHaveURL(/\/dashboard$/);
});

test("an email that already has an account is refused next to the field", async ({ page, browser }) => {
  const email = uniqueEmail("dup");
  await signUp(page, "First Person", email, "first password");

  const other = await browser.newPage();
  await other.goto("/signup");
  await hydrated(other);
  await other.getByLabel("Name").fill("Second Person");
  await other.getByLabel("Email").fill(`  ${email.toUpperCase()} `);
  await other.getByLabel("Password").fill("second password");
  await other.getByRole("button", { name: "Create account" }).click();
  await expect(other.locator("#field-email-error")).toHaveText(
    "An account with this email already exists. Log in instead.",
  );
  await other.close();
});

test("on a phone the navigation sits behind a menu", async ({ page }) => {
  await page.setViewportSize({ width: 390, height: 844 });
  await signUp(page, "Mary Jackson", uniqueEmail("phone"), "wind tunnels");
  await expect(page.getByRole("navigation", { name: "Main", exact: true })).toBeHidden();
  await page.getByText("Menu").click();
  const menu = page.getByRole("navigation", { name: "Main (menu)" });
  await menu.getByRole("link", { name: "Queue" }).click();
  await expect(page).toHaveURL(/\/queue$/);
  await expect(page.getByRole("heading", { name: "Queue" })).toBeVisible();
});
