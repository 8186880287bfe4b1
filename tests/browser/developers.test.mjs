// An integrator's setup from the settings page: an API key limited to images, a webhook
// address, a test event received and verified by examples/webhook_receiver.py, and the
// delivery shown in the log in the seller's own time zone.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { startServer, launch, phonePage, signUp, freePort, SHOTS } from './server.mjs';

const RECEIVER = new URL('../../examples/webhook_receiver.py', import.meta.url).pathname;
let server, browser, receiver;
before(async () => { mkdirSync(SHOTS, { recursive: true }); server = await startServer(); browser = await launch(); });
after(async () => { receiver?.kill(); await browser?.close(); server?.stop(); });

/** Starts the example receiver; resolves its printed lines as they come. */
function startReceiver(port, secret) {
  const lines = [];
  receiver = spawn('python3', [RECEIVER, String(port)], { env: { ...process.env, WEBHOOK_SECRET: secret } });
  let partial = '';
  receiver.stdout.on('data', (d) => {
    const text = partial + d;
    const complete = text.split('\n');
    partial = complete.pop(); // a line cut between two chunks waits for its end
    lines.push(...complete.filter((l) => l.trim()).map((l) => JSON.parse(l)));
  });
  return async (wanted) => {
    for (let i = 0; i < 200; i++) {
      const found = lines.find(wanted);
      if (found) return found;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`the receiver never printed what was wanted: ${JSON.stringify(lines)}`);
  };
}

test('a key limited to images, a webhook address, and a verified test event in the log', async () => {
  const page = await phonePage(browser, { locale: 'en-IN', timezoneId: 'Asia/Kolkata' });
  const email = `dev${Date.now()}@example.com`;
  await signUp(page, server.base, 'Ravi Menon', email);
  await page.goto(server.base + '/settings');
  await page.getByRole('link', { name: 'Manage API keys and webhooks' }).click();
  await page.getByRole('heading', { name: 'API and webhooks' }).waitFor();

  await page.getByLabel('Name').fill('Shop sync');
  await page.getByLabel('Read account').uncheck();
  await page.getByLabel('Stops working').selectOption('90');
  await page.getByRole('button', { name: 'Create key' }).click();
  const key = await page.locator('[data-secret]').innerText();
  assert.match(key, /^sp_live_/);
  assert.match(await page.locator('[data-testid=api-key]').innerText(), /Make images, Read images, Listings · 60 requests a minute, 500 images a day · ends .* · never used/);
  await page.screenshot({ path: SHOTS + 'developers-key.png', fullPage: true });
  const asKey = (path) => fetch(server.base + path, { headers: { 'X-Api-Key': key } });
  assert.equal((await asKey('/api/v1/uploads')).status, 200);
  assert.equal((await asKey('/api/v1/me')).status, 403, 'account:read was not ticked');
  await page.goto(server.base + '/settings/developers');
  assert.equal(await page.locator('[data-secret]').count(), 0, 'shown once');

  const port = await freePort();
  await page.getByLabel('Address').fill(`http://127.0.0.1:${port}/hooks`);
  await page.getByRole('button', { name: 'Add address' }).click();
  const secret = await page.locator('[data-secret]').innerText();
  assert.match(secret, /^whsec_/);
  const printed = startReceiver(port, secret);
  await printed((l) => l.listening === port);
  await page.getByRole('button', { name: 'Send test event' }).click();
  const got = await printed((l) => l.verified);
  assert.equal(got.type, 'webhook.test');
  assert.match(got.id, /^msg_/);

  for (let i = 0; i < 50 && !(await page.locator('[data-testid=delivery]').innerText().catch(() => '')).includes('Delivered'); i++) {
    await new Promise((r) => setTimeout(r, 200));
    await page.goto(server.base + '/settings/developers');
  }
  const row = await page.locator('[data-testid=delivery]').first().innerText();
  assert.match(row, /Test event/);
  assert.match(row, /Delivered/);
  assert.match(row, /answered 204/);
  assert.match(row, /IST|GMT\+5:30/, `shown in the seller's time zone: ${row}`);
  await page.locator('[data-testid=endpoint]').scrollIntoViewIfNeeded();
  await page.screenshot({ path: SHOTS + 'developers-webhooks.png', fullPage: true });

  // "Send again" repeats the event under its id: the receiver can tell.
  await page.getByRole('button', { name: 'Send again' }).click();
  const again = await printed((l) => l.verified && l.repeat);
  assert.equal(again.id, got.id);

  // The public developer page, generated from the API's own document.
  await page.getByRole('link', { name: 'API reference' }).click();
  await page.getByRole('heading', { name: 'The SoraiPixel API' }).waitFor();
  assert.match(await page.locator('main').innerText(), /POST \/api\/v1\/webhooks/);
  await page.screenshot({ path: SHOTS + 'developers-docs.png' });
});
