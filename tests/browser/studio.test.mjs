// The main flow: a new seller uploads two photos at once, picks Amazon + Etsy + Instagram
// with the cost shown, watches the batch, downloads everything as one ZIP, compares before
// and after, shares on WhatsApp, makes one photo again with other settings, and finds every
// charge in the ledger.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { startServer, launch, phonePage, laptopPage, signUp, SHOTS } from './server.mjs';

const PHOTOS = ['ring.jpg', 'ring-2.jpg'].map((f) => new URL('./fixtures/' + f, import.meta.url).pathname);
// A ring on a wooden table, path traced apart from the engine (scripts/rendered).
const ON_WOOD = new URL('../../crates/imaging/tests/rendered/eval/wood-1000000.jpg', import.meta.url).pathname;
// A real iPhone-format photo (HEVC in HEIF) of a rendered rose-gold band (fixture README).
const HEIC = new URL('../../crates/imaging/tests/fixtures/ring.heic', import.meta.url).pathname;
// A white pendant on a chain that the cutout loses (same set): fixed by hand below.
const PENDANT = new URL('../../crates/imaging/tests/rendered/eval/pendant-1000000.jpg', import.meta.url).pathname;
let server, browser;

// One photo through the studio with the defaults (an Amazon image), to its creation page.
async function oneImage(page, photo) {
  await page.goto(server.base + '/studio');
  await page.locator('input[type=file][multiple]').setInputFiles(photo);
  await page.getByRole('button', { name: 'Upload' }).click();
  await page.waitForURL('**/studio/new?upload=*');
  await page.getByRole('button', { name: 'Make images' }).click();
  await page.waitForURL('**/creations/*');
}
before(async () => { mkdirSync(SHOTS, { recursive: true }); server = await startServer(); browser = await launch(); });
after(async () => { await browser?.close(); server?.stop(); });

