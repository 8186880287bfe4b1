// The main flow: a new seller uploads a photo, picks Amazon + Etsy + Instagram with the
// cost shown, watches progress, sees the results with their marketplace checks, downloads
// one, and finds the charge in the ledger.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { startServer, launch, phonePage, SHOTS } from './server.mjs';

const PHOTO = new URL('./fixtures/ring.jpg', import.meta.url).pathname;
let server, browser;
before(async () => { mkdirSync(SHOTS, { recursive: true }); server = await startServer(); browser = await launch(); });
after(async () => { await browser?.close(); server?.stop(); });

test('upload a ring photo and get a marketplace pack', async () => {
  const page = await phonePage(browser);
  await page.goto(server.base + '/signup');
  await page.getByLabel('Your name').fill('Kavya Rao');
  await page.getByLabel('Email', { exact: true }).fill(`kavya${Date.now()}@example.com`);
  await page.getByLabel('Password').fill('sapphire studs shine');
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.waitForURL('**/dashboard?welcome=1');
  assert.match(await page.locator('.balance').innerText(), /20/);

  await page.getByRole('link', { name: 'Open the studio' }).click();
  await page.locator('input[type=file]').setInputFiles(PHOTO);
  await page.getByRole('button', { name: 'Upload' }).click();
  await page.waitForURL('**/studio/new?upload=*');
  await page.getByText('1 token').first().waitFor();
  await page.getByLabel('Etsy').check();
  await page.getByLabel('Instagram square').check();
  await page.screenshot({ path: SHOTS + 'studio-choose.png', fullPage: true });
  await page.getByRole('button', { name: 'Make images' }).click();
  await page.waitForURL('**/creations/*');
  await page.getByText('Done — 3 images, 3 tokens').waitFor({ timeout: 60_000 });
  assert.equal(await page.getByText('Passes the marketplace checks').count(), 3);
  await page.screenshot({ path: SHOTS + 'studio-results.png', fullPage: true });

  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Download' }).first().click()]);
  assert.match(download.suggestedFilename(), /^soraipixel-amazon-1\.jpg$/);

  await page.goto(server.base + '/tokens');
  assert.equal((await page.getByTestId('balance').innerText()).trim(), '17');
  assert.equal(await page.getByText('Image made').count(), 3);
});
