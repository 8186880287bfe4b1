// The cloud engine in dev mode (FAKE Gemini/OpenAI/fal servers that render with the local
// engine): a visitor's free watermarked preview, then a seller's theme pack with design-match
// scores, one shot made again, model shots and a try-on, each charged as quoted.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { startServer, launch, phonePage, SHOTS, signUp } from './server.mjs';

const RING = new URL('./fixtures/ring.jpg', import.meta.url).pathname;
const PERSON = new URL('./fixtures/ring-2.jpg', import.meta.url).pathname;
let server, browser;
before(async () => { mkdirSync(SHOTS, { recursive: true }); server = await startServer(); browser = await launch(); });
after(async () => { await browser?.close(); server?.stop(); });

const done = (page, text) => page.getByText(text).waitFor({ timeout: 90_000 });

/** A new seller on `srv` with `tokens` more, the ring photo uploaded, on Create with AI. */
async function sellerAtCreateWithAi(page, srv, name, email, tokens) {
  await signUp(page, srv.base, name, email, 'emerald jhumka glow');
  srv.grantTokens(email, tokens);
  await page.goto(srv.base + '/studio');
  await page.locator('input[type=file][multiple]').setInputFiles(RING);
  await page.getByRole('button', { name: 'Upload' }).click();
  await page.waitForURL('**/studio/new?upload=*');
  await page.getByRole('link', { name: 'Create with AI →' }).click();
  await page.waitForURL('**/studio/ai?upload=*');
}

test('a visitor gets one free watermarked preview', async () => {
  const page = await phonePage(browser);
  await page.goto(server.base + '/try');
  await page.locator('input[type=file]').setInputFiles(RING);
  await page.getByText('Midnight black velvet').click();
  await page.getByRole('button', { name: 'Make my free preview' }).click();
  await page.waitForURL('**/try/*');
  const preview = page.locator('img[data-preview]');
  await preview.waitFor({ timeout: 60_000 });
  assert.ok(await preview.evaluate((img) => img.complete && img.naturalWidth > 0 && img.naturalWidth <= 768));
  assert.match(await page.locator('figcaption').innerText(), /design match \d+\/100/);
  await page.screenshot({ path: SHOTS + 'try-preview.png', fullPage: true });
  // The device keeps its trial token: a second preview today is refused.
  await page.goto(server.base + '/try');
  await page.locator('input[type=file]').setInputFiles(RING);
  await page.getByRole('button', { name: 'Make my free preview' }).click();
  await page.getByRole('alert').filter({ hasText: "today's free preview" }).waitFor();
});

test('a seller makes a theme pack, model shots and a try-on', async () => {
  const page = await phonePage(browser);
  await sellerAtCreateWithAi(page, server, 'Meera Shah', `meera${Date.now()}@example.com`, 100);
  const scenes = page.locator('#scenes');
  await scenes.getByText('Rose petal').click();
  await scenes.getByLabel('Flat lay').check();
  assert.match(await scenes.locator('[data-ai-total]').innerText(), /Chosen shots: 16 tokens · pack: 24 tokens/);
  await page.screenshot({ path: SHOTS + 'ai-choose.png', fullPage: true });
  await scenes.getByRole('button', { name: 'Make the pack' }).click();
  await page.waitForURL('**/creations/*');
  await done(page, 'Done — 3 images, 24 tokens.');
  assert.equal(await page.locator('[data-fidelity]').count(), 3);
  assert.match(await page.locator('[data-fidelity]').first().innerText(), /Design match \d+\/100/);
  assert.match(await page.locator('[data-detection]').innerText(), /We saw 1 piece/);
  await page.screenshot({ path: SHOTS + 'ai-pack.png', fullPage: true });

  await page.getByRole('button', { name: 'Make this shot again' }).first().click();
  await page.waitForURL('**/creations/*');
  await done(page, 'Done — 1 image, 8 tokens.');

  const photo = await page.locator('.compare img.before').getAttribute('src');
  const upload = photo.split('/')[4];
  await page.goto(`${server.base}/studio/ai?upload=${upload}`);
  const models = page.locator('#models');
  await models.getByLabel('Outfit').selectOption('lehenga');
  await models.getByLabel('Seated').check();
  assert.match(await models.locator('[data-ai-total]').innerText(), /Cost: 16 tokens \(8 per pose\)/);
  await models.getByRole('button', { name: 'Make model shots' }).click();
  await done(page, 'Done — 2 images, 16 tokens.');

  await page.goto(`${server.base}/studio/ai?upload=${upload}`);
  const tryOn = page.locator('#try-on');
  await tryOn.getByLabel('A photo of the person').setInputFiles(PERSON);
  await tryOn.getByLabel(/I have this person's consent/).check();
  await tryOn.getByRole('button', { name: 'Make the try-on' }).click();
  await done(page, 'Done — 1 image, 8 tokens.');
  await page.screenshot({ path: SHOTS + 'ai-try-on.png', fullPage: true });
  assert.match(await page.locator('.balance').innerText(), /64/, '120 − 24 − 8 − 16 − 8');
});

test('an AI image that cannot be made says why, charges nothing, and is made on a retry', async () => {
  // Its own server, whose FAKE models distort the next three images (one shot and both retries).
  const failing = await startServer({ SORAIPIXEL_DEV_FAKE_AI_SCRIPT: 'distort,distort,distort' });
  try {
    const page = await phonePage(browser);
    await sellerAtCreateWithAi(page, failing, 'Kavya Iyer', `kavya${Date.now()}@example.com`, 30);
    const scenes = page.locator('#scenes');
    await scenes.getByText('Rose petal').click();
    await scenes.getByRole('button', { name: 'Make the chosen shots' }).click();
    await page.waitForURL('**/creations/*');
    await done(page, 'We could not make these images.');
    const why = await page.locator('main').innerText();
    assert.match(why, /Nothing was charged\./);
    assert.match(why, /Hero: did not keep your design closely enough/);
    assert.doesNotMatch(why, /hero:|see why|\.\./);
    assert.equal(Number((await page.locator('.balance b').innerText()).trim()), 50, 'the hold came back');
    await page.screenshot({ path: SHOTS + 'ai-failed.png', fullPage: true });
    await page.getByRole('button', { name: 'Try again' }).click();
    await page.waitForURL('**/creations/*');
    await done(page, 'Done — 1 image, 8 tokens.');
    await page.screenshot({ path: SHOTS + 'ai-retried.png', fullPage: true });
  } finally {
    failing.stop();
  }
});
