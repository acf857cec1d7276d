// Shared by the browser tests: the real `paraf serve --demo` on a temp data dir and port 0,
// and Debian's Chromium driven by playwright-core (it never downloads a browser).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
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
