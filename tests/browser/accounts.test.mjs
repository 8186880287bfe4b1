// Signup → verify email from the outbox → sign out → sign in → correct the profile →
// sign out; then phone-code sign-in. Screenshots go to tests/browser/screenshots/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { startServer, launch, phonePage, SHOTS, openMenu, signUp } from './server.mjs';

let server, browser;
before(async () => { mkdirSync(SHOTS, { recursive: true }); server = await startServer(); browser = await launch(); });
after(async () => { await browser?.close(); server?.stop(); });

test('a seller signs up, verifies, signs in, corrects the profile and signs out', async () => {
  const page = await phonePage(browser);
  const email = `meera${Date.now()}@example.com`;
  await page.goto(server.base + '/');
  // Real before/after pairs made by the engine, each shown whole, and the free preview.
  const pairs = page.locator('.examples .pair');
  assert.equal(await pairs.count(), 3);
  for (const img of await pairs.locator('img').all()) {
    assert.equal(await img.evaluate(async (el) => { el.loading = 'eager'; await el.decode(); return el.naturalWidth; }), 480);
  }
  assert.ok(await page.getByRole('link', { name: 'Try it free on one of your own photos' }).isVisible());
  await page.screenshot({ path: SHOTS + 'landing.png', fullPage: true });
  // A wrong address: the site's own page in words, not the browser's error.
  const lost = await page.goto(server.base + '/collections/festive-rings');
  assert.equal(lost.status(), 404);
  await page.getByRole('heading', { name: 'This page is not here' }).waitFor();
  await page.screenshot({ path: SHOTS + 'not-found.png', fullPage: true });
  await page.getByRole('link', { name: 'Go to the home page' }).click();
  await page.waitForURL(server.base + '/');
  await page.getByRole('link', { name: 'Create a free account' }).click();
  await page.getByLabel('Your name').fill('Meera Shah');
  await page.getByLabel('Email', { exact: true }).fill(email);
  await page.getByLabel('Password').fill('emerald earrings glow');
  await page.getByLabel('Business name').fill('Meera Fine Jewels');
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.waitForURL('**/dashboard?welcome=1');
  await assert.doesNotReject(page.getByText('Please confirm').waitFor());
  // On a phone the header is one row: the balance and a menu.
  const header = await page.locator('header.topbar').evaluate((e) => e.getBoundingClientRect().height);
  assert.ok(header < 72, `the phone header is one row (${header} px)`);
  await openMenu(page);
  await page.screenshot({ path: SHOTS + 'phone-menu.png' });
  await page.locator('details.menu summary').click();
  // Every tile leads somewhere that exists: no "opening soon".
  for (const name of ['Open the studio', 'Choose a photo', 'Write listings', 'Edit profile']) {
    assert.ok(await page.locator('.tiles').getByRole('link', { name }).isVisible(), name);
  }
  assert.equal(await page.getByText('Opening soon').count(), 0);
  await page.screenshot({ path: SHOTS + 'dashboard.png', fullPage: true });

  // Verify the email from the link written to the outbox.
  await page.goto(await server.mailedLink(email, '/verify-email'));
  await page.getByRole('button', { name: 'Confirm my email' }).click();
  await page.getByRole('heading', { name: 'Email confirmed' }).waitFor();

  await page.goto(server.base + '/dashboard');
  await openMenu(page);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.waitForURL(server.base + '/');
  await page.getByRole('link', { name: 'Sign in' }).first().click();
  await page.getByLabel('Password').fill('wrong password entirely');
  await page.getByLabel('Email', { exact: true }).fill(email);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByText('wrong email or password').waitFor();
  await page.getByLabel('Password').fill('emerald earrings glow');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL('**/dashboard');
  assert.equal(await page.getByText('Please confirm').count(), 0, 'verified accounts see no banner');

  await openMenu(page);
  await page.getByRole('link', { name: 'Meera Shah' }).click();
  await page.getByLabel('Website').fill('not a website at all');
  await page.getByRole('button', { name: 'Save profile' }).click();
  await page.getByText('Enter a web address').waitFor();
  await page.getByLabel('Website').fill('meerajewels.in');
  await page.getByLabel('Business address').fill('12 Zaveri Bazaar, Mumbai 400002');
  await page.getByLabel('Category').selectOption('bridal');
  await page.getByRole('button', { name: 'Save profile' }).click();
  await page.waitForURL('**/settings?saved=1');
  assert.equal(await page.getByLabel('Website').inputValue(), 'https://meerajewels.in');
  await page.getByText('profile corrected').first().waitFor();
  await page.screenshot({ path: SHOTS + 'settings.png', fullPage: true });

  // A new email needs the password, then the link sent to the new address.
  const newEmail = `meera.shop${Date.now()}@example.com`;
  await page.locator('input[name=email]').fill(newEmail);
  await page.getByRole('button', { name: 'Save profile' }).click();
  await page.getByRole('alert').getByText('Enter your current password').waitFor();
  await page.getByLabel('Current password').fill('emerald earrings glow');
  await page.getByRole('button', { name: 'Save profile' }).click();
  await page.getByText(`We sent a link to ${newEmail}`).waitFor();
  assert.equal(await page.locator('input[name=email]').inputValue(), email, 'unchanged until the link is opened');
  await page.screenshot({ path: SHOTS + 'settings-email-change.png', fullPage: true });
  await page.goto(await server.mailedLink(newEmail, '/verify-email'));
  await page.getByRole('button', { name: 'Confirm my email' }).click();
  await page.getByRole('heading', { name: 'Email confirmed' }).waitFor();
  await page.goto(server.base + '/settings');
  assert.equal(await page.locator('input[name=email]').inputValue(), newEmail);
  await page.getByText('signed out everywhere').first().waitFor();

  await openMenu(page);
  await page.getByRole('button', { name: 'Sign out' }).first().click();
  await page.waitForURL(server.base + '/');
  const me = await page.request.get(server.base + '/api/v1/me');
  assert.equal(me.status(), 401, 'signed out for real');
});

