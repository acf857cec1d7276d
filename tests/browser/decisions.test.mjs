// What an approver sees before deciding, on a phone and on a desktop: the travel order's
// trip and costs and the Surat Tugas rendered page by page before signing, then a
// confirmation naming the document and the role; and a returned request whose reason and
// returner reach the requester by mail and at the top of the order, with the edit link.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  startServer, launchBrowser, phonePage, desktopPage, logIn, apiToken, eventually, mailsTo,
  taskLinkMailedTo, overflow,
} from './harness.mjs';

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

const demo = (local) => `${local}@demo.paraf.test`;
const BULAN = ['Januari', 'Februari', 'Maret', 'April', 'Mei', 'Juni', 'Juli', 'Agustus',
  'September', 'Oktober', 'November', 'Desember'];

// WIB date `days` from today: [YYYY-MM-DD, "7 Desember 2026"].
function wibDate(days) {
  const d = new Date(Date.now() + 7 * 3600_000 + days * 86400_000);
  return [d.toISOString().slice(0, 10), `${d.getUTCDate()} ${BULAN[d.getUTCMonth()]} ${d.getUTCFullYear()}`];
}

const rupiah = (n) => `Rp ${String(n).replace(/\B(?=(\d{3})+(?!\d))/g, '.')}`;

