import { expect, test } from "@playwright/test";
import { hydrated, signUp, uniqueEmail } from "./helpers";

// The whole of issue 3 in one go: template -> compose for one recipient -> queue ->
// CSV with a bad row -> report -> preview -> queue the good rows -> 4 queued -> delete one.
test("template, one composed message and a CSV merge all land in the queue", async ({ page }) => {
  await signUp(page, "Mary Jackson", uniqueEmail("flow"), "wind tunnels");

  await page.goto("/templates/new");
  await hydrated(page);
  await page.getByLabel("Name").fill("Outreach");
  await page.getByLabel("Subject").fill("Hello {{ first_name }}");
  await page.getByLabel("Body").fill("Hi {{ first_name }}, I love what {{ company }} does.");
  await page.getByRole("button", { name: "Save template" }).click();
  await expect(page).toHaveURL(/\/templates$/);

  await page.goto("/compose");
  await page.getByLabel("Start from a template").selectOption({ label: "Outreach" });
  await page.getByRole("button", { name: "Use this template" }).click();
  await hydrated(page);
  await page.getByLabel("To", { exact: true }).fill("zoe@example.com");
  await page.getByLabel("first_name").fill("Zoe");
  await page.getByLabel("company").fill("Zeta");
  await page.getByRole("button", { name: "Merge and preview" }).click();
  await expect(page.getByRole("article", { name: "Message preview" })).toContainText("Hi Zoe, I love what Zeta does.");
  await page.getByRole("button", { name: "Add to queue" }).click();
  await expect(page).toHaveURL(/\/queue\?queued=1$/);

  await page.goto("/merge");
  await page.getByLabel("Or paste your recipients").fill(
    "email,first_name,company\nada@example.com,Ada,ACME\nnobody,Nobody,Nowhere\nbob@example.com,Bob,Bobcorp\ncy@example.com,Cy,Cyan\n",
  );
  await page.getByRole("button", { name: "Check recipients" }).click();
  await page.getByLabel("Template").selectOption({ label: "Outreach" });
  await page.getByRole("button", { name: "Check recipients" }).click();
  await expect(page.getByText("3 of 4 rows ready")).toBeVisible();
  await expect(page.getByRole("table", { name: "Rows with problems" })).toContainText('"nobody" is not a valid email address.');
  await page.getByLabel("Row to preview").selectOption({ label: "Line 4: bob@example.com" });
  await page.getByRole("button", { name: "Show this row" }).click();
  await expect(page.getByRole("article", { name: "Message preview" })).toContainText("Hi Bob, I love what Bobcorp does.");
  await hydrated(page);
  await page.getByRole("button", { name: "Queue 3 messages" }).click();

  await expect(page).toHaveURL(/\/queue\?queued=3$/);
  await expect(page.getByText("4 queued messages", { exact: true })).toBeVisible();
  await expect(page.locator("table.list tbody tr")).toHaveCount(4);
  await hydrated(page);
  page.once("dialog", (d) => void d.accept());
  await page.getByLabel("Select the message to zoe@example.com").check();
  await page.getByRole("button", { name: "Delete selected" }).click();
  await expect(page.getByText("3 queued messages", { exact: true })).toBeVisible();
  await expect(page.getByText("zoe@example.com")).toHaveCount(0);
});