test('a batch of photos becomes a marketplace pack each, in one ZIP', async () => {
  const page = await phonePage(browser);
  await signUp(page, server.base, 'Kavya Rao', `kavya${Date.now()}@example.com`);
  assert.match(await page.locator('.balance').innerText(), /20/);

  await page.getByRole('link', { name: 'Open the studio' }).click();
  await page.locator('input[type=file][multiple]').setInputFiles(PHOTOS);
  await page.getByText('2 photos chosen').waitFor();
  await page.getByRole('button', { name: 'Upload' }).click();
  await page.waitForURL('**/studio/new?upload=*&upload=*');
  await page.getByText('2 photos', { exact: true }).waitFor();
  assert.equal((await page.locator('[data-total]').innerText()).trim(), '2 tokens');
  await page.getByLabel('Etsy').check();
  await page.getByLabel('Instagram square').check();
  assert.equal((await page.locator('[data-total]').innerText()).trim(), '6 tokens', 'the cost follows the choice');
  await page.screenshot({ path: SHOTS + 'studio-choose.png', fullPage: true });
  await page.getByRole('button', { name: 'Make images' }).click();
  await page.waitForURL('**/batches/*');
  await page.getByText('Done — 2 photos, 6 tokens charged.').waitFor({ timeout: 90_000 });
  assert.equal(await page.locator('.batch-item .thumb').count(), 6);
  await page.screenshot({ path: SHOTS + 'studio-batch.png', fullPage: true });

  // The full-size viewer: zoom, the photo exactly under the image, and the whole batch by
  // keyboard and by swipe.
  await page.locator('.batch-item .thumb').first().click();
  const viewer = page.getByRole('dialog', { name: 'Image viewer' });
  await viewer.getByText('1 of 6').waitFor();
  const shown = viewer.locator('[data-v-after]');
  assert.equal(await shown.evaluate(async (img) => { await img.decode(); return img.naturalWidth; }), 2000, 'full size');
  await page.keyboard.press('ArrowRight');
  await viewer.getByText('2 of 6').waitFor();
  await viewer.getByRole('button', { name: 'Zoom in' }).click();
  await viewer.getByRole('button', { name: 'Zoom in' }).click();
  assert.equal(await viewer.locator('[data-v-layer]').getAttribute('data-scale'), '2.56');
  await viewer.getByRole('button', { name: 'Before' }).click();
  const under = viewer.locator('[data-v-beforeimg]');
  const sizes = await under.evaluate(async (img) => { await img.decode(); return [img.naturalWidth, img.naturalHeight]; });
  assert.deepEqual(sizes, await shown.evaluate((img) => [img.naturalWidth, img.naturalHeight]), 'the photo is framed as the image');
  await page.screenshot({ path: SHOTS + 'studio-viewer-before.png' });
  await page.keyboard.press('0');
  await viewer.getByRole('button', { name: 'Before' }).click();
  const box = await viewer.locator('[data-v-stage]').boundingBox();
  await page.mouse.move(box.x + box.width * 0.7, box.y + box.height / 2);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * 0.2, box.y + box.height / 2, { steps: 5 });
  await page.mouse.up();
  await viewer.getByText('3 of 6').waitFor();
  await page.screenshot({ path: SHOTS + 'studio-viewer.png' });
  await page.keyboard.press('Escape');
  await viewer.waitFor({ state: 'hidden' });
  const [zip] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Download all (ZIP)' }).click()]);
  assert.match(zip.suggestedFilename(), /^soraipixel-batch-\w+\.zip$/);

  await page.getByRole('link', { name: 'Photo 1' }).click();
  await page.waitForURL('**/creations/*');
  assert.equal(await page.getByText('Passes the marketplace checks').count(), 3);
  const slider = page.getByLabel('Before and after').first();
  await slider.fill('80');
  assert.equal(await page.locator('[data-compare]').first().evaluate((el) => el.style.getPropertyValue('--pos')), '80%');
  const share = await page.getByRole('link', { name: 'Share on WhatsApp' }).first().getAttribute('href');
  assert.match(share, /^https:\/\/wa\.me\/\?text=.*%2Fs%2F/);
  const [one] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Download', exact: true }).first().click()]);
  assert.equal(one.suggestedFilename(), 'soraipixel-amazon.jpg');
  await page.screenshot({ path: SHOTS + 'studio-results.png', fullPage: true });

  // The same photo again, styled: marble, reflection, rose gold, 4:5, followed live.
  await page.getByRole('link', { name: 'Make again with other settings' }).click();
  await page.getByLabel('Amazon (main image)').uncheck();
  await page.getByLabel('Instagram portrait').check();
  await page.getByLabel('Background').selectOption('marble');
  await page.getByLabel('Mirror reflection, as on glass').check();
  await page.getByLabel('Metal colour').selectOption('rose_gold');
  await page.getByLabel('Shape').selectOption('4:5');
  await page.getByRole('button', { name: 'Make images' }).click();
  await page.waitForURL('**/creations/*');
  await page.getByText('Done — 1 image, 1 token').waitFor({ timeout: 60_000 });
  await page.screenshot({ path: SHOTS + 'studio-styled.png', fullPage: true });

  await page.goto(server.base + '/tokens');
  assert.equal((await page.getByTestId('balance').innerText()).trim(), '13');
  // One line per thing bought: a hold and its charges are not shown as paying twice.
  const what = await page.locator('.ledger tbody td:nth-child(2)').allInnerTexts();
  assert.deepEqual(what.map((t) => t.trim()), ['Image made', '3 images made', '3 images made', 'Welcome tokens']);
  const change = await page.locator('.ledger tbody td:nth-child(3)').allInnerTexts();
  assert.deepEqual(change.map((t) => t.trim()), ['\u22121', '\u22123', '\u22123', '+20']);
  await page.screenshot({ path: SHOTS + 'tokens-statement.png', fullPage: true });
});

