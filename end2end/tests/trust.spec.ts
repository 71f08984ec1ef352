import { expect, test } from "@playwright/test";
import { hydrated, mailedLink, signUp, uniqueEmail } from "./helpers";

// Accounts people can trust (docs/accounts.md): every link is read from the
// .eml the server wrote to its system outbox, and followed in the browser.

test("the mailed link verifies the address and the banner goes", async ({ page }) => {
  const email = uniqueEmail("verify");
  await signUp(page, "Ada Lovelace", email, "analytical engine");
  const banner = page.getByRole("complementary", { name: "Verify your address" });
  await expect(banner).toContainText(`we sent a link to ${email}`);
  await expect(banner).toContainText("outbox/system");
  await expect(banner.getByRole("button", { name: "Send the link again" })).toBeVisible();

  const link = await mailedLink(email, "/verify/");
  await page.goto(link);
  await expect(page.getByRole("heading", { name: "Verify your email address" })).toBeVisible();
  await page.getByRole("button", { name: "Verify my address" }).click();
  await expect(page.getByRole("heading", { name: "Your address is verified" })).toBeVisible();
  await page.getByRole("link", { name: "Go to MailMerger" }).click();
  await expect(page).toHaveURL(/\/dashboard$/);
  await expect(page.getByText("Welcome, Ada.")).toBeVisible();
  await expect(page.getByText("Please verify your email address")).toHaveCount(0);

  // The link works once.
  await page.goto(link);
  await expect(page.getByRole("heading", { name: "This link does not work" })).toBeVisible();
});

test("a forgotten password is reset from the mailed link, which logs out the other browser", async ({ page, browser }) => {
  const email = uniqueEmail("reset");
  await signUp(page, "Grace Hopper", email, "compiler pioneer");
  const other = await browser.newContext();
  const phone = await other.newPage();
  await phone.goto("/login");
  await hydrated(phone);
  await phone.getByLabel("Email").fill(email);
  await phone.getByLabel("Password").fill("compiler pioneer");
  await phone.getByRole("button", { name: "Log in" }).click();
  await expect(phone).toHaveURL(/\/dashboard$/);

  await page.getByRole("button", { name: "Log out" }).first().click();
  await expect(page).toHaveURL(/\/login$/);
  await page.getByRole("link", { name: "Forgot your password?" }).click();
  await page.getByLabel("Email").fill(email);
  await page.getByRole("button", { name: "Send the link" }).click();
  await expect(page.getByRole("heading", { name: "Check your email" })).toBeVisible();
  await expect(page.getByText(`If an account uses ${email}`)).toBeVisible();

  await page.goto(await mailedLink(email, "/reset/"));
  await page.getByLabel("New password").fill("short");
  await page.getByRole("button", { name: "Set new password" }).click();
  await expect(page.getByText("Use at least 8 characters for your password.")).toBeVisible();
  await expect(page.getByLabel("New password")).toHaveAttribute("aria-invalid", "true");
  await page.getByLabel("New password").fill("a brand new password");
  await page.getByRole("button", { name: "Set new password" }).click();
  await expect(page).toHaveURL(/\/login\?reset=done$/);
  await expect(page.getByText("Your password is changed")).toBeVisible();

  await hydrated(page);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("a brand new password");
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page).toHaveURL(/\/dashboard$/);

  await phone.goto("/dashboard");
  await expect(phone).toHaveURL(/\/login\?next=%2Fdashboard$/);
  await other.close();
});

test("Settings lists the sessions and logs out the others", async ({ page, browser }) => {
  const email = uniqueEmail("sessions");
  await signUp(page, "Ada Lovelace", email, "analytical engine");
  const other = await browser.newContext();
  const second = await other.newPage();
  await second.goto("/login");
  await hydrated(second);
  await second.getByLabel("Email").fill(email);
  await second.getByLabel("Password").fill("analytical engine");
  await second.getByRole("button", { name: "Log in" }).click();
  await expect(second).toHaveURL(/\/dashboard$/);

  await page.goto("/settings");
  const sessions = page.getByRole("region", { name: "Sessions" });
  await expect(sessions.getByText("This session")).toBeVisible();
  await expect(sessions.getByRole("listitem")).toHaveCount(2);
  await sessions.getByRole("button", { name: "Log out everywhere else" }).click();
  await expect(page.getByText("You are logged out everywhere else.")).toBeVisible();
  await expect(page.getByRole("region", { name: "Sessions" }).getByRole("listitem")).toHaveCount(1);

  await second.goto("/dashboard");
  await expect(second).toHaveURL(/\/login\?next=%2Fdashboard$/);
  await other.close();
});

test("an admin suspends a user from the Admin page, which logs them out", async ({ page, browser }) => {
  const other = await browser.newContext();
  const user = await other.newPage();
  const email = uniqueEmail("suspended");
  await signUp(user, "Bob Builder", email, "a long password");

  // ADMIN_EMAILS names this address (scripts/test); it counts once verified.
  await signUp(page, "Admin", "admin@e2e.example.com", "a long password");
  await expect(page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Admin" })).toHaveCount(0);
  await page.goto(await mailedLink("admin@e2e.example.com", "/verify/"));
  await page.getByRole("button", { name: "Verify my address" }).click();
  await page.goto("/dashboard");
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Admin" }).click();
  await expect(page.getByRole("heading", { name: "Admin" })).toBeVisible();
  const row = page.getByRole("row").filter({ hasText: email });
  await expect(row).toContainText("not verified");
  await row.getByRole("button", { name: `Suspend ${email}` }).click();
  await expect(page.getByText("Suspended: they are logged out")).toBeVisible();
  await expect(page.getByRole("row").filter({ hasText: email })).toContainText("suspended");

  await user.goto("/dashboard");
  await expect(user).toHaveURL(/\/login\?next=%2Fdashboard$/);
  await hydrated(user);
  await user.getByLabel("Email").fill(email);
  await user.getByLabel("Password").fill("a long password");
  await user.getByRole("button", { name: "Log in" }).click();
  await expect(user.getByText("This account is suspended.")).toBeVisible();

  await page.getByRole("row").filter({ hasText: email }).getByRole("button", { name: `Unsuspend ${email}` }).click();
  await expect(page.getByText("Unsuspended")).toBeVisible();
  await other.close();
});

test("download my data, then delete the account from Settings", async ({ page }) => {
  const email = uniqueEmail("delete");
  await signUp(page, "Dora Deleted", email, "a long password");
  await page.goto("/settings");
  const data = page.getByRole("region", { name: "Your data" });
  const download = page.waitForEvent("download");
  await data.getByRole("link", { name: "Download my data" }).click();
  expect((await download).suggestedFilename()).toMatch(/^mailmerger-data-\d{4}-\d{2}-\d{2}\.zip$/);

  await hydrated(page);
  await data.getByLabel("Your password, to confirm").fill("not my password");
  await data.getByRole("button", { name: "Delete my account" }).click();
  await expect(data.getByText("That is not your password.")).toBeVisible();
  await data.getByLabel("Your password, to confirm").fill("a long password");
  await data.getByRole("button", { name: "Delete my account" }).click();
  await expect(page.getByRole("heading", { name: "Your account is deleted" })).toBeVisible();

  await page.goto("/login");
  await hydrated(page);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("a long password");
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page.getByText("That email and password do not match an account.")).toBeVisible();
});
