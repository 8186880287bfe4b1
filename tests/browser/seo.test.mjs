// Pages search engines find: Lighthouse (from npm) drives Debian's Chromium against the
// landing page, the pricing page and a marketplace page, and prints the SEO and
// accessibility scores (recorded in docs/seo.md); each must be at least 95.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import lighthouse from 'lighthouse';
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { startServer, freePort, phonePage, SHOTS } from './server.mjs';

let server, browser, port;
before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  server = await startServer();
  port = await freePort();
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', `--remote-debugging-port=${port}`, '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});
after(async () => { await browser?.close(); server?.stop(); });

const PAGES = ['/', '/pricing', '/jewellery-photography/amazon'];

test('public pages score at least 95 for SEO and accessibility', async () => {
  const failures = [];
  for (const path of PAGES) {
    const result = await lighthouse(server.base + path, {
      port, output: 'json', logLevel: 'error', onlyCategories: ['seo', 'accessibility'], formFactor: 'mobile',
    });
    const { categories, audits } = result.lhr;
    const scores = { seo: Math.round(categories.seo.score * 100), accessibility: Math.round(categories.accessibility.score * 100) };
    console.log(`lighthouse ${path}: SEO ${scores.seo}, accessibility ${scores.accessibility}`);
    for (const [name, category] of Object.entries(categories)) {
      for (const ref of category.auditRefs) {
        const audit = audits[ref.id];
        if (ref.weight > 0 && audit.score !== null && audit.score < 1) {
          console.log(`  ${name}: ${audit.id} — ${audit.title}`);
          for (const item of (audit.details?.items || []).slice(0, 5)) console.log(`    ${item.node?.snippet || JSON.stringify(item).slice(0, 160)}`);
        }
      }
    }
    if (scores.seo < 95 || scores.accessibility < 95) failures.push(`${path} ${JSON.stringify(scores)}`);
  }
  assert.deepEqual(failures, []);
});

test('a marketplace page shows its rules and our example, and the gallery every example', async () => {
  const page = await phonePage(browser);
  await page.goto(server.base + '/jewellery-photography/amazon');
  await page.getByRole('heading', { name: 'Amazon-ready jewellery photos from your phone' }).waitFor();
  assert.match(await page.getByTestId('rules').innerText(), /pure white \(RGB 255, 255, 255\)[\s\S]*at least 85% of the frame/);
  await page.screenshot({ path: SHOTS + 'marketplace-amazon.png', fullPage: true });
  await page.getByRole('link', { name: 'gallery' }).click();
  await page.waitForURL('**/gallery');
  assert.equal(await page.locator('.pair').count(), 3);
  await page.screenshot({ path: SHOTS + 'gallery.png', fullPage: true });
});
