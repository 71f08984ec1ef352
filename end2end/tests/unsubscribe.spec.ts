import { expect, test } from "@playwright/test";
import { receivedBy, signUpWithGmail, uniqueEmail } from "./helpers";

// The recipient's side and the sender's list, both as plain forms.
test.use({ javaScriptEnabled: false });

test("a recipient unsubscribes from the link; the sender's list shows it and Write email refuses the address", async ({ page, browser }) => {
  const gmail = await signUpWithGmail(page, "Mary Jackson", "unsub", "wind tunnel data");
  const recipient = uniqueEmail("reader");

  await page.goto("/compose");
  await page.getByLabel("To", { exact: true }).fill(recipient);
  await page.getByLabel("Subject").fill("Hello");
  await page.getByLabel("Body").fill("Hello.\n\nNot for you? {{ unsubscribe_url }}");
  await page.getByRole("button", { name: "Send now" }).click();
  await expect.poll(async () => (await receivedBy(page, gmail)).length, { timeout: 15_000 }).toBe(1);
  const [m] = await receivedBy(page, gmail);
  const link = m.text.match(/https?:\/\/\S+\/u\/[A-Za-z0-9_-]+/)?.[0];
  expect(link, m.text).toBeTruthy();

  // The recipient has no account and no cookie; opening the link changes nothing.
  const stranger = await browser.newPage();
  await stranger.goto(link!);
  await expect(stranger.getByText("Stop getting email from Mary Jackson?")).toBeVisible();
  await page.goto("/suppression");
  await expect(page.getByText("Nobody is on the list.")).toBeVisible();
  await stranger.getByRole("button", { name: "Unsubscribe" }).click();
  await expect(stranger.getByRole("heading", { name: "You are unsubscribed" })).toBeVisible();
  await stranger.close();

  await page.goto("/suppression");
  const row = page.getByRole("row", { name: new RegExp(recipient) });
  await expect(row).toContainText("Unsubscribed");

  // Writing to them again is refused next to the field.
  await page.goto("/compose");
  await page.getByLabel("To", { exact: true }).fill(recipient);
  await page.getByLabel("Subject").fill("Again");
  await page.getByLabel("Body").fill("Hello again.");
  await page.getByRole("button", { name: "Add to queue" }).click();
  await expect(page.getByText(`${recipient} unsubscribed on`)).toBeVisible();

  // Removing the entry says what that means.
  await page.goto("/suppression");
  await page.getByRole("button", { name: `Remove ${recipient} from the list` }).click();
  await expect(page.getByRole("status")).toHaveText(`Removed ${recipient}. Your messages can reach it again.`);
  await page.getByLabel("Email address").fill("not an address");
  await page.getByRole("button", { name: "Add to the list" }).click();
  await expect(page.getByText("Enter an email address like name@example.com.")).toBeVisible();
  await expect(page.getByLabel("Email address")).toHaveValue("not an address");
});
