// Listing copy end to end in dev mode (FAKE text model and FAKE Shopify): a seller uploads
// 20 photos, sets their brand voice, gets 20 listings, fixes two by hand, exports a CSV,
// connects their store and pushes all 20 as drafts.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { startServer, launch, phonePage, SHOTS, openMenu } from './server.mjs';

const FIXTURES = ['ring.jpg', 'ring-2.jpg'].map((f) => new URL('./fixtures/' + f, import.meta.url).pathname);
let server, browser;
before(async () => { mkdirSync(SHOTS, { recursive: true }); server = await startServer(); browser = await launch(); });
after(async () => { await browser?.close(); server?.stop(); });

test('twenty photos become twenty listings in the brand voice, then Shopify drafts', async () => {
  const page = await phonePage(browser);
  const email = `lakshmi${Date.now()}@example.com`;
  await page.goto(server.base + '/signup');
  await page.getByLabel('Your name').fill('Lakshmi Iyer');
  await page.getByLabel('Email', { exact: true }).fill(email);
  await page.getByLabel('Password').fill('temple jewellery shines');
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.waitForURL('**/dashboard?welcome=1');
  server.grantTokens(email, 100);

  for (let round = 0; round < 2; round++) {
    await page.goto(server.base + '/studio');
    await page.locator('input[type=file][multiple]').setInputFiles(Array.from({ length: 10 }, (_, i) => FIXTURES[i % 2]));
    await page.getByRole('button', { name: 'Upload' }).click();
    await page.waitForURL('**/studio/new?upload=*');
  }

  await page.goto(server.base + '/settings/brand');
  await page.getByLabel('Brand name').fill('Lakshmi Temple Jewels');
  await page.getByLabel(/Banned words/).fill('cheap = affordable');
  await page.getByLabel(/Title format/).fill('{brand} {metal} {type}');
  await page.getByRole('button', { name: 'Save a new version' }).click();
  await page.getByText('Saved.').waitFor();
  assert.match(await page.locator('[data-instructions]').innerText(), /Never use: cheap/);

  await openMenu(page);
  await page.getByRole('link', { name: 'Listings' }).first().click();
  await page.getByRole('button', { name: 'Tick all' }).click();
  assert.match(await page.locator('[data-listing-total]').innerText(), /20 listings: 100 tokens/);
  await page.getByLabel(/Notes for every listing/).fill('Gold-plated silver, adjustable');
  // The first photo is a pendant among rings.
  await page.locator('select[name^=type_]').first().selectOption('pendant');
  await page.screenshot({ path: SHOTS + 'listings-new.png' });
  await page.getByRole('button', { name: 'Write listings' }).click();
  await page.waitForURL('**/listings/*');
  const batchId = new URL(page.url()).pathname.split('/').pop();
  const batch = await (await page.request.get(server.base + '/api/v1/listings/batches/' + batchId)).json();
  assert.deepEqual(batch.listings.map((l) => l.jewellery).filter((k) => k === 'pendant').length, 1, 'its own type');
  await page.getByText('Writing…').waitFor({ state: 'detached', timeout: 90_000 });
  assert.equal(await page.locator('[data-listing][data-status=ready]').count(), 20);
  await page.screenshot({ path: SHOTS + 'listings-batch.png' });

  // Two fixed by hand.
  for (const [i, title] of [[0, 'Lakshmi Temple Jewels Gold Ring with Peacock Motif, Festive'], [1, 'Lakshmi Temple Jewels Gold Ring, Adjustable Band for Daily Wear']]) {
    const card = page.locator('[data-listing]').nth(i);
    await card.getByLabel(/^Title/).fill(title);
    await card.getByRole('button', { name: 'Save' }).click();
    await page.waitForURL('**/listings/*#l-*');
  }
  // A short title of the seller's own is kept as written, with a word about the range.
  const own = page.locator('[data-listing]').nth(2);
  await own.getByLabel(/^Title/).fill('Temple ring');
  await own.getByRole('button', { name: 'Save' }).click();
  await page.waitForURL('**/listings/*#l-*');
  assert.equal(await page.locator('[data-listing]').nth(2).getByLabel(/^Title/).inputValue(), 'Temple ring');
  await page.locator('[data-listing]').nth(2).locator('[data-title-note]').getByText('Your title has 11 characters').waitFor();
  await page.locator('[data-listing]').nth(2).screenshot({ path: SHOTS + 'listings-own-title.png' });
  assert.equal(await page.locator('.pill', { hasText: 'edited' }).count(), 3);

  const [csv] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Export CSV' }).click()]);
  const text = readFileSync(await csv.path(), 'utf8');
  assert.equal(text.trim().split('\n').length, 21, 'a header and 20 rows');
  assert.match(text, /Lakshmi Temple Jewels Gold Ring with Peacock Motif, Festive/);

  await page.goto(server.base + '/settings/shopify');
  const token = await page.locator('[data-dev-token]').innerText();
  await page.getByLabel('Store address').fill('lakshmi-jewels.myshopify.com');
  await page.getByLabel('Admin API access token').fill(token);
  await page.getByRole('button', { name: 'Connect' }).click();
  await page.locator('[data-shop]').filter({ hasText: 'lakshmi-jewels.myshopify.com' }).waitFor();

  await page.goto(server.base + '/listings');
  await page.locator('.rows a').first().click();
  await page.getByRole('button', { name: 'Push to Shopify as drafts' }).click();
  await page.getByText('20 listings on their way to Shopify as drafts.').waitFor();
  await page.locator('[data-pushed]').filter({ hasText: '20 of 20' }).waitFor({ timeout: 90_000 });
  assert.equal(await page.locator('[data-shopify=pushed]').count(), 20);
  await page.screenshot({ path: SHOTS + 'listings-pushed.png' });
});
