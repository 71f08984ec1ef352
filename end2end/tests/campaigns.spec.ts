import { expect, test } from "@playwright/test";
import { receivedBy, signUpWithGmail, uniqueEmail } from "./helpers";

// Every campaign form is a plain form first.
test.use({ javaScriptEnabled: false });

test("a campaign without JavaScript: errors next to their fields, start, step 1 sent, a draft discarded", async ({ page }) => {
  // Eleven page loads and a send: 26 s on an idle machine, over the 30 s guard
  // on a loaded one.
  test.slow();
  const gmail = await signUpWithGmail(page, "Dorothy Vaughan", "campaign-nojs", "fortran by hand");
  await page.goto("/templates/new");
  await page.getByLabel("Name").fill("Intro");
  await page.getByLabel("Subject").fill("Hello {{ first_name }}");
  await page.getByLabel("Body").fill("Hi {{ first_name }}, {{ role }}?");
  await page.getByRole("button", { name: "Save template" }).click();
  await expect(page).toHaveURL(/\/templates/);

  await page.goto("/campaigns");
  const ada = uniqueEmail("ada");
  await page.getByLabel("Or paste your recipients").fill(`email,first_name\n${ada},Ada\n`);
  await page.getByRole("button", { name: "Create a draft" }).click();
  await expect(page).toHaveURL(/\/campaigns\/[0-9a-f-]+$/);
  const url = page.url();

  // No template for step 1, and a window that ends before it starts.
  await page.getByLabel("Until").fill("08:00");
  await page.getByRole("button", { name: "Save settings" }).click();
  await expect(page.getByText("Choose the template of the first message.")).toBeVisible();
  await expect(page.getByText("The window must end after it starts, on the same day.")).toBeVisible();

  // A placeholder the CSV has no column for is refused at the edit.
  await page.getByLabel("Step 1: first message").selectOption({ label: "Intro" });
  await page.getByLabel("Until").fill("24:00");
  await page.getByLabel("From").fill("00:00");
  for (const day of ["Saturday", "Sunday"]) {
    await page.getByLabel(day).check();
  }
  await page.getByRole("button", { name: "Save settings" }).click();
  await expect(page.getByText("This template uses {{ role }}, which is not a column of the CSV and has no default.")).toBeVisible();

  // Paste a CSV that has it, in a new draft.
  await page.goto("/campaigns");
  await page.getByLabel("Or paste your recipients").fill(`email,first_name,role\n${ada},Ada,engineer\n`);
  await page.getByRole("button", { name: "Create a draft" }).click();
  await page.getByLabel("Step 1: first message").selectOption({ label: "Intro" });
  await page.getByLabel("Until").fill("24:00");
  await page.getByLabel("From").fill("00:00");
  for (const day of ["Saturday", "Sunday"]) {
    await page.getByLabel(day).check();
  }
  await page.getByRole("button", { name: "Save settings" }).click();
  await expect(page.getByText("Saved.")).toBeVisible();
  await expect(page.getByText("1 of 1 rows ready")).toBeVisible();
  await page.getByRole("button", { name: "Start: 1 recipient" }).click();
  await expect(page.getByText("Started: step 1 is queued for 1 recipient.")).toBeVisible();
  await expect.poll(async () => (await receivedBy(page, gmail)).length, { timeout: 20_000 }).toBe(1);
  // The fake Gmail has the message a moment before the row says so: look again
  // until the page does (a page without JavaScript does not refresh itself).
  const started = page.url();
  await expect(async () => {
    await page.goto(started, { timeout: 10_000 });
    await expect(page.getByText("1 of 1 steps sent")).toBeVisible({ timeout: 2_000 });
  }).toPass({ timeout: 30_000 });
  await expect(page.getByRole("row", { name: new RegExp(ada) })).toContainText("Finished");

  // The first draft is still a draft, and can be discarded.
  await page.goto(url);
  await page.getByRole("button", { name: "Discard the draft" }).click();
  await expect(page.getByText("Cancelled").first()).toBeVisible();
  await page.goto("/campaigns");
  await expect(page.getByRole("table", { name: "Your campaigns" }).getByRole("row")).toHaveCount(3);
});
