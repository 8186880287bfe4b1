// Starts `soraipixel serve` on a free port with a fresh data folder, and reads what a
// person would read: the outbox for emails, the dev-mode log for SMS codes.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const BIN = process.env.SORAIPIXEL_BIN || new URL('../../target/debug/soraipixel', import.meta.url).pathname;
export const SHOTS = new URL('./screenshots/', import.meta.url).pathname;

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
    s.on('error', reject);
  });
}

/** `extraEnv` adds to the server's environment (a dev-mode FAKE script, for instance). */
export async function startServer(extraEnv = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), 'soraipixel-e2e-'));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  let log = '';
  const env = {
    ...process.env,
    SORAIPIXEL__DATA_DIR: dataDir,
    SORAIPIXEL__SERVER__LISTEN: `127.0.0.1:${port}`,
    SORAIPIXEL__SERVER__PUBLIC_URL: base,
    SORAIPIXEL__LOG__FORMAT: 'json',
    // A shop selling in rupees to visitors it cannot place (no CDN or GeoIP here).
    SORAIPIXEL__BILLING__DEFAULT_CURRENCY: 'INR',
    // Webhooks to a receiver on this machine (a development setting; off by default).
    SORAIPIXEL__WEBHOOKS__ALLOW_PRIVATE_NETWORKS: 'true',
    ...extraEnv,
  };
  const child = spawn(BIN, ['serve'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.on('data', (d) => { log += d; });
  child.stderr.on('data', (d) => { log += d; });
  for (let i = 0; i < 200; i++) {
    try { if ((await fetch(`${base}/healthz`)).ok) break; } catch { /* not up yet */ }
    if (child.exitCode !== null) throw new Error(`server exited:\n${log}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const mailsTo = (to) => {
    const dir = join(dataDir, 'outbox');
    let files = [];
    try { files = readdirSync(dir).sort(); } catch { return []; }
    return files.map((f) => readFileSync(join(dir, f), 'utf8')).filter((m) => m.includes(`To: ${to}`));
  };
  return {
    base,
    dataDir,
    log: () => log,
    /** Newest mailed link to `path` for `to` (mail is delivered by a job: waits for it). */
    async mailedLink(to, path) {
      for (let i = 0; i < 100; i++) {
        for (const mail of mailsTo(to).reverse()) {
          const m = mail.match(new RegExp(`(https?://\\S+${path}\\?token=[A-Za-z0-9_-]+)`));
          if (m) return m[1];
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`no mail with ${path} for ${to}`);
    },
    /** Every mail sent to `to`, oldest first, as one text, once one matches `wanted`. */
    async mailedText(to, wanted) {
      for (let i = 0; i < 100; i++) {
        const text = mailsTo(to).join('\n');
        if (wanted.test(text)) return text;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`no mail matching ${wanted} for ${to}`);
    },
    /** Newest dev-mode SMS code sent to `phone` (E.164), read from the JSON log. */
    smsCode(phone) {
      const lines = log.split('\n').filter((l) => l.includes('dev_sms') && l.includes(phone));
      const last = lines.at(-1);
      if (!last) throw new Error(`no code logged for ${phone}`);
      return JSON.parse(last).code;
    },
    /** `soraipixel admin grant EMAIL ROLE` (admin by default) against this server's database. */
    grantAdmin(email, role = 'admin') {
      const r = spawnSync(BIN, ['admin', 'grant', email, role], { env, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`admin grant failed: ${r.stderr}`);
    },
    /** `soraipixel admin tokens EMAIL AMOUNT` against this server's database. */
    grantTokens(email, amount) {
      const r = spawnSync(BIN, ['admin', 'tokens', email, String(amount), '--reason', 'browser test'], { env, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`admin tokens failed: ${r.stderr}`);
    },
    stop() { child.kill('SIGTERM'); },
  };
}

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** A phone-sized page, as most sellers use (`options` adds to the browser context: a time zone). */
export async function phonePage(browser, options = {}) {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true,
    userAgent: 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36', ...options });
  return guarded(await context.newPage());
}

/** A laptop-sized page with a mouse. */
export async function laptopPage(browser, options = {}) {
  const context = await browser.newContext({ viewport: { width: 1366, height: 800 }, ...options });
  return guarded(await context.newPage());
}

// What a seller must never read: our ids (UUIDs) and stored codes (snake_case words).
const UUID = /\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/i;
const CODE = /\b[a-z]+(?:_[a-z0-9]+)+\b/;
// Staff pages and the developer pages show ids and API names on purpose.
const FOR_DEVELOPERS_OR_STAFF = /^\/(admin|developers|settings\/developers|api\/)/;

/** Fails when the page shows a seller an id or a code. */
export async function assertPlainWords(page) {
  const path = new URL(page.url()).pathname;
  if (FOR_DEVELOPERS_OR_STAFF.test(path)) return;
  const text = await page.locator('body').innerText();
  const found = text.match(UUID) || text.match(CODE);
  if (found) throw new Error(`${path} shows "${found[0]}" to a seller`);
}

// Every page a test photographs is also read for ids and codes.
function guarded(page) {
  const screenshot = page.screenshot.bind(page);
  page.screenshot = async (options) => {
    await assertPlainWords(page);
    return screenshot(options);
  };
  return page;
}

/** Opens the header's menu where it is a button (a phone); on a wide screen it is open. */
export async function openMenu(page) {
  const menu = page.locator('details.menu');
  if (!(await menu.evaluate((d) => d.open))) await menu.locator('summary').click();
}

/** Signs a new seller up with the form and waits for the welcome dashboard. */
export async function signUp(page, base, name, email, password = 'sapphire studs shine') {
  await page.goto(base + '/signup');
  await page.getByLabel('Your name').fill(name);
  await page.getByLabel('Email', { exact: true }).fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.waitForURL('**/dashboard?welcome=1');
}
