// e-SPPD on a phone: a staff member fills the travel request form and submits it; the
// Kasubag approves from the mailed link; the requester sees the step on the order's
// timeline. Every page fits a 360 px screen.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer, launchBrowser, phonePage, logIn, eventually, taskLinkMailedTo } from './harness.mjs';

const shots = join(dirname(fileURLToPath(import.meta.url)), 'test-results');
let server, browser;

before(async () => {
  mkdirSync(shots, { recursive: true });
  server = await startServer();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  server?.stop();
});

// WIB date, `days` from today, as YYYY-MM-DD.
function wibDate(days) {
  const d = new Date(Date.now() + 7 * 3600_000 + days * 86400_000);
  return d.toISOString().slice(0, 10);
}

async function fitsThePhone(page, what) {
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 1, `${what} scrolls sideways by ${overflow}px`);
}

test('a staff member requests a trip on a phone and the Kasubag approves it from the mailed link', async () => {
  const page = await phonePage(browser);
  await page.goto(`${server.base}/sppd/baru`);
  await logIn(page, 'staf@demo.paraf.test', 'paraf-demo');
  await page.waitForURL(/\/sppd\/baru$/);
  await fitsThePhone(page, 'the request form');

  await page.locator('#field-pelaksana').fill('staf@demo.paraf.test');
  await page.locator('#field-maksud').fill('Rapat koordinasi pemutakhiran data pemilih di KPU Kota Bekasi');
  await page.locator('#field-alat_angkut').selectOption('kendaraan dinas');
  await page.locator('[id="field-tempat_tujuan.provinsi"]').selectOption('Jawa Barat');
  await page.locator('[id="field-tempat_tujuan.kota"]').fill('Kota Bekasi');
  await page.locator('#field-tanggal_berangkat').fill(wibDate(1));
  await page.locator('#field-tanggal_kembali').fill(wibDate(2));
  await page.locator('[id="field-anggaran.instansi"]').fill('Sekretariat KPU Provinsi Jawa Barat');
  await page.locator('[id="field-anggaran.akun"]').fill('524111');
  await page.screenshot({ path: join(shots, 'sppd-form.png'), fullPage: true });
  await page.getByRole('button', { name: 'Simpan dan ajukan' }).click();
  await page.waitForURL(/\/sppd\/[0-9a-f]{32}$/);
  const orderUrl = page.url();
  const main = await page.locator('main').innerText();
  assert.match(main, /dalam persetujuan/, 'the order is in approval');
  assert.match(main, /Teguh Prasetyo/, 'the chain names the Kasubag');
  // Two days of uang harian in Jawa Barat at the demo SBM rate.
  assert.match(main, /Rp 860\.000/, 'the estimate is shown');
  await fitsThePhone(page, 'the order page');
  await page.screenshot({ path: join(shots, 'sppd-detail.png'), fullPage: true });

  const link = await eventually(() => taskLinkMailedTo(server.dataDir, 'kasubag@demo.paraf.test'), 'the Kasubag was mailed a link');
  const approver = await phonePage(browser);
  await approver.goto(link);
  await logIn(approver, 'kasubag@demo.paraf.test', 'paraf-demo');
  await approver.waitForURL(link);
  assert.match(await approver.locator('main').innerText(), /Kota Bekasi/);
  await approver.getByRole('button', { name: 'Setujui' }).click();
  // The Kasubag initials the SPT and SPPD: asked once more, then recorded.
  await approver.getByRole('button', { name: 'Ya, paraf' }).click();
  await approver.getByText('Keputusan Anda tercatat.').waitFor();

  let shown = '';
  for (let i = 0; i < 50; i++) {
    await page.goto(orderUrl);
    shown = await page.locator('main').innerText();
    if (/disetujui oleh Teguh Prasetyo/.test(shown)) break;
    await new Promise((res) => setTimeout(res, 100));
  }
  assert.match(shown, /disetujui oleh Teguh Prasetyo/, 'the timeline shows the step');
  assert.match(shown, /Dewi Kartika Sari/, 'the Kabag is next');
});
