// Headless Chromium (Debian's) drives the real `paraf serve --demo` through its pages.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer, launchBrowser, phonePage as newPhonePage, logIn } from './harness.mjs';

const shots = join(dirname(fileURLToPath(import.meta.url)), 'test-results');
let server, base, browser;

before(async () => {
  mkdirSync(shots, { recursive: true });
  server = await startServer();
  base = server.base;
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  server?.stop();
});

const phonePage = (extra = {}) => newPhonePage(browser, extra);

test('a demo user logs in through the page and lands on the dashboard', async () => {
  const page = await phonePage();
  await page.goto(`${base}/`);
  assert.match(new URL(page.url()).pathname, /^\/login/, 'the dashboard asks to log in first');
  await logIn(page, 'staf@demo.paraf.test', 'paraf-demo');
  await page.waitForURL(`${base}/`);
  assert.match(await page.locator('body').innerText(), /Ahmad Fauzi/, 'the signed-in name is shown');
  for (const counter of ['Menunggu paraf/persetujuan', 'Menunggu tanda tangan', 'Disposisi belum dibaca', 'Agenda hari ini']) {
    assert.ok(await page.getByText(counter).first().isVisible(), `${counter} is shown`);
  }
  // The four services are in the navigation.
  const nav = await page.getByRole('navigation').first().innerText();
  for (const service of ['e-agenda', 'e-disposisi', 'e-absensi', 'e-SPPD']) {
    assert.match(nav.toLowerCase(), new RegExp(service.toLowerCase()), `${service} in navigation`);
  }
  // Nothing overflows a 360 px phone screen.
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `page is ${overflow}px wider than the phone`);
  await page.screenshot({ path: join(shots, 'dashboard.png'), fullPage: true });
  // Staff do not see the admin pages.
  const res = await page.goto(`${base}/admin/employees`);
  assert.equal(res.status(), 403);
});

test('a wrong password is shown on the form, not as raw JSON', async () => {
  const page = await phonePage();
  await page.goto(`${base}/login`);
  await logIn(page, 'staf@demo.paraf.test', 'salah-sandi');
  assert.match(new URL(page.url()).pathname, /^\/login/);
  const alert = page.getByRole('alert').first();
  assert.ok(await alert.isVisible(), 'an error summary is shown');
  assert.equal(await page.getByLabel('NIP atau email').inputValue(), 'staf@demo.paraf.test', 'login is kept');
  await page.screenshot({ path: join(shots, 'login-error.png'), fullPage: true });
});

test('the pages speak English with ?lang=en or an English browser', async () => {
  const english = await phonePage({ locale: 'en-US' });
  await english.goto(`${base}/login`);
  assert.ok(await english.getByLabel('NIP or email').isVisible());
  const page = await phonePage();
  await page.goto(`${base}/login?lang=en`);
  await page.getByLabel('NIP or email').fill('198503122010011003');
  assert.ok(await page.getByRole('button', { name: 'Sign in' }).isVisible());
});

test('an admin logs in by NIP and opens the employee list', async () => {
  const page = await phonePage();
  await page.goto(`${base}/login`);
  await logIn(page, '19910515 201503 1 015', 'paraf-demo');
  await page.waitForURL(`${base}/`);
  await page.goto(`${base}/admin/employees`);
  assert.match(await page.getByRole('main').innerText(), /Ahmad Fauzi/);
  await page.screenshot({ path: join(shots, 'admin-employees.png'), fullPage: true });
});
