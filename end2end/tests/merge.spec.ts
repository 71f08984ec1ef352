import { expect, test } from "@playwright/test";
import { hydrated, signUp, uniqueEmail } from "./helpers";

test("merge a CSV: report the bad row, preview a row, queue the good ones, delete one", async ({ page }) => {
  await signUp(page, "Grace Hopper", uniqueEmail("merge"), "compiler pioneer");

  // A template with two placeholders.
  await page.goto("/templates/new");
  await hydrated(page);
  await page.getByLabel("Name").fill("Cold intro");
  await page.getByLabel("Subject").fill("Quick question, {{ first_name }}");
  await page.getByLabel("Body").fill("Hi {{ first_name }},\n\nI admire the work at **{{ company }}**.");
  await page.getByRole("button", { name: "Save template" }).click();
  await expect(page).toHaveURL(/\/templates$/);

  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Mail merge" }).click();
  await expect(page.getByRole("heading", { name: "Mail merge" })).toBeVisible();
  await page.getByLabel("CSV file").setInputFiles({
    name: "leads.csv",
    mimeType: "text/csv",
    buffer: Buffer.from(
      "Email,First Name,Company\r\n" +
        "ada@example.com,Ada,Analytical Engines\r\n" +
        "bob-at-example.com,Bob,Widgets\r\n" +
        "carol@example.com,Carol,\"Initech, Inc.\"\r\n" +
        "dan@example.com,Dan,Dunder & Mifflin\r\n",
    ),
  });
  await page.getByRole("button", { name: "Check recipients" }).click();
  await expect(page).toHaveURL(/\/merge\/[0-9a-f-]+$/);
  await expect(page.getByText("leads.csv")).toBeVisible();

  await page.getByLabel("Template").selectOption({ label: "Cold intro" });
  await expect(page.getByLabel("Email column")).toHaveValue("email");
  await page.getByRole("button", { name: "Check recipients" }).click();

  await expect(page.getByText("3 of 4 rows ready")).toBeVisible();
  const bad = page.getByRole("table", { name: "Rows with problems" });
  await expect(bad.getByRole("row")).toHaveCount(2);
  await expect(bad).toContainText("3");
  await expect(bad).toContainText('"bob-at-example.com" is not a valid email address.');

  const preview = page.getByRole("article", { name: "Message preview" });
  await expect(preview).toContainText("ada@example.com");
  await expect(preview).toContainText("Quick question, Ada");
  await page.getByLabel("Row to preview").selectOption({ label: "Line 5: dan@example.com" });
  await page.getByRole("button", { name: "Show this row" }).click();
  await expect(preview).toContainText("Quick question, Dan");
  await expect(preview.locator(".body strong")).toHaveText("Dunder & Mifflin");
  await preview.getByText("Plain-text version").click();
  await expect(preview.locator(".text-part")).toContainText("I admire the work at Dunder & Mifflin.");

  await hydrated(page);
  await page.getByRole("button", { name: "Queue 3 messages" }).click();
  await expect(page).toHaveURL(/\/queue\?queued=3$/);
  await expect(page.getByRole("status").filter({ hasText: "Queued 3 messages." })).toBeVisible();
  await expect(page.getByText("3 queued messages", { exact: true })).toBeVisible();
  const rows = page.locator("table.list tbody tr");
  await expect(rows).toHaveCount(3);

  await hydrated(page);
  await page.getByLabel("Select the message to carol@example.com").check();
  await expect(page.getByText("1 selected of 3 queued")).toBeVisible();
  // Deleting asks first, and says how many.
  let asked = "";
  page.once("dialog", (dialog) => {
    asked = dialog.message();
    void dialog.accept();
  });
  await page.getByRole("button", { name: "Delete selected" }).click();
  await expect(page.getByText("2 queued messages", { exact: true })).toBeVisible();
  await expect(rows).toHaveCount(2);
  await expect(page.getByText("carol@example.com")).toHaveCount(0);
  expect(asked).toBe("Delete 1 queued message? It will not be sent.");
});
