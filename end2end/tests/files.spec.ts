import { expect, test } from "@playwright/test";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { hydrated, receivedBy, signUp, signUpWithGmail, uniqueEmail } from "./helpers";

/** A small PDF with some random bytes, so every run uploads different content. */
function pdf(): Buffer {
  const noise = Array.from({ length: 2000 }, () => Math.floor(Math.random() * 36).toString(36)).join("");
  return Buffer.from(`%PDF-1.4\n1 0 obj <</Type /Catalog>> endobj\n% ${noise}\ntrailer <</Root 1 0 R>>\n%%EOF\n`);
}

const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");

test("upload a resume, include it, send now: Gmail gets the same PDF", async ({ page }) => {
  const gmail = await signUpWithGmail(page, "Katherine Johnson", "resume", "orbital mechanics");

  const resume = pdf();
  await page.goto("/files");
  await page.getByLabel("Resume (PDF)").setInputFiles({ name: "Katherine Johnson CV.pdf", mimeType: "application/pdf", buffer: resume });
  await page.getByRole("button", { name: "Upload resume" }).click();
  await expect(page.getByRole("status")).toHaveText("Saved your resume “Katherine Johnson CV.pdf”.");
  await expect(page.getByRole("button", { name: "Replace resume" })).toBeVisible();

  // The download is the upload, byte for byte, under its name.
  await hydrated(page);
  const [download] = await Promise.all([
    page.waitForEvent("download"),
    page.getByRole("link", { name: "Download Katherine Johnson CV.pdf" }).click(),
  ]);
  expect(download.suggestedFilename()).toBe("Katherine Johnson CV.pdf");
  expect(sha256(readFileSync(await download.path()))).toBe(sha256(resume));

  await page.goto("/compose");
  await hydrated(page);
  await page.getByLabel("To", { exact: true }).fill("dorothy@example.com");
  await page.getByLabel("Subject").fill("My application");
  await page.getByLabel("Body").fill("Please find my resume attached.");
  await page.getByLabel(/^Include resume \(Katherine Johnson CV\.pdf/).check();
  await page.getByRole("button", { name: "Send now" }).click();
  await expect(page).toHaveURL(/\/sent\?sending=1$/);

  await expect.poll(async () => (await receivedBy(page, gmail)).length, { timeout: 15_000 }).toBe(1);
  const [m] = await receivedBy(page, gmail);
  expect(m.contentType).toBe("multipart/mixed");
  expect(m.text.trim()).toBe("Please find my resume attached.");
  expect(m.attachments).toHaveLength(1);
  expect(m.attachments[0].filename).toBe("Katherine Johnson CV.pdf");
  expect(m.attachments[0].contentType).toBe("application/pdf");
  expect(m.attachments[0].sha256).toBe(sha256(resume));
});

test("a file that is not a PDF is refused next to the resume field, without JavaScript too", async ({ browser }) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await signUp(page, "Mary Jackson", uniqueEmail("notpdf"), "wind tunnel data");
  await page.goto("/files");
  await page.getByLabel("Resume (PDF)").setInputFiles({
    name: "resume.pdf",
    mimeType: "application/pdf",
    buffer: Buffer.from("\x89PNG\r\n\x1a\n this is an image", "binary"),
  });
  await page.getByRole("button", { name: "Upload resume" }).click();
  const field = page.locator(".field", { has: page.getByLabel("Resume (PDF)") });
  await expect(field.locator(".field-error")).toHaveText(
    "“resume.pdf” is not a PDF: its content is a PNG image. Files are checked by what they contain, not by their name.",
  );
  await expect(page.getByText("No resume yet.")).toBeVisible();

  // An attachment, then deleting it.
  await page.getByLabel("Add an attachment").setInputFiles({ name: "notes.txt", mimeType: "text/plain", buffer: Buffer.from("Zoë's notes\n") });
  await page.getByRole("button", { name: "Upload attachment" }).click();
  await expect(page.getByRole("status")).toHaveText("Saved “notes.txt”.");
  await page.getByRole("button", { name: "Delete notes.txt" }).click();
  await expect(page.getByRole("status")).toHaveText("Deleted “notes.txt”.");
  await expect(page.getByText("No attachments yet.")).toBeVisible();
  await context.close();
});

