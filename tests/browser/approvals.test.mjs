// An approver on a phone: the task from the mail link, confirmed with one tap, once.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer, launchBrowser, phonePage, logIn, apiToken, eventually, taskLinkMailedTo } from './harness.mjs';

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

test('an approver opens the mailed link on a phone, approves once, and a second tap changes nothing', async () => {
  const staf = await apiToken(server.base, 'staf@demo.paraf.test');
  const r = await fetch(`${server.base}/api/v1/approvals`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${staf}` },
    body: JSON.stringify({ subject: 'Nota dinas rapat koordinasi', document: 'ND-7' }),
  });
  assert.equal(r.status, 201);

  const link = await eventually(() => taskLinkMailedTo(server.dataDir, 'kasubag@demo.paraf.test'), 'the first approver was mailed a link');

  const page = await phonePage(browser);
  await page.goto(link);
  assert.match(new URL(page.url()).pathname, /^\/login/, 'the link asks to log in first');
  await logIn(page, 'kasubag@demo.paraf.test', 'paraf-demo');
  await page.waitForURL(link);
  assert.match(await page.locator('main').innerText(), /Nota dinas rapat koordinasi/);
  await page.screenshot({ path: join(shots, 'task.png'), fullPage: true });
  const csrf = await page.locator('input[name=csrf]').first().inputValue();
  await page.getByRole('button', { name: 'Setujui' }).click();
  await page.waitForLoadState();
  // A second tap, as an impatient thumb would: refused, nothing changes.
  const again = await page.request.post(link, { form: { csrf, decision: 'reject', note: 'salah tekan' } });
  assert.equal(again.status(), 409);
  assert.match(await again.text(), /sudah diputuskan/);

  // The next approver now has the task.
  await eventually(() => taskLinkMailedTo(server.dataDir, 'kabag@demo.paraf.test'), 'the chain moved on to the Kabag');
  // The decided task says so when opened again.
  await page.goto(link);
  assert.match(await page.locator('main').innerText(), /sudah diputuskan|disetujui/i);
});