test('a seller signs in with a phone code and gets a new account', async () => {
  const page = await phonePage(browser);
  await page.goto(server.base + '/login/phone');
  await page.getByText('Development mode').waitFor();
  await page.getByLabel('Mobile number').fill('98200 12345');
  await page.getByRole('button', { name: 'Send code' }).click();
  await page.getByText('We sent a 6-digit code').waitFor();
  await page.getByLabel('Code').fill(server.smsCode('+919820012345'));
  await page.screenshot({ path: SHOTS + 'phone-code.png', fullPage: true });
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL('**/settings?welcome=1');
  assert.equal(await page.getByLabel('Mobile number').inputValue(), '+919820012345');
  await page.getByLabel('Name', { exact: true }).fill('Ravi Jewellers');
  await page.getByRole('button', { name: 'Save profile' }).click();
  await page.waitForURL('**/settings?saved=1');
  await openMenu(page);
  await page.getByRole('link', { name: 'Ravi Jewellers' }).waitFor();
});

test('a seller downloads all their data, then deletes the account', async () => {
  const page = await phonePage(browser);
  const email = `gone${Date.now()}@example.com`;
  await page.goto(server.base + '/signup');
  await page.getByLabel('Your name').fill('Tara Gone');
  await page.getByLabel('Email', { exact: true }).fill(email);
  await page.getByLabel('Password').fill('silver anklets tinkle');
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.waitForURL('**/dashboard?welcome=1');
  await page.goto(server.base + '/settings#export');
  await page.getByRole('button', { name: 'Prepare a download of my data' }).click();
  await page.getByText('We are preparing your data').waitFor();
  const link = page.getByTestId('export').getByRole('link', { name: 'Download ZIP' });
  await link.waitFor({ timeout: 30_000 });
  const [zip] = await Promise.all([page.waitForEvent('download'), link.click()]);
  assert.match(zip.suggestedFilename(), /^soraipixel-my-data-[\w-]+\.zip$/);
  await server.mailedText(email, /ready to download/);

  await page.goto(server.base + '/settings#delete');
  const section = page.locator('#delete');
  await section.getByLabel('Your password').fill('not my password');
  await section.getByLabel('I understand this cannot be undone.').check();
  await section.getByRole('button', { name: 'Delete my account' }).click();
  await page.getByRole('alert').getByText('wrong email or password').waitFor();
  await section.getByLabel('Your password').fill('silver anklets tinkle');
  await section.getByLabel('I understand this cannot be undone.').check();
  await page.screenshot({ path: SHOTS + 'account-delete.png', fullPage: true });
  await section.getByRole('button', { name: 'Delete my account' }).click();
  await page.getByRole('heading', { name: 'Your account is deleted' }).waitFor();
  await page.goto(server.base + '/dashboard');
  await page.waitForURL('**/login');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill('silver anklets tinkle');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('alert').waitFor();
  await server.mailedText(email, /has been deleted/);
});

test('a seller shares her invitation link; signing up through it on her own device earns nothing', async () => {
  const stamp = Date.now();
  const page = await phonePage(browser);
  const email = `nisha${stamp}@example.com`;
  await signUp(page, server.base, 'Nisha Kapoor', email, 'polki bridal sets');
  await page.goto(server.base + '/tokens');
  await page.getByRole('link', { name: 'Your invitation link' }).click();
  await page.waitForURL('**/referrals');
  const link = await page.getByTestId('invite-link').inputValue();
  assert.match(link, /\/signup\?ref=[A-Za-z0-9_-]{10}$/);
  await page.getByText('Nobody yet.').waitFor();
  await page.screenshot({ path: SHOTS + 'referrals-empty.png', fullPage: true });

  // A second account through her own link, from the same phone: welcomed, but no bonus.
  const other = await phonePage(browser);
  await other.goto(link);
  await other.getByText('A friend invited you').waitFor();
  await other.screenshot({ path: SHOTS + 'referrals-signup.png', fullPage: true });
  const second = `nisha.shop${stamp}@example.com`;
  await other.getByLabel('Your name').fill('Nisha Shop');
  await other.getByLabel('Email', { exact: true }).fill(second);
  await other.getByLabel('Password').fill('polki bridal sets');
  await other.getByRole('button', { name: 'Create account' }).click();
  await other.waitForURL('**/dashboard?welcome=1');
  await other.goto(await server.mailedLink(second, '/verify-email'));
  await other.getByRole('button', { name: 'Confirm my email' }).click();
  await other.getByRole('heading', { name: 'Email confirmed' }).waitFor();
  await other.goto(server.base + '/tokens');
  assert.equal((await other.getByTestId('balance').innerText()).trim(), '20');

  await page.reload();
  const invite = page.getByTestId('invite');
  await invite.getByText('Joined from your own network, so no reward.').waitFor();
  assert.match(await invite.innerText(), /ni•••@example\.com/);
  await page.screenshot({ path: SHOTS + 'referrals-own-network.png', fullPage: true });
});
