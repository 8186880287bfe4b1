// Buying tokens in dev mode: prices in rupees for an Indian browser, the Starter pack through
// the simulated Razorpay Checkout (a declined card first), a monthly plan, receipts and the
// ledger, cancelling the plan, and an admin refunding the pack.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { startServer, launch, SHOTS, openMenu, phonePage } from './server.mjs';

let server, browser;
before(async () => { mkdirSync(SHOTS, { recursive: true }); server = await startServer(); browser = await launch(); });
after(async () => { await browser?.close(); server?.stop(); });

/** A phone in India: rupee prices come from the browser's language region. */
async function indianPhone() {
  return phonePage(browser, { locale: 'en-IN', timezoneId: 'Asia/Kolkata', extraHTTPHeaders: { 'accept-language': 'en-IN,en;q=0.9' } });
}

const balance = async (page) => Number((await page.locator('.balance b').innerText()).trim());

test('a seller buys the Starter pack and a monthly plan; an admin refunds the pack', async () => {
  const page = await indianPhone();
  const email = `meera${Date.now()}@example.com`;
  await page.goto(server.base + '/signup');
  await page.getByLabel('Your name').fill('Meera Iyer');
  await page.getByLabel('Email', { exact: true }).fill(email);
  await page.getByLabel('Password').fill('temple gold jhumkas');
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.waitForURL('**/dashboard?welcome=1');
  assert.equal(await balance(page), 20);
  // A postal address on two lines, as the invoice must print it.
  await page.goto(server.base + '/settings');
  await page.getByLabel('Business address').fill('12 Zaveri Bazaar\nMumbai 400002');
  await page.getByRole('button', { name: 'Save profile' }).click();
  await page.waitForURL('**/settings?saved=1');

  await openMenu(page);
  await page.getByRole('link', { name: 'Buy tokens' }).first().click();
  await page.waitForURL('**/pricing');
  const starter = page.getByTestId('plan-starter');
  assert.match(await starter.innerText(), /₹149(?!\.)[\s\S]*80 tokens/);
  assert.equal(await page.getByTestId('currency-switch').count(), 0, 'rupee prices stay rupees');
  // Every priced thing in tokens and in money, at the entry pack's rate.
  const costs = page.getByTestId('costs');
  await costs.getByRole('row', { name: /AI styled scene, Standard\s+8 tokens\s+≈ ₹15/ }).waitFor();
  await costs.getByRole('row', { name: /Listing copy for one photo\s+5 tokens\s+≈ ₹9/ }).waitFor();
  assert.match(await costs.innerText(), /Starter pack's rate \(₹149 for 80 tokens\)/);
  await page.screenshot({ path: SHOTS + 'billing-pricing.png', fullPage: true });
  await starter.getByRole('button', { name: 'Buy Starter' }).click();
  await page.getByTestId('simulated-checkout').waitFor();
  assert.equal((await page.getByTestId('checkout-amount').innerText()).trim(), '₹149');
  await page.screenshot({ path: SHOTS + 'billing-checkout.png', fullPage: true });

  // A declined card: a clear message, nothing granted, and the buyer can try again.
  await page.getByRole('button', { name: 'Decline the card' }).click();
  await page.getByText('Your payment was declined by the bank.').waitFor();
  assert.equal(await balance(page), 20);

  await page.getByRole('button', { name: /Pay ₹149(?!\.)/ }).click();
  await page.waitForURL('**/billing?paid=1');
  await page.getByText('Payment received').waitFor();
  assert.equal(await balance(page), 100, '20 welcome + 80 bought');
  const row = page.getByTestId('payment').first();
  assert.match(await row.innerText(), /80 tokens \(Starter pack\)[\s\S]*₹149(?!\.)/);
  await page.screenshot({ path: SHOTS + 'billing-history.png', fullPage: true });

  await row.getByRole('link', { name: /^SP-\d{4}-\d{6}$/ }).click();
  await page.getByTestId('invoice').waitFor();
  assert.equal((await page.getByTestId('invoice-total').innerText()).trim(), '₹149.00', 'invoices keep the paise');
  assert.match(await page.getByTestId('invoice').innerText(), /Meera Iyer\s+12 Zaveri Bazaar\nMumbai 400002\n/, 'the address keeps its lines');
  assert.match(await page.getByTestId('invoice').innerText(), /Issued .* IST/, 'in the buyer\'s time zone');
  await page.screenshot({ path: SHOTS + 'billing-invoice.png', fullPage: true });

  // A monthly plan: 400 tokens now, renewing monthly until cancelled.
  await page.goto(server.base + '/pricing');
  await page.getByTestId('plan-growth').getByRole('button', { name: 'Subscribe to Growth' }).click();
  await page.getByRole('button', { name: /Pay ₹549 a month/ }).click();
  await page.waitForURL('**/billing?paid=1');
  assert.equal(await balance(page), 500);
  const plan = page.getByTestId('subscription');
  assert.match(await plan.innerText(), /Growth · 400 tokens a month[\s\S]*Renews/);
  await plan.getByRole('button', { name: 'Cancel plan' }).click();
  await page.getByText('Your plan will end at the close of the period').waitFor();
  assert.match(await page.getByTestId('subscription').innerText(), /Ends/);

  await page.getByRole('link', { name: 'Token ledger' }).click();
  const ledger = await page.locator('table.ledger').innerText();
  assert.match(ledger, /80 tokens \(Starter pack\)/);
  assert.match(ledger, /400 tokens \(Growth monthly plan\)/);

  // The admin refunds the pack from the admin pages; the seller sees the tokens go.
  const admin = await indianPhone();
  const adminEmail = `admin${Date.now()}@example.com`;
  await admin.goto(server.base + '/signup');
  await admin.getByLabel('Your name').fill('Ops');
  await admin.getByLabel('Email', { exact: true }).fill(adminEmail);
  await admin.getByLabel('Password').fill('ledger must balance');
  await admin.getByRole('button', { name: 'Create account' }).click();
  await admin.waitForURL('**/dashboard?welcome=1');
  server.grantAdmin(adminEmail);
  await admin.goto(server.base + '/admin/payments?email=' + encodeURIComponent(email));
  await admin.getByTestId('admin-payment').filter({ hasText: 'captured' }).getByRole('link', { name: '80 tokens (Starter pack)' }).click();
  await admin.getByLabel('Reason').fill('Customer asked within a day');
  await admin.getByRole('button', { name: 'Refund' }).click();
  await admin.getByText('Refunded.').waitFor();
  assert.equal((await admin.getByTestId('tokens-granted').innerText()).trim(), '80');
  await admin.screenshot({ path: SHOTS + 'billing-admin-refund.png', fullPage: true });
  await admin.goto(server.base + '/admin/revenue');
  await admin.getByText('₹698.00').first().waitFor();

  await page.goto(server.base + '/billing');
  assert.equal(await balance(page), 420, '80 taken back');
  await page.getByTestId('payment').filter({ hasText: /Refunded ₹149(?!\.)/ }).waitFor();
});

test('a visitor with dollar prices may see and pay them in euros', async () => {
  const dollars = await startServer({ SORAIPIXEL__BILLING__DEFAULT_CURRENCY: 'USD' });
  try {
    const page = await phonePage(browser);
    await page.goto(dollars.base + '/pricing');
    const starter = page.getByTestId('plan-starter');
    assert.match(await starter.innerText(), /\$4\.99/);
    await page.getByLabel('Show prices in').selectOption('EUR');
    await page.getByRole('button', { name: 'Change' }).click();
    await page.getByText('prices in EUR').waitFor();
    assert.match(await starter.innerText(), /€4\.99/);
    await page.screenshot({ path: SHOTS + 'billing-pricing-eur.png', fullPage: true });
  } finally {
    dollars.stop();
  }
});
