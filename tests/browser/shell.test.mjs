// Headless Chromium (Debian's) drives the real `paraf serve --demo` through its pages.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const bin = process.env.PARAF_BIN ?? join(here, '..', '..', 'target', 'debug', 'paraf');
const shots = join(here, 'test-results');
let server, base, dataDir, browser;

function startServer() {
  dataDir = mkdtempSync(join(tmpdir(), 'paraf-browser-'));
  server = spawn(bin, ['serve', '--demo', '--port', '0', '--data-dir', join(dataDir, 'data')], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, PARAF_LOG: 'warn' },
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('paraf did not start in 120 s')), 120_000);
    server.on('exit', (code) => reject(new Error(`paraf exited early with ${code}`)));
    createInterface({ input: server.stdout }).on('line', (line) => {
      const m = line.match(/^paraf listening on (\S+)/);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
  });
}

before(async () => {
  mkdirSync(shots, { recursive: true });
  base = await startServer();
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  await browser?.close();
  server?.kill('SIGKILL');
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

// A phone-sized page: the approvers' usual screen.
async function phonePage(extra = {}) {
  const ctx = await browser.newContext({ viewport: { width: 360, height: 740 }, locale: 'id-ID', ...extra });
  return ctx.newPage();
}

async function logIn(page, login, password) {
  await page.getByLabel('NIP atau email').fill(login);
  await page.getByLabel('Kata sandi').fill(password);
  await page.getByRole('button', { name: 'Masuk' }).click();
}

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