test("a file over the size limit is refused with a message, with and without JavaScript", async ({ browser }) => {
  // Two sign-ups and two 11 MB files handed to the browser.
  test.slow();
  const big = Buffer.alloc(11 * 1024 * 1024, "x");
  const message = "That file is larger than 10 MB, the most one file may be. Make it smaller (for a PDF, export it again with smaller images) and upload it again.";
  for (const javaScriptEnabled of [true, false]) {
    const context = await browser.newContext({ javaScriptEnabled });
    const page = await context.newPage();
    await signUp(page, "Dorothy Vaughan", uniqueEmail("big"), "fortran for all");
    await page.goto("/files");
    if (javaScriptEnabled) await hydrated(page);
    await page.getByLabel("Resume (PDF)").setInputFiles({ name: "scan.pdf", mimeType: "application/pdf", buffer: big });
    const field = page.locator(".field", { has: page.getByLabel("Resume (PDF)") });
    if (javaScriptEnabled) {
      // Caught in the browser: nothing is sent.
      await expect(field.locator(".field-error")).toHaveText(message);
      await page.getByRole("button", { name: "Upload resume" }).click();
      await expect(page).toHaveURL(/\/files$/);
    } else {
      await page.getByRole("button", { name: "Upload resume" }).click();
      await expect(page).toHaveURL(/\/files\?error=/);
      await expect(field.locator(".field-error")).toHaveText(message);
    }
    await expect(page.getByText("No resume yet.")).toBeVisible();
    await context.close();
  }
});

test("a CSV merge attaches each row's file; a row naming a missing file is reported", async ({ page }) => {
  const gmail = await signUpWithGmail(page, "Grace Hopper", "csvfiles", "compiler pioneer");

  const portfolio = pdf();
  await page.goto("/files");
  await page.getByLabel("Add an attachment").setInputFiles({ name: "Portfolio.pdf", mimeType: "application/pdf", buffer: portfolio });
  await page.getByRole("button", { name: "Upload attachment" }).click();
  await expect(page.getByRole("status")).toHaveText("Saved “Portfolio.pdf”.");

  await page.goto("/templates/new");
  await hydrated(page);
  await page.getByLabel("Name").fill("With portfolio");
  await page.getByLabel("Subject").fill("Hello {{ first_name }}");
  await page.getByLabel("Body").fill("My portfolio is attached, {{ first_name }}.");
  await page.getByRole("button", { name: "Save template" }).click();
  await expect(page).toHaveURL(/\/templates$/);

  await page.goto("/merge");
  await page.getByLabel("Or paste your recipients").fill(
    "email,first_name,attachment\nada@example.com,Ada,portfolio.pdf\nbob@example.com,Bob,missing.pdf\n",
  );
  await page.getByRole("button", { name: "Check recipients" }).click();
  await expect(page).toHaveURL(/\/merge\/[0-9a-f-]+$/);
  await page.getByLabel("Template").selectOption({ label: "With portfolio" });
  await expect(page.getByLabel("Attachment column")).toHaveValue("attachment");
  await page.getByRole("button", { name: "Check recipients" }).click();

  await expect(page.getByText("1 of 2 rows ready")).toBeVisible();
  const bad = page.getByRole("table", { name: "Rows with problems" });
  await expect(bad).toContainText("bob@example.com");
  await expect(bad).toContainText("No attachment is called “missing.pdf”. Upload it on the Files page, or correct the name.");
  const preview = page.getByRole("article", { name: "Message preview" });
  await expect(preview).toContainText("Portfolio.pdf");

  await hydrated(page);
  await page.getByRole("button", { name: "Queue 1 message" }).click();
  await expect(page).toHaveURL(/\/queue\?queued=1$/);

  await expect.poll(async () => (await receivedBy(page, gmail)).length, { timeout: 15_000 }).toBe(1);
  const [m] = await receivedBy(page, gmail);
  expect(m.to).toEqual(["ada@example.com"]);
  expect(m.subject).toBe("Hello Ada");
  expect(m.attachments.map((a: any) => a.filename)).toEqual(["Portfolio.pdf"]);
  expect(m.attachments[0].sha256).toBe(sha256(portfolio));
});
