// What the browser tests share: Debian's Chromium driven by playwright-core (never a downloaded
// browser), a production build of the web app, and axe-core checks.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { AxeBuilder } from '@axe-core/playwright';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { totpCode, type Account } from './factories.js';
import type { TestServer } from './server.js';

export const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
export const WCAG = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic'];

/**
 * Builds the web app into a temporary folder, in a separate process with NODE_ENV=production (vitest's
 * NODE_ENV=test would bundle React's development build).
 */
export async function buildWebApp(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ausculta-web-'));
  await promisify(execFile)(process.execPath, [resolve('node_modules/vite/bin/vite.js'), 'build', 'web', '--outDir', dir, '--emptyOutDir', '--logLevel', 'warn'], {
    env: { ...process.env, NODE_ENV: 'production' },
  });
  return dir;
}

/** Headless Chromium contexts, each with a fresh profile, all closed and removed by `close()`. */
export class Browsers {
  readonly #contexts: Array<{ context: BrowserContext; dir: string }> = [];

  async newPage(extraArgs: string[] = []): Promise<{ context: BrowserContext; page: Page }> {
    const dir = await mkdtemp(join(tmpdir(), 'ausculta-chromium-'));
    const context = await chromium.launchPersistentContext(dir, { executablePath: CHROMIUM, headless: true, locale: 'fr-FR', args: [...CHROMIUM_ARGS, ...extraArgs], acceptDownloads: true });
    this.#contexts.push({ context, dir });
    return { context, page: context.pages()[0] ?? (await context.newPage()) };
  }

  async close(): Promise<void> {
    for (const { context, dir } of this.#contexts) {
      await context.close().catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    }
  }
}

/**
 * A Chromium for calls: fake camera and microphone, permission granted, and every call kept on
 * loopback — Chromium gathers no loopback candidates unless told to, and the page ignores remote
 * candidates that are not 127.0.0.1, so media never goes through the machine's external address
 * (../shared/REFERENCES.md, "Keep call traffic on loopback").
 */
export async function newCallPage(browsers: Browsers): Promise<Page> {
  const { context, page } = await browsers.newPage(['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', '--allow-loopback-in-peer-connection', '--autoplay-policy=no-user-gesture-required']);
  await context.addInitScript(`{
    const original = RTCPeerConnection.prototype.addIceCandidate;
    RTCPeerConnection.prototype.addIceCandidate = function (candidate) {
      const line = (candidate && candidate.candidate) || '';
      if (line !== '' && !/ 127\\.0\\.0\\.1 /.test(line)) return Promise.resolve();
      return original.call(this, candidate);
    };
  }`);
  return page;
}

export async function expectAccessible(page: Page, label: string): Promise<void> {
  const results = await new AxeBuilder({ page }).withTags(WCAG).analyze();
  const violations = results.violations.map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).join(' | ')}`);
  // A plain error rather than vitest's expect: benchmarks share this module outside vitest.
  if (violations.length > 0) throw new Error(`${label}: axe-core WCAG 2.1 AA violations:\n${violations.join('\n')}`);
}

export async function switchLanguage(page: Page, to: 'en' | 'fr'): Promise<void> {
  await page.getByRole('button', { name: to === 'en' ? 'Switch to English' : 'Passer en français' }).click();
  await page.locator(`html[lang="${to}"]`).waitFor({ state: 'attached' });
}

/** Logs `account` in from #/connexion with its password and TOTP code (the server's clock moves 30 s first, so the code is fresh). */
export async function logInWithTotp(server: TestServer, page: Page, account: Account): Promise<void> {
  await page.goto(`${server.url}/#/connexion`);
  await submitLoginWithTotp(server, page, account);
  await page.waitForURL(/#\/accueil$/);
}

/**
 * On the login page the app is showing (it may have been sent there from a protected page), signs
 * `account` in with its password and TOTP code; the app then goes on where it decides.
 */
export async function submitLoginWithTotp(server: TestServer, page: Page, account: Account): Promise<void> {
  await page.getByLabel('Adresse e-mail').fill(account.email);
  await page.getByLabel('Mot de passe', { exact: true }).fill(account.password);
  await page.getByRole('button', { name: 'Se connecter', exact: true }).click();
  server.advanceClock(30_000);
  await page.getByLabel('Code de votre application d’authentification').fill(totpCode(account.totpSecret ?? '', server.services.now()));
  await page.getByRole('button', { name: 'Vérifier' }).click();
}
