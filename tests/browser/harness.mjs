// Shared by the browser tests: the real `paraf serve --demo` on a temp data dir and port 0,
// and Debian's Chromium driven by playwright-core (it never downloads a browser).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const bin = process.env.PARAF_BIN ?? join(here, '..', '..', 'target', 'debug', 'paraf');

/// Starts the server; resolves to { base, dataDir, stop }.
export function startServer() {
  const root = mkdtempSync(join(tmpdir(), 'paraf-browser-'));
  const dataDir = join(root, 'data');
  const child = spawn(bin, ['serve', '--demo', '--port', '0', '--data-dir', dataDir], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, PARAF_LOG: 'warn' },
  });
  const stop = () => {
    child.kill('SIGKILL');
    rmSync(root, { recursive: true, force: true });
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('paraf did not start in 120 s')), 120_000);
    child.on('exit', (code) => reject(new Error(`paraf exited early with ${code}`)));
    createInterface({ input: child.stdout }).on('line', (line) => {
      const m = line.match(/^paraf listening on (\S+)/);
      if (m) {
        clearTimeout(timer);
        resolve({ base: m[1], dataDir, stop });
      }
    });
  });
}

export function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

// A phone-sized page in Indonesian: the approvers' usual screen.
export async function phonePage(browser, extra = {}) {
  const ctx = await browser.newContext({ viewport: { width: 360, height: 740 }, locale: 'id-ID', ...extra });
  return ctx.newPage();
}

export async function logIn(page, login, password) {
  await page.getByLabel('NIP atau email').fill(login);
  await page.getByLabel('Kata sandi').fill(password);
  await page.getByRole('button', { name: 'Masuk' }).click();
}

// The mails sent to `to`, newest first, read from the outbox like a mail client would:
// { subject, text } with the transfer encoding undone.
export function mailsTo(dataDir, to) {
  const outbox = join(dataDir, 'outbox');
  let files = [];
  try {
    files = readdirSync(outbox).filter((f) => f.endsWith('.eml')).sort().reverse();
  } catch {
    return [];
  }
  const mails = [];
  for (const f of files) {
    const raw = readFileSync(join(outbox, f), 'utf8');
    const split = raw.search(/\r?\n\r?\n/);
    const head = raw.slice(0, split).replace(/\r?\n[ \t]+/g, ' ');
    const body = raw.slice(split).trim();
    const header = (name) => (head.match(new RegExp(`^${name}: (.*)$`, 'mi')) ?? [])[1] ?? '';
    if (!header('To').includes(to)) continue;
    const encoding = header('Content-Transfer-Encoding').toLowerCase();
    let text = body;
    if (encoding === 'base64') {
      text = Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
    } else if (encoding === 'quoted-printable') {
      const bytes = body.replace(/=\r?\n/g, '').replace(/\r\n/g, '\n');
      text = Buffer.from(bytes.replace(/=([0-9A-F]{2})/gi, (_, h) => String.fromCharCode(parseInt(h, 16))), 'latin1').toString('utf8');
    }
    mails.push({ subject: decodeWords(header('Subject')), text: text.replace(/\r\n/g, '\n') });
  }
  return mails;
}

// RFC 2047 encoded words (=?utf-8?b?…?= / =?utf-8?q?…?=) in a header.
function decodeWords(value) {
  return value.replace(/=\?utf-8\?([bq])\?([^?]*)\?=\s*/gi, (_, kind, data) => kind.toLowerCase() === 'b'
    ? Buffer.from(data, 'base64').toString('utf8')
    : Buffer.from(data.replace(/_/g, ' ').replace(/=([0-9A-F]{2})/gi, (__, h) => String.fromCharCode(parseInt(h, 16))), 'latin1').toString('utf8'));
}

// Waits until `find()` gives something (mail is written by the workflow, a moment later).
export async function eventually(find, what, tries = 150) {
  for (let i = 0; i < tries; i++) {
    const found = await find();
    if (found) return found;
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new Error(`${what}: not seen in ${tries / 10} s`);
}

// The newest mailed task link to `to`.
export function taskLinkMailedTo(dataDir, to) {
  for (const m of mailsTo(dataDir, to)) {
    const link = m.text.match(/https?:\/\/\S+\/tasks\/[0-9a-f]+/);
    if (link) return link[0];
  }
  return null;
}

// A bearer token of a demo user, for setting the scene through the API.
export async function apiToken(base, login) {
  const r = await fetch(`${base}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ login, password: 'paraf-demo' }),
  });
  if (r.status !== 200) throw new Error(`login ${login}: ${r.status}`);
  return (await r.json()).token;
}

// The horizontal overflow of the page in px (0 when it fits the viewport).
export async function overflow(page) {
  return page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
}

// A desktop-sized page in Indonesian.
export async function desktopPage(browser, extra = {}) {
  const ctx = await browser.newContext({ viewport: { width: 1366, height: 768 }, locale: 'id-ID', ...extra });
  return ctx.newPage();
}
