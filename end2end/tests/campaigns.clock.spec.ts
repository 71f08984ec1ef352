import { expect, test } from "@playwright/test";
import { consent, FAKE_GOOGLE, hydrated, receivedBy, signUpWithGmail, uniqueEmail } from "./helpers";

// This file moves the server's clock (POST /test/clock), which every test on
// the server shares: the "clock" project runs it after all the others, its
// tests one after another (playwright.config.ts).

async function moveClock(page: import("@playwright/test").Page, seconds: number) {
  const res = await page.request.post(`/test/clock?seconds=${seconds}`, {
    headers: { Origin: new URL(page.url()).origin },
  });
  expect(res.ok(), await res.text()).toBeTruthy();
}

async function newTemplate(page: import("@playwright/test").Page, name: string, subject: string, body: string) {
  await page.goto("/templates/new");
  await hydrated(page);
  await page.getByLabel("Name").fill(name);
  await page.getByLabel("Subject").fill(subject);
  await page.getByLabel("Body").fill(body);
  await page.getByRole("button", { name: "Save template" }).click();
  await expect(page).toHaveURL(/\/templates$/);
}

/** A draft from a CSV with two steps `days` apart, every day, all day; saved. */
async function twoStepDraft(
  page: import("@playwright/test").Page,
  name: string,
  csv: string,
  [first, second]: [string, string],
  days: number,
) {
  await page.goto("/campaigns");
  await expect(page.getByRole("heading", { name: "Campaigns" })).toBeVisible();
  await page.getByLabel("Recipients (CSV file)").setInputFiles({
    name: "people.csv",
    mimeType: "text/csv",
    buffer: Buffer.from(csv),
  });
  await page.getByRole("button", { name: "Create a draft" }).click();
  await expect(page).toHaveURL(/\/campaigns\/[0-9a-f-]+$/);
  await hydrated(page);
  await page.getByLabel("Name").fill(name);
  await page.getByLabel("Step 1: first message").selectOption({ label: first });
  await page.getByLabel("Step 2: follow-up template").selectOption({ label: second });
  await page.getByLabel("Days after the step before").fill(String(days));
  for (const day of ["Saturday", "Sunday"]) {
    await page.getByLabel(day).check();
  }
  await page.getByLabel("From").fill("00:00");
  await page.getByLabel("Until").fill("24:00");
  await page.getByRole("button", { name: "Save settings" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Saved." })).toBeVisible();
}

test("a campaign: plan, start, step 1, a follow-up in the same thread, and a reply marked by hand stops one", async ({ page }) => {
  test.slow();
  const gmail = await signUpWithGmail(page, "Katherine Johnson", "campaign", "orbital mechanics");
  await newTemplate(page, "Intro", "Quick question, {{ first_name }}", "Hi {{ first_name }}, are you hiring?");
  await newTemplate(page, "Nudge", "unused", "Just checking in, {{ first_name }}.");
  const [ada, bob, cy] = [uniqueEmail("ada"), uniqueEmail("bob"), uniqueEmail("cy")];

  // The navigation leads there; the settings: two steps three days apart.
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Campaigns" }).click();
  await expect(page.getByRole("heading", { name: "Campaigns" })).toBeVisible();
  await twoStepDraft(
    page,
    "Hiring managers",
    `email,first_name\n${ada},Ada\n${bob},Bob\n${cy},Cy\nnot-an-address,Dee\n`,
    ["Intro", "Nudge"],
    3,
  );

  // The report and the plan, before anything goes.
  await expect(page.getByText("3 of 4 rows ready")).toBeVisible();
  await expect(page.getByRole("table", { name: "Rows with problems" })).toContainText("not-an-address");
  await expect(page.getByText("6 messages: about 3 a day")).toBeVisible();

  await page.getByRole("button", { name: "Start: 3 recipients" }).click();
  await expect(page.getByText("Started: step 1 is queued for 3 recipients.")).toBeVisible();
  await expect.poll(async () => (await receivedBy(page, gmail)).length, { timeout: 20_000 }).toBe(3);
  // The page moves by itself while it sends.
  await expect(page.getByText("3 of 6 steps sent")).toBeVisible({ timeout: 15_000 });

  // Bob replied: marked by hand, he gets no more steps.
  await page.getByLabel(`${bob} replied`).check();
  await page.getByRole("button", { name: "Mark as replied" }).click();
  await expect(page.getByText("Marked 1 recipient as replied.")).toBeVisible();
  const bobRow = page.getByRole("row", { name: new RegExp(bob) });
  await expect(bobRow).toContainText("Replied");

  // Three days later the follow-ups go, as replies in each first message's thread.
  await moveClock(page, 3 * 86_400 + 60);
  await expect.poll(async () => (await receivedBy(page, gmail)).length, { timeout: 20_000 }).toBe(5);
  const got = await receivedBy(page, gmail);
  for (const to of [ada, cy]) {
    const mine = got.filter((m: any) => m.to.includes(to));
    expect(mine).toHaveLength(2);
    expect(mine[1].threadId).toBe(mine[0].threadId);
    expect(mine[1].subject).toBe(`Re: ${mine[0].subject}`);
    expect(mine[1].text).toContain("Just checking in");
  }
  expect(got.filter((m: any) => m.to.includes(bob))).toHaveLength(1);
  await expect(page.getByText("5 of 5 steps sent")).toBeVisible({ timeout: 15_000 });
  await expect(page.getByRole("row", { name: new RegExp(ada) })).toContainText("Finished");
});

test("stop on reply: turned on in Settings, a reply in the thread ends that recipient's sequence, with its reason", async ({ page }) => {
  test.slow();
  const gmail = await signUpWithGmail(page, "Grace Hopper", "replies", "compilers all the way");
  await page.goto("/settings");
  await expect(page.getByRole("heading", { name: "Stop on reply" })).toBeVisible();
  await expect(page.getByText("never the text of a message")).toBeVisible();
  await page.getByRole("button", { name: "Turn on stop on reply" }).click();
  await consent(page, gmail, "Grace Hopper");
  await expect(page).toHaveURL(/\/settings\?replies=on$/);
  await expect(page.getByRole("status").filter({ hasText: "Stop on reply is on." })).toBeVisible();

  await newTemplate(page, "Hello", "Hello {{ first_name }}", "Hi {{ first_name }}, a question.");
  await newTemplate(page, "Again", "unused", "Following up, {{ first_name }}.");
  const [ann, bob] = [uniqueEmail("ann"), uniqueEmail("bob")];
  await twoStepDraft(page, "Questions", `email,first_name\n${ann},Ann\n${bob},Bob\n`, ["Hello", "Again"], 1);
  const campaign = page.url();
  await page.getByRole("button", { name: "Start: 2 recipients" }).click();
  await expect.poll(async () => (await receivedBy(page, gmail)).length, { timeout: 20_000 }).toBe(2);
  await expect(page.getByText("Stop on reply is on: a reply")).toBeVisible();

  // The first read of the mailbox, once there is something to watch.
  await expect(async () => {
    await page.goto("/settings");
    await expect(page.getByText("Your mailbox was last read")).toBeVisible({ timeout: 1_000 });
  }).toPass({ timeout: 30_000 });

  // Ann answers in her thread.
  const annFirst = (await receivedBy(page, gmail)).find((m: any) => m.to.includes(ann));
  const res = await page.request.post(`${FAKE_GOOGLE}/_fake/mailbox`, {
    data: { email: gmail, thread_id: annFirst.threadId, kind: "reply", from: `Ann <${ann}>` },
  });
  expect(res.ok(), await res.text()).toBeTruthy();

  // A day later only Bob gets the follow-up; Ann's row says why she did not.
  await moveClock(page, 86_400 + 60);
  await expect.poll(async () => (await receivedBy(page, gmail)).length, { timeout: 30_000 }).toBe(3);
  const got = await receivedBy(page, gmail);
  expect(got.filter((m: any) => m.to.includes(ann))).toHaveLength(1);
  expect(got.filter((m: any) => m.to.includes(bob))).toHaveLength(2);
  await page.goto(campaign);
  const annRow = page.getByRole("row", { name: new RegExp(ann) });
  await expect(annRow).toContainText("Replied");
  await expect(annRow).toContainText(`Replied on`);
  await expect(annRow).toContainText(`(${ann.toLowerCase()}): no more steps go to them.`);
});
