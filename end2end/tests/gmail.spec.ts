import { expect, test } from "@playwright/test";
import { FAKE_GOOGLE, consent, hydrated, receivedBy, signUpWithGmail, uniqueGmail } from "./helpers";

test("sign in with Google on a fresh account", async ({ page }) => {
  const gmail = uniqueGmail("google");
  await page.goto("/login");
  await page.getByRole("button", { name: "Sign in with Google" }).click();
  await consent(page, gmail, "Mary Jackson");
  await expect(page).toHaveURL(/\/dashboard$/);
  await expect(page.locator(".greeting")).toHaveText("Welcome, Mary.");
  await expect(page.locator(".who-email").first()).toHaveText(gmail);
});

test("a denied Google consent comes back with a message", async ({ page }) => {
  await page.goto("/login");
  await page.getByRole("button", { name: "Sign in with Google" }).click();
  await consent(page, "nobody@gmail.test", "Nobody", "Deny");
  await expect(page).toHaveURL(/\/login\?google=denied$/);
  await expect(page.getByRole("alert")).toHaveText("You cancelled signing in with Google.");
});

test("connect Gmail from Settings on a password account", async ({ page }) => {
  const gmail = await signUpWithGmail(page, "Christine Darden", "connect", "supersonic booms");
  await expect(page.getByText("Permissions granted:")).toContainText("gmail.send");
  await expect(page.getByRole("button", { name: "Disconnect Gmail" })).toBeVisible();
});

test("write an email, send it now, and Gmail receives exactly that message", async ({ page }) => {
  const gmail = await signUpWithGmail(page, "Annie Easley", "send", "rocket software");

  await page.goto("/compose");
  await hydrated(page);
  await page.getByLabel("To", { exact: true }).fill("grace@example.com");
  await page.getByLabel("Subject").fill("Launch window");
  await page.getByLabel("Body").fill("Hello **Grace**, the window opens at dawn.");
  await page.getByRole("button", { name: "Send now" }).click();
  await expect(page).toHaveURL(/\/sent\?sending=1$/);

  await expect.poll(async () => (await receivedBy(page, gmail)).length, { timeout: 15_000 }).toBe(1);
  const [m] = await receivedBy(page, gmail);
  expect(m.to).toEqual(["grace@example.com"]);
  expect(m.from).toEqual([gmail]);
  expect(m.subject).toBe("Launch window");
  expect(m.contentType).toBe("multipart/alternative");
  expect(m.html.trim()).toBe("<p>Hello <strong>Grace</strong>, the window opens at dawn.</p>");
  expect(m.text.trim()).toBe("Hello Grace, the window opens at dawn.");
  // Sent with our Message-ID, which Gmail replaces with its own; our
  // X-MailMerger-Id is the same as the Message-ID's left-hand side.
  expect(m.sentMessageId).toMatch(/^<[0-9a-f-]{36}@127\.0\.0\.1>$/);
  expect(m.messageId).not.toContain("127.0.0.1");
  expect(m.sentMessageId).toBe(`<${m.mailmergerId}@127.0.0.1>`);

  await expect(page.getByText("1 sent")).toBeVisible({ timeout: 15_000 });
  await page.goto("/sent");
  const row = page.getByRole("row", { name: /grace@example.com/ });
  await expect(row).toContainText("Launch window");
  await expect(row).toContainText("Sent");
  await expect(row).toContainText(m.id);
  await expect(row.getByRole("link", { name: "Open in Gmail" })).toHaveAttribute("href", `https://mail.google.com/mail/u/0/#all/${m.id}`);
});

test("queue five, send all, and the progress reaches five sent", async ({ page }) => {
  const gmail = await signUpWithGmail(page, "Dorothy Vaughan", "batch", "fortran for all");

  // Five messages for tomorrow, queued the way the Write email form does.
  const tomorrow = new Date(Date.now() + 36 * 3600 * 1000).toISOString().slice(0, 16);
  for (let i = 1; i <= 5; i++) {
    const res = await page.request.post("/api/compose/queue", {
      headers: { Origin: new URL(page.url()).origin, Accept: "application/json" },
      form: { "message[to]": `r${i}@example.com`, "message[subject]": `Batch ${i}`, "message[body]": "Hello.", "message[when]": "later", "message[send_at]": tomorrow },
    });
    expect(res.status()).toBe(200);
  }
  await page.goto("/queue");
  await expect(page.getByText("5 queued messages", { exact: true })).toBeVisible();
  expect(await receivedBy(page, gmail)).toHaveLength(0);

  // Gmail answers slowly, so the page opens before anything is sent and must
  // update by itself.
  await page.request.post(`${FAKE_GOOGLE}/_fake/delay`, { data: { ms: 1500 } });
  try {
    await hydrated(page);
    await page.getByRole("button", { name: "Send all 5 now" }).click();
    await expect(page).toHaveURL(/\/queue\?sending=\d+$/);
    const progress = page.getByRole("region", { name: /Sending/ });
    await expect(progress.getByText("5 remaining")).toBeVisible();
    await hydrated(page);
    await page.evaluate(() => ((window as any).__same_page = true));
    await expect(progress.getByText("5 sent")).toBeVisible({ timeout: 20_000 });
    await expect(progress.getByText("0 remaining")).toBeVisible();
    await expect(progress.getByRole("heading")).toHaveText("Sending finished");
    expect(await page.evaluate(() => (window as any).__same_page)).toBe(true);
    await expect(page.getByText("Nothing is queued.")).toBeVisible();
  } finally {
    await page.request.post(`${FAKE_GOOGLE}/_fake/delay`, { data: { ms: 0 } });
  }
  expect((await receivedBy(page, gmail)).map((m: any) => m.subject).sort()).toEqual(
    ["Batch 1", "Batch 2", "Batch 3", "Batch 4", "Batch 5"],
  );
});

test("while the queue sends, what is being typed on the page is kept", async ({ page }) => {
  await signUpWithGmail(page, "Annie Easley", "typing", "centaur rocket");
  const tomorrow = new Date(Date.now() + 36 * 3600 * 1000).toISOString().slice(0, 16);
  for (let i = 1; i <= 3; i++) {
    const res = await page.request.post("/api/compose/queue", {
      headers: { Origin: new URL(page.url()).origin, Accept: "application/json" },
      form: { "message[to]": `t${i}@example.com`, "message[subject]": `Typed ${i}`, "message[body]": "Hello.", "message[when]": "later", "message[send_at]": tomorrow },
    });
    expect(res.status()).toBe(200);
  }
  await page.goto("/queue");
  await page.request.post(`${FAKE_GOOGLE}/_fake/delay`, { data: { ms: 1500 } });
  try {
    await hydrated(page);
    await page.getByRole("button", { name: "Send all 3 now" }).click();
    await expect(page).toHaveURL(/\/queue\?sending=\d+$/);
    await hydrated(page);
    const progress = page.getByRole("region", { name: /Sending/ });
    await expect(progress.getByText("3 remaining")).toBeVisible();
    // The page refreshes itself every second, but not the part being typed in.
    const when = page.getByLabel(/New time/);
    await when.fill("2030-01-02T10:30");
    await page.waitForTimeout(3_500);
    await expect(when).toHaveValue("2030-01-02T10:30");
    await expect(when).toBeFocused();
    // Done typing: the page catches up.
    await when.blur();
    await expect(progress.getByText("3 sent")).toBeVisible({ timeout: 20_000 });
    await expect(page.getByText("Nothing is queued.")).toBeVisible();
  } finally {
    await page.request.post(`${FAKE_GOOGLE}/_fake/delay`, { data: { ms: 0 } });
  }
});