test('on a laptop, the header is one row of links and the viewer follows the mouse and keyboard', async () => {
  const page = await laptopPage(browser, { timezoneId: 'Asia/Kolkata' });
  await signUp(page, server.base, 'Farah Khan', `farah${Date.now()}@example.com`);
  assert.ok(await page.getByRole('link', { name: 'Studio', exact: true }).first().isVisible(), 'links without a menu');
  // Before any script runs (here: none at all), the links are already in the row.
  const bare = await laptopPage(browser, { javaScriptEnabled: false, storageState: await page.context().storageState() });
  await bare.goto(server.base + '/dashboard');
  assert.ok(await bare.getByRole('link', { name: 'Studio', exact: true }).first().isVisible(), 'no Menu button first');
  assert.ok(await bare.getByText('Menu', { exact: true }).isHidden());
  await bare.context().close();
  await oneImage(page, PHOTOS[1]);
  await page.getByText('Done — 1 image, 1 token').waitFor({ timeout: 60_000 });
  for (const img of await page.locator('.result img').all()) await img.evaluate((el) => el.decode());
  await page.screenshot({ path: SHOTS + 'laptop-creation.png', fullPage: true });
  await page.getByRole('link', { name: 'View full size' }).click();
  const viewer = page.getByRole('dialog', { name: 'Image viewer' });
  await viewer.getByText('1 of 1').waitFor();
  const stage = await viewer.locator('[data-v-stage]').boundingBox();
  await page.mouse.move(stage.x + stage.width / 2, stage.y + stage.height / 3);
  await page.mouse.wheel(0, -300);
  assert.equal(await viewer.locator('[data-v-layer]').getAttribute('data-scale'), '1.25', 'the wheel zooms');
  await page.keyboard.press('b');
  assert.equal(await viewer.getByRole('button', { name: 'Before' }).getAttribute('aria-pressed'), 'true');
  await page.screenshot({ path: SHOTS + 'laptop-viewer.png' });
  await page.keyboard.press('Escape');
  await viewer.waitFor({ state: 'hidden' });
});

test('a photo on a busy background is refused in plain words, with nothing charged', async () => {
  const page = await phonePage(browser);
  await signUp(page, server.base, 'Imran Sheikh', `imran${Date.now()}@example.com`);
  await oneImage(page, ON_WOOD);
  const notice = page.locator('[data-reshoot]');
  await notice.waitFor({ timeout: 60_000 });
  const text = await notice.innerText();
  assert.match(text, /background is not plain/);
  assert.match(text, /No tokens were charged/);
  assert.doesNotMatch(text, /unsuitable_background|_/, 'no codes shown to the seller');
  await page.screenshot({ path: SHOTS + 'studio-reshoot.png', fullPage: true });
  await notice.getByRole('link', { name: 'Upload a new photo' }).click();
  await page.waitForURL('**/studio');
  await page.goto(server.base + '/tokens');
  assert.equal((await page.getByTestId('balance').innerText()).trim(), '20');
});

test('an iPhone photo in HEIC is read and cut out like a JPEG', async () => {
  const page = await phonePage(browser);
  await signUp(page, server.base, 'Neha Iyer', `neha${Date.now()}@example.com`);
  await oneImage(page, HEIC);
  await page.getByText('Done — 1 image, 1 token').waitFor({ timeout: 60_000 });
  const img = page.locator('.result img').first();
  assert.equal(await img.evaluate(async (el) => { await el.decode(); return el.naturalWidth; }), 960, 'the Amazon image is shown');
  await page.screenshot({ path: SHOTS + 'studio-heic.png', fullPage: true });

  // Again on a background colour of the seller's own choosing.
  await page.getByRole('link', { name: 'Make again with other settings' }).click();
  assert.ok(await page.getByLabel('Your colour').isHidden(), 'the picker waits for its choice');
  await page.getByLabel('Amazon (main image)').uncheck();
  await page.getByLabel('Etsy').check();
  await page.getByLabel('Background').selectOption('custom');
  await page.getByLabel('Your colour').fill('#2a6f97');
  await page.getByRole('button', { name: 'Make images' }).click();
  await page.waitForURL('**/creations/*');
  await page.getByText('Done — 1 image, 1 token').waitFor({ timeout: 60_000 });
  const corner = await page.locator('.result img').first().evaluate(async (img) => {
    await img.decode();
    const canvas = document.createElement('canvas');
    canvas.width = img.naturalWidth;
    canvas.height = img.naturalHeight;
    const g = canvas.getContext('2d');
    g.drawImage(img, 0, 0);
    return Array.from(g.getImageData(4, 4, 1, 1).data.slice(0, 3));
  });
  [42, 111, 151].forEach((want, i) => assert.ok(Math.abs(corner[i] - want) <= 8, `corner ${corner} is the chosen colour`));
  await page.screenshot({ path: SHOTS + 'studio-own-colour.png', fullPage: true });
});

