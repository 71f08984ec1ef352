import { expect, test } from "@playwright/test";
import { hydrated, signUp, uniqueEmail } from "./helpers";

test("write an email from a template, preview the merge, queue it, then edit it", async ({ page }) => {
  await signUp(page, "Katherine Johnson", uniqueEmail("compose"), "orbital mechanics");
  await page.goto("/templates/new");
  await hydrated(page);
  await page.getByLabel("Name").fill("Thank you");
  await page.getByLabel("Subject").fill("Thanks, {{ first_name }}");
  await page.getByLabel("Body").fill("Dear {{ first_name }},\n\nThank you for the tour of **{{ company }}**.");
  await page.getByRole("button", { name: "Save template" }).click();
  await expect(page).toHaveURL(/\/templates$/);

  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Write email" }).click();
  await page.getByLabel("Start from a template").selectOption({ label: "Thank you" });
  await page.getByRole("button", { name: "Use this template" }).click();
  await expect(page.getByLabel("Subject")).toHaveValue("Thanks, {{ first_name }}");
  await hydrated(page);

  await page.getByLabel("To", { exact: true }).fill("dorothy@example.com");
  await page.getByLabel("first_name").fill("Dorothy");
  await page.getByRole("button", { name: "Merge and preview" }).click();
  // company has no value yet: the preview says so.
  await expect(page.locator(".preview-pane").getByRole("alert")).toContainText("Fill in company");
  await page.getByLabel("company").fill("Langley & Co");
  await page.getByRole("button", { name: "Merge and preview" }).click();
  const preview = page.getByRole("article", { name: "Message preview" });
  await expect(preview).toContainText("Thanks, Dorothy");
  await expect(preview.locator(".body strong")).toHaveText("Langley & Co");

  await page.getByRole("button", { name: "Add to queue" }).click();
  await expect(page).toHaveURL(/\/queue\?queued=1$/);
  await expect(page.getByText("Queued 1 message.")).toBeVisible();
  const row = page.getByRole("row", { name: /dorothy@example.com/ });
  await expect(row).toContainText("Thanks, Dorothy");

  await row.getByRole("link", { name: "Edit the message to dorothy@example.com" }).click();
  await expect(page.getByLabel("company")).toHaveValue("Langley & Co");
  await hydrated(page);
  await page.getByLabel("company").fill("NASA");
  await page.getByRole("button", { name: "Save changes" }).click();
  await expect(page).toHaveURL(/\/queue\?saved=1$/);
  await expect(page.getByText("Saved your changes.")).toBeVisible();
  await expect(page.getByText("1 queued message", { exact: true })).toBeVisible();
});
