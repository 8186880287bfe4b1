// Staff looking after people: an admin finds a seller, suspends her with a reason (she is
// signed out and refused at sign-in, in words), reactivates her and gives tokens back; she
// reads both in her security log. Support staff see the same file without the actions.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { startServer, launch, SHOTS, phonePage, laptopPage, signUp as signUpOn } from './server.mjs';

let server, browser;
before(async () => { mkdirSync(SHOTS, { recursive: true }); server = await startServer(); browser = await launch(); });
after(async () => { await browser?.close(); server?.stop(); });

const signUp = (page, name, email, password) => signUpOn(page, server.base, name, email, password);

async function signIn(page, email, password) {
  await page.goto(server.base + '/login');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

test('an admin suspends and reactivates a seller with reasons; support only reads', async () => {
  const stamp = Date.now();
  const seller = await phonePage(browser, { timezoneId: 'Asia/Kolkata' });
  const email = `lakshmi${stamp}@example.com`;
  await signUp(seller, 'Lakshmi Rao', email, 'temple gold jhumkas');

  const admin = await laptopPage(browser, { timezoneId: 'Asia/Kolkata' });
  const adminEmail = `ops${stamp}@example.com`;
  await signUp(admin, 'Ops', adminEmail, 'ledger must balance');
  server.grantAdmin(adminEmail);
  await admin.goto(server.base + '/dashboard');
  await admin.getByRole('link', { name: 'Admin' }).first().click();
  await admin.waitForURL('**/admin/people');
  await admin.getByLabel('Find an account').fill('lakshmi');
  await admin.getByRole('button', { name: 'Search' }).click();
  await admin.getByTestId('person-row').getByRole('link', { name: 'Lakshmi Rao' }).click();
  await admin.getByRole('heading', { name: /Lakshmi Rao/ }).waitFor();
  assert.equal((await admin.getByTestId('balance').innerText()).trim(), '20');

  // Suspended with a reason: she is signed out, and sign-in tells her in words.
  await admin.getByLabel('Reason to suspend').fill('Three chargebacks this week');
  await admin.getByRole('button', { name: 'Suspend' }).click();
  await admin.getByText('Suspended. Their sessions ended').waitFor();
  await admin.getByTestId('suspended').waitFor();
  await admin.screenshot({ path: SHOTS + 'admin-person-suspended.png', fullPage: true });
  await seller.goto(server.base + '/dashboard');
  await seller.waitForURL('**/login');
  await signIn(seller, email, 'temple gold jhumkas');
  await seller.getByRole('alert').getByText('This account is suspended.').waitFor();
  await seller.screenshot({ path: SHOTS + 'admin-suspended-sign-in.png', fullPage: true });

  // Reactivated, and five tokens given for the trouble.
  await admin.getByLabel('Reason to reactivate').fill('The bank cleared the payments');
  await admin.getByRole('button', { name: 'Reactivate' }).click();
  await admin.getByText('Reactivated.').waitFor();
  await admin.getByLabel('Tokens to add').fill('5');
  await admin.getByLabel('Reason for the adjustment').fill('Sorry for the trouble');
  await admin.getByRole('button', { name: 'Adjust tokens' }).click();
  await admin.getByText('Tokens adjusted.').waitFor();
  assert.equal((await admin.getByTestId('balance').innerText()).trim(), '25');

  await signIn(seller, email, 'temple gold jhumkas');
  await seller.waitForURL('**/dashboard');
  await seller.goto(server.base + '/settings');
  const log = seller.getByRole('region', { name: 'Security log' });
  await log.getByText(/Account suspended\s+by our staff\s+— Three chargebacks this week/).waitFor();
  await log.getByText(/Account reactivated\s+by our staff\s+— The bank cleared the payments/).waitFor();
  await log.getByText(/Tokens adjusted\s+by our staff\s+— \+5 tokens: Sorry for the trouble/).waitFor();
  await log.scrollIntoViewIfNeeded();
  await seller.screenshot({ path: SHOTS + 'admin-seller-security-log.png', fullPage: true });

  // Support reads the same file, with no way to act on it.
  const support = await laptopPage(browser);
  const supportEmail = `help${stamp}@example.com`;
  await signUp(support, 'Help desk', supportEmail, 'kind words only');
  server.grantAdmin(supportEmail, 'support');
  await support.goto(server.base + '/admin/people?q=' + encodeURIComponent(email));
  await support.getByTestId('person-row').getByRole('link', { name: 'Lakshmi Rao' }).click();
  await support.getByRole('heading', { name: /Lakshmi Rao/ }).waitFor();
  assert.equal(await support.getByRole('button', { name: 'Suspend' }).count(), 0);
  assert.equal(await support.getByRole('button', { name: 'Adjust tokens' }).count(), 0);
  await support.screenshot({ path: SHOTS + 'admin-person-support.png', fullPage: true });
});