test('a lost pendant is reported, painted back with the brush, and the images made again for free', async () => {
  const page = await phonePage(browser);
  await signUp(page, server.base, 'Lata Menon', `lata${Date.now()}@example.com`);
  await oneImage(page, PENDANT);
  await page.getByText('Done — 1 image, 1 token').waitFor({ timeout: 60_000 });

  // The seller says what is wrong; the answer points to the brush.
  await page.getByText('Something is wrong').click();
  await page.getByLabel('The cutout is wrong').check();
  await page.getByLabel('In your words (optional)').fill('The pearl is missing');
  await page.getByRole('button', { name: 'Send' }).click();
  await page.getByText('Thanks for telling us').waitFor();
  await page.screenshot({ path: SHOTS + 'studio-feedback.png', fullPage: true });
  await page.getByRole('link', { name: 'Fix the cutout by hand' }).click();
  await page.waitForURL('**/creations/*/fix');
  await page.getByText('Paint where the cutout is wrong.').waitFor({ timeout: 30_000 });
  // The pendant hangs at (253, 174) of the 480×360 photo, about 15 px across its radius.
  await page.getByLabel('Keep').check();
  await page.getByLabel('Brush size').fill('28');
  const box = await page.locator('[data-canvas]').boundingBox();
  const x = box.x + (253 / 480) * box.width, y = box.y + (174 / 360) * box.height;
  await page.mouse.move(x - 3, y);
  await page.mouse.down();
  await page.mouse.move(x + 3, y, { steps: 4 });
  await page.mouse.up();
  await page.getByText('1 stroke. Save when it looks right.').waitFor({ timeout: 30_000 });
  assert.match(await page.locator('[data-cutout]').getAttribute('src'), /^blob:/);
  await page.screenshot({ path: SHOTS + 'studio-fix.png', fullPage: true });
  await page.getByRole('button', { name: 'Undo' }).click();
  await page.getByText('Paint where the cutout is wrong.').waitFor({ timeout: 30_000 });
  assert.ok(await page.getByRole('button', { name: 'Save the fixed images (free)' }).isDisabled(), 'nothing to save');
  await page.mouse.move(x - 3, y);
  await page.mouse.down();
  await page.mouse.move(x + 3, y, { steps: 4 });
  await page.mouse.up();
  await page.getByText('1 stroke. Save when it looks right.').waitFor({ timeout: 30_000 });
  await page.getByRole('button', { name: 'Save the fixed images (free)' }).click();
  await page.waitForURL((url) => /\/creations\/[^/]+$/.test(url.pathname));
  await page.getByText('Fixed by hand — 1 image, free.').waitFor({ timeout: 60_000 });
  await page.screenshot({ path: SHOTS + 'studio-fixed.png', fullPage: true });
  await page.getByRole('link', { name: 'Fix the cutout' }).click();
  await page.getByText('Your earlier strokes are already here.').waitFor();
  await page.getByText('1 stroke. Save when it looks right.').waitFor({ timeout: 30_000 });
  await page.goto(server.base + '/tokens');
  assert.equal((await page.getByTestId('balance').innerText()).trim(), '19', 'the fix cost nothing');

  // The same photo as a transparent PNG for the seller's own site, shown on a checkerboard.
  await page.goBack();
  await page.getByRole('link', { name: 'Cancel' }).click();
  await page.getByRole('link', { name: 'Make again with other settings' }).click();
  await page.getByText('Your hand fixes to the cutout are kept').waitFor();
  await page.getByLabel('Amazon (main image)').uncheck();
  await page.getByLabel('Etsy').check();
  await page.getByLabel('Background').selectOption('transparent');
  await page.getByRole('button', { name: 'Make images' }).click();
  await page.waitForURL('**/creations/*');
  await page.getByText('Done — 1 image, 1 token').waitFor({ timeout: 60_000 });
  await page.getByText('2000×2000 png').waitFor();
  assert.equal(await page.locator('.result img.checker').count(), 1);
  await page.screenshot({ path: SHOTS + 'studio-transparent.png', fullPage: true });
});