async function api(method, path, token, body) {
  const r = await fetch(`${server.base}/api/v1${path}`, {
    method,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  return { status: r.status, json: text ? JSON.parse(text) : null };
}

// A trip of staf to Jakarta, submitted; its id and the order as the API shows it.
async function submittedTrip(maksud, from, to) {
  const staf = await apiToken(server.base, demo('staf'));
  const created = await api('POST', '/sppd', staf, {
    pelaksana: [demo('staf')],
    maksud,
    alat_angkut: 'kereta api',
    tempat_tujuan: { provinsi: 'DKI Jakarta', kota: 'Jakarta Pusat' },
    tanggal_berangkat: wibDate(from)[0],
    tanggal_kembali: wibDate(to)[0],
    anggaran: { instansi: 'Sekretariat KPU Provinsi Jawa Barat', akun: '524111' },
  });
  assert.equal(created.status, 201, JSON.stringify(created.json));
  const id = created.json.id;
  const submitted = await api('POST', `/sppd/${id}/submit`, staf);
  assert.equal(submitted.status, 200, JSON.stringify(submitted.json));
  return submitted.json;
}

// The open task of order `id` that `local` may decide, once the workflow asked them.
async function taskOf(local, id) {
  const token = await apiToken(server.base, demo(local));
  return eventually(async () => (await api('GET', `/sppd/${id}`, token)).json.task_id, `the task of ${local}`);
}

async function approveByApi(local, id) {
  const task = await taskOf(local, id);
  const token = await apiToken(server.base, demo(local));
  const r = await api('POST', `/tasks/${task}/decision`, token, { decision: 'approve' });
  assert.equal(r.status, 200, JSON.stringify(r.json));
}

const screens = [
  ['phone', (b) => phonePage(b)],
  ['desktop', (b) => desktopPage(b)],
];

for (const [screen, open] of screens) {
  test(`on a ${screen} the Sekretaris reads the trip and the Surat Tugas pages, then confirms signing it as Sekretaris`, async () => {
    const [from, to] = screen === 'phone' ? [10, 11] : [14, 15];
    const maksud = `Rapat koordinasi logistik pemilu (${screen})`;
    const order = await submittedTrip(maksud, from, to);
    for (const who of ['kasubag', 'kabag', 'ppk']) await approveByApi(who, order.id);
    const task = await taskOf('sekretaris', order.id);
    const link = await eventually(() => {
      const l = taskLinkMailedTo(server.dataDir, demo('sekretaris'));
      return l?.endsWith(task) ? l : null;
    }, 'the Sekretaris was mailed the link');

    const page = await open(browser);
    await page.goto(link);
    await logIn(page, demo('sekretaris'), 'paraf-demo');
    await page.waitForURL(link);

    // The trip: dates for people, travellers with their jabatan, where, how, what it costs.
    const subject = await page.locator('[data-subject]').innerText();
    for (const want of [maksud, `${wibDate(from)[1]} – ${wibDate(to)[1]}`, 'Ahmad Fauzi, S.E.',
      'Analis Keuangan', 'Jakarta Pusat, DKI Jakarta', 'kereta api', '524111', rupiah(order.estimate.total)]) {
      assert.ok(subject.includes(want), `${want} is shown: ${subject}`);
    }
    assert.doesNotMatch(subject, /\d{4}-\d{2}-\d{2}/, 'no ISO date');
    const orderLink = page.getByRole('link', { name: 'Buka halaman pengajuan' });
    assert.equal(await orderLink.getAttribute('href'), `/sppd/${order.id}`);

    // The Surat Tugas he signs, as a page drawn in the document's own face.
    const spt = page.locator('details[data-document="1"]');
    assert.match(await spt.locator('summary').innerText(), /Surat Tugas · Anda menandatangani dokumen ini/);
    const sheet = spt.locator('svg.doc-page').first();
    await sheet.scrollIntoViewIfNeeded();
    assert.ok(await sheet.isVisible(), 'the first page is shown, unfolded');
    assert.ok(await sheet.locator('text', { hasText: 'SURAT TUGAS' }).first().isVisible());
    assert.ok(await sheet.locator('text', { hasText: 'Analis Keuangan' }).first().isVisible(), 'the traveller is on the page');
    const box = await sheet.boundingBox();
    const viewport = page.viewportSize();
    assert.ok(box.width >= viewport.width * (screen === 'phone' ? 0.85 : 0.5), `the page is ${box.width}px wide`);
    assert.ok(box.height > box.width * 1.3, 'an A4 sheet, portrait');
    const faces = await page.evaluate(async () => {
      await document.fonts.ready;
      return [...document.fonts].filter((f) => f.family.includes('paraf Serif') && f.status === 'loaded').length;
    });
    assert.ok(faces >= 1, 'the document face loaded (allowed by the page policy)');
    assert.equal(await spt.getByRole('link', { name: /Buka sebagai PDF/ }).getAttribute('href'), `/tasks/${task}/pratinjau/1`);
    assert.ok((await overflow(page)) <= 1, `the task page scrolls sideways by ${await overflow(page)}px`);
    await page.screenshot({ path: join(shots, `task-sign-${screen}.png`), fullPage: true });
    await sheet.screenshot({ path: join(shots, `task-sign-spt-${screen}.png`) });

    // Approving asks first, naming the document and the role, at the top of the page.
    await page.getByRole('button', { name: 'Setujui' }).click();
    const question = page.locator('[data-confirm]');
    await question.waitFor();
    const sentence = await question.innerText();
    assert.match(sentence, /^Anda akan menandatangani Surat Tugas untuk “Perjalanan dinas ke Jakarta Pusat, DKI Jakarta: /);
    assert.match(sentence, /sebagai Sekretaris KPU Provinsi Jawa Barat\.$/);
    // The page opens at the question, its answer on screen.
    const yes = page.getByRole('button', { name: 'Ya, tandatangani' });
    const at = await yes.boundingBox();
    assert.ok(at.y >= 0 && at.y + at.height <= viewport.height, `the button is at ${at.y}px`);
    await page.screenshot({ path: join(shots, `task-confirm-${screen}.png`) });
    await yes.click();
    await page.getByText('Keputusan Anda tercatat.').waitFor();

    // The sign step ran: the order is approved, its SPT numbered.
    const staf = await apiToken(server.base, demo('staf'));
    const approved = await eventually(async () => {
      const o = (await api('GET', `/sppd/${order.id}`, staf)).json;
      return o.status === 'approved' ? o : null;
    }, 'the order approved and signed', 600);
    assert.ok(approved.numbers.spt, 'the SPT has its number');
  });

  test(`on a ${screen} a returned request shows its reason and who returned it in the mail and at the top of the order, with the edit link`, async () => {
    const [from, to] = screen === 'phone' ? [18, 19] : [22, 23];
    const order = await submittedTrip(`Bimbingan teknis tata naskah dinas (${screen})`, from, to);
    const task = await taskOf('kasubag', order.id);
    const reason = `Lampirkan undangan bimtek dari KPU RI (${screen})`;

    const approver = await open(browser);
    await approver.goto(`${server.base}/tasks/${task}`);
    await logIn(approver, demo('kasubag'), 'paraf-demo');
    await approver.waitForURL(`${server.base}/tasks/${task}`);
    // Approve, return and reject look different.
    const colour = (name) => approver.getByRole('button', { name, exact: true })
      .evaluate((b) => getComputedStyle(b).backgroundColor);
    const [approve, ret, reject] = [await colour('Setujui'), await colour('Kembalikan untuk perbaikan'), await colour('Tolak')];
    assert.ok(approve !== ret && ret !== reject && approve !== reject, `${approve} ${ret} ${reject}`);
    // No reason, no refusal: the browser holds the form (and the server would say 422).
    await approver.getByRole('button', { name: 'Tolak', exact: true }).click();
    assert.equal(approver.url(), `${server.base}/tasks/${task}`);
    assert.ok(await approver.locator('#field-note').evaluate((t) => t.validity.valueMissing));
    await approver.getByLabel('Alasan', { exact: true }).fill(reason);
    await approver.screenshot({ path: join(shots, `task-return-${screen}.png`), fullPage: true });
    await approver.getByRole('button', { name: 'Kembalikan untuk perbaikan' }).click();
    await approver.getByText('Keputusan Anda tercatat.').waitFor();

    // The requester's "Mohon perbaikan" mail: the reason, who (name and role), the edit page.
    const mail = await eventually(
      () => mailsTo(server.dataDir, demo('staf')).find((m) => m.text.includes(reason)),
      'the revision mail',
    );
    assert.match(mail.subject, /Mohon perbaikan/);
    assert.ok(mail.text.includes('Teguh Prasetyo, S.E. (Kepala Subbagian Keuangan)'), mail.text);
    const edit = `${server.base}/sppd/${order.id}/ubah`;
    assert.ok(mail.text.includes(edit), mail.text);

    // The order page says it first, on the first screen, with the edit link.
    const page = await open(browser);
    await page.goto(`${server.base}/sppd/${order.id}`);
    await logIn(page, demo('staf'), 'paraf-demo');
    await page.waitForURL(`${server.base}/sppd/${order.id}`);
    const card = page.locator('[data-returned]');
    const shown = await card.innerText();
    assert.ok(shown.includes(reason), shown);
    assert.ok(shown.includes('Teguh Prasetyo, S.E. (Kepala Subbagian Keuangan)'), shown);
    assert.ok((await card.boundingBox()).y < page.viewportSize().height, 'the reason is on the first screen');
    assert.ok((await overflow(page)) <= 1, 'the order page fits the screen');
    await page.screenshot({ path: join(shots, `sppd-returned-${screen}.png`) });
    await card.getByRole('link', { name: 'Ubah pengajuan' }).click();
    await page.waitForURL(edit);
    assert.equal(await page.locator('#field-maksud').inputValue(), `Bimbingan teknis tata naskah dinas (${screen})`);
  });
}
