import { expect, test } from "@playwright/test";
import { hydrated, signUp, uniqueEmail } from "./helpers";

test("write a template, see its placeholders live, edit, duplicate and delete it", async ({ page }) => {
  await signUp(page, "Ada Lovelace", uniqueEmail("tpl"), "analytical engine");
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Templates" }).click();
  await expect(page.getByRole("heading", { name: "Templates" })).toBeVisible();
  await page.getByRole("link", { name: "Write your first template" }).click();
  await expect(page).toHaveURL(/\/templates\/new$/);
  await hydrated(page);

  const keys = page.getByRole("complementary", { name: "Placeholders" });
  await expect(keys.getByText("None yet")).toBeVisible();
  await page.getByLabel("Name").fill("Follow-up");
  await page.getByLabel("Subject").fill("Lovely to meet you, {{ First_Name }}");
  await expect(keys.getByText("first_name")).toBeVisible();
  await page.getByLabel("Body").fill('Dear {{ first_name }},\n\nThanks for your time at **{{ company | default("your team") }}**.');
  await expect(keys.locator("code")).toHaveText(["first_name", "company"]);

  await page.getByRole("button", { name: "Save template" }).click();
  await expect(page).toHaveURL(/\/templates$/);
  const row = page.getByRole("row", { name: /Follow-up/ });
  await expect(row).toContainText("Lovely to meet you, {{ First_Name }}");
  await expect(row.locator("code")).toHaveText(["first_name", "company"]);

  // A syntax error is shown at its line, and nothing is lost.
  await row.getByRole("link", { name: "Follow-up", exact: true }).click();
  await expect(page.getByLabel("Name")).toHaveValue("Follow-up");
  await hydrated(page);
  await page.getByLabel("Body").fill("Hello\n{{ first_name ");
  await page.getByRole("button", { name: "Save template" }).click();
  await expect(page.locator("#field-body-error")).toContainText("line 2");
  await expect(page.getByLabel("Body")).toHaveValue("Hello\n{{ first_name ");
  await page.getByLabel("Body").fill("Hello {{ first_name }}");
  await page.getByRole("button", { name: "Save template" }).click();
  await expect(page).toHaveURL(/\/templates$/);

  await page.getByRole("button", { name: "Duplicate Follow-up" }).click();
  await expect(page.getByRole("row", { name: /Copy of Follow-up/ })).toBeVisible();
  await expect(page.getByText("2 templates")).toBeVisible();

  await page.getByRole("link", { name: "Delete Copy of Follow-up" }).click();
  await expect(page.getByText("This deletes 1 template")).toBeVisible();
  await page.getByRole("button", { name: "Delete template" }).click();
  await expect(page).toHaveURL(/\/templates$/);
  await expect(page.getByText("1 template", { exact: true })).toBeVisible();
  await expect(page.getByRole("row", { name: /Copy of Follow-up/ })).toHaveCount(0);
});

test("the formatting toolbar edits the Markdown and the live preview shows it", async ({ page }) => {
  await signUp(page, "Ada Lovelace", uniqueEmail("toolbar"), "analytical engine");
  await page.goto("/templates/new");
  await hydrated(page);
  const body = page.getByLabel("Body");
  await body.fill("Thanks for your time");
  await body.evaluate((el: HTMLTextAreaElement) => el.setSelectionRange(16, 20));
  const toolbar = page.getByRole("toolbar", { name: "Formatting" });
  await toolbar.getByRole("button", { name: "Bold" }).click();
  await expect(body).toHaveValue("Thanks for your **time**");
  await expect(page.locator(".live-preview strong")).toHaveText("time");

  await body.fill("one\ntwo");
  await body.evaluate((el: HTMLTextAreaElement) => el.setSelectionRange(0, 7));
  await toolbar.getByRole("button", { name: "Numbered list" }).click();
  await expect(body).toHaveValue("1. one\n2. two");
  await expect(page.locator(".live-preview ol li")).toHaveText(["one", "two"]);
});