test('an image the seller marks down reaches the review queue, and staff give its token back', async () => {
  const page = await phonePage(browser);
  const email = `veda${Date.now()}@example.com`;
  await signUp(page, server.base, 'Veda Rao', email);
  await oneImage(page, PHOTOS[0]);
  await page.getByText('Done — 1 image, 1 token').waitFor({ timeout: 60_000 });
  await page.getByText('Something is wrong').click();
  await page.getByLabel('Bad background').check();
  await page.getByLabel('In your words (optional)').fill('A grey edge shows at the top');
  await page.getByRole('button', { name: 'Send' }).click();
  await page.getByText('Thanks for telling us').waitFor();

  const staff = await phonePage(browser);
  const staffEmail = `review${Date.now()}@example.com`;
  await signUp(staff, server.base, 'Support Desk', staffEmail, 'every image checked');
  server.grantAdmin(staffEmail);
  await staff.goto(server.base + '/admin/review');
  await staff.getByLabel('Why').selectOption('down');
  await staff.getByRole('button', { name: 'Show' }).click();
  const item = staff.getByTestId('review-item').filter({ hasText: 'A grey edge shows at the top' });
  assert.match(await item.innerText(), /Studio · Amazon[\s\S]*Marked down[\s\S]*Bad background/);
  await item.getByLabel('Reason for the refund').fill('Paper edge left in the image');
  await item.getByRole('button', { name: 'Refund' }).click();
  await staff.getByText('1 token given back').waitFor();
  await staff.screenshot({ path: SHOTS + 'admin-review.png', fullPage: true });

  await page.goto(server.base + '/tokens');
  assert.equal((await page.getByTestId('balance').innerText()).trim(), '20', 'the image cost nothing in the end');
  await page.getByText('Paper edge left in the image').first().waitFor();
});

test('a seller deletes a batch, an image and a photo, each after saying yes, and all are gone', async () => {
  const page = await phonePage(browser);
  await signUp(page, server.base, 'Nila Shah', `nila${Date.now()}@example.com`);
  await page.goto(server.base + '/studio');
  await page.locator('input[type=file][multiple]').setInputFiles(PHOTOS);
  await page.getByRole('button', { name: 'Upload' }).click();
  await page.waitForURL('**/studio/new?upload=*&upload=*');
  await page.getByRole('button', { name: 'Make images' }).click();
  await page.waitForURL('**/batches/*');
  await page.getByText('Done — 2 photos, 2 tokens charged.').waitFor({ timeout: 90_000 });
  const made = await page.locator('.batch-item img').evaluateAll((imgs) => imgs.map((i) => i.getAttribute('src')));
  await page.getByText('Delete all images of this batch').click();
  await page.getByRole('button', { name: 'Delete all images' }).click();
  await page.waitForURL('**/studio?deleted=images');
  for (const src of made) assert.equal((await page.request.get(server.base + src)).status(), 404, 'the batch is gone');
  assert.equal(await page.locator('.creations li').count(), 0);

  // On a phone, "Take a photo" opens the camera, and the photo goes up at once.
  await page.goto(server.base + '/studio');
  await page.getByText('Take a photo').waitFor();
  await page.locator('input[data-camera]').setInputFiles(PHOTOS[1]);
  await page.waitForURL('**/studio/new?upload=*');
  await page.getByRole('button', { name: 'Make images' }).click();
  await page.waitForURL('**/creations/*');
  await page.getByText('Done — 1 image, 1 token').waitFor({ timeout: 60_000 });
  const image = await page.locator('.result img').first().getAttribute('src');

  await page.getByText('Delete these images').click();
  await page.screenshot({ path: SHOTS + 'studio-delete-images.png', fullPage: true });
  await page.getByRole('button', { name: 'Delete images' }).click();
  await page.waitForURL('**/studio?deleted=images');
  await page.getByText('The images were deleted from our storage.').waitFor();
  assert.equal((await page.request.get(server.base + image)).status(), 404, 'the image is gone');

  const photo = page.locator('.thumbs .thumb').first();
  const thumbnail = await photo.locator('img').getAttribute('src');
  await photo.getByText('Delete', { exact: true }).click();
  await photo.getByText('Delete this photo for good?').waitFor();
  await page.screenshot({ path: SHOTS + 'studio-delete-photo.png', fullPage: true });
  await photo.getByRole('button', { name: 'Delete photo' }).click();
  await page.waitForURL('**/studio?deleted=photo');
  await page.getByText('The photo was deleted from our storage.').waitFor();
  assert.equal(await page.locator('.thumbs .thumb').count(), 2, 'the other photos stay');
  assert.equal((await page.request.get(server.base + thumbnail)).status(), 404, 'its thumbnail is gone');
});
