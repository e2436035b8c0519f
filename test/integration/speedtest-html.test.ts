/**
 * `mailstead speedtest --demo --html`: the one-command demo end to end, and
 * its report opened in headless Chromium: charts drawn (non-empty SVG), no
 * console errors, no network request, fits a phone screen. With
 * UPDATE_SCREENSHOT=1 it also writes docs/speedtest.png.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, test } from 'node:test';
import { chromium } from 'playwright-core';
import { CLI, ROOT } from '../helpers/server.js';
import { speedtest } from './speedtest-checks.js';

const update = process.env.UPDATE_SCREENSHOT === '1';
const out = mkdtempSync(join(tmpdir(), 'speedtest-html-'));
after(() => rmSync(out, { recursive: true, force: true }));

test('--demo runs against a server of its own, plays the two-device story and writes a report that renders on a phone', async () => {
  const html = join(out, 'report.html');
  const json = join(out, 'report.json');
  const messages = update ? 600 : 60;
  const r = await speedtest(['--demo', '--demo-messages', String(messages), '--runs', update ? '3' : '1', '--html', html, '--json', json]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /Two devices, one account/);
  const report = JSON.parse(readFileSync(json, 'utf8'));
  assert.equal(report.demo, true);
  assert.equal(report.version, 2);
  // The server is a child process: the client's CPU time is its own, well below the wall time of a TOP per message.
  assert.ok(report.pop3.headerSync.cpuMs.median < report.pop3.headerSync.ms.median, 'client CPU below wall time');
  assert.equal(report.imap.listing.messages, messages);
  // The resync's new message is removed again, so POP3 (measured after IMAP's resync) sees the same mailbox.
  assert.equal(report.pop3.listing.messages, messages);
  assert.equal(report.imap.resync.newMessages, 1, 'the demo adds one message before each resync');
  assert.equal(report.pop3.resync.newMessages, 1);
  assert.ok(report.imap.push.ms.median > 0 && report.imap.coherence.ms.median > 0);
  const ids = (ms: Array<{ id: number; seen: boolean }>) => ms.map((m) => `${m.id}${m.seen ? '+' : ''}`).join(' ');
  const pop3End = report.story.pop3.at(-1);
  assert.deepEqual([ids(pop3End.laptop), ids(pop3End.phone)], ['1+ 2 3', '4 5'], 'POP3 splits the mailbox and the read state');
  const imapEnd = report.story.imap.at(-1);
  assert.deepEqual([ids(imapEnd.laptop), ids(imapEnd.phone)], ['1+ 3 4 5', '1+ 3 4 5'], 'IMAP shows one mailbox on both');

  const text = readFileSync(html, 'utf8');
  assert.doesNotMatch(text, /<script|<link|src=|url\((?!#)|https?:\/\/(?!www\.w3\.org)/i, 'self-contained: no script, stylesheet, image or font reference');

  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 412, height: 915 }, deviceScaleFactor: update ? 2 : 1 });
    const errors: string[] = [];
    const requests: string[] = [];
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('request', (req) => requests.push(req.url()));
    await page.goto(pathToFileURL(html).href);
    const charts = await page.$$eval('section svg', (svgs) =>
      svgs.map((s) => ({ marks: s.querySelectorAll('path, rect, line').length, width: s.getBoundingClientRect().width })),
    );
    assert.ok(charts.length >= 6, `charts: ${charts.length}`);
    const titles = await page.$$eval('section h2', (hs) => hs.map((h) => h.textContent));
    assert.ok(titles.includes('Measured here, and projected for your link'), titles.join(', '));
    assert.ok(titles.includes('Projected for your link'), 'the projections table');
    for (const c of charts) {
      assert.ok(c.marks > 5, 'each chart has drawn marks');
      assert.ok(c.width > 100 && c.width <= 412, `chart fits the phone width (${c.width})`);
    }
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `no horizontal scrolling on a phone (${overflow}px)`);
    assert.deepEqual(errors, []);
    assert.deepEqual(requests.filter((u) => !u.startsWith('file:')), []);
    // The top of the report (the verdict and the measured-and-projected chart) at a phone's width; the full page is ~7000 px tall.
    if (update) await page.screenshot({ path: join(ROOT, 'docs/speedtest.png'), fullPage: true, clip: { x: 0, y: 0, width: 412, height: 2300 } });
  } finally {
    await browser.close();
  }
});

/** The pids of a process's children (Linux /proc). */
function childrenOf(pid: number): number[] {
  const dir = `/proc/${pid}/task`;
  return readdirSync(dir).flatMap((t) => readFileSync(`${dir}/${t}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number));
}

test('--demo runs its server as a child process and removes it and its data on Ctrl-C', async () => {
  const demoDirs = () => new Set(readdirSync(tmpdir()).filter((n) => n.startsWith('mailstead-speedtest-demo-')));
  const before = demoDirs();
  const cli = spawn(process.execPath, [CLI, 'speedtest', '--demo', '--demo-messages', '300', '--runs', '50'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  const exited = new Promise<number | null>((resolve) => cli.once('exit', (code, signal) => resolve(code ?? (signal ? -1 : null))));
  // Measuring has begun once the first phase is done: the server is up.
  await new Promise<void>((resolve) =>
    cli.stderr.setEncoding('utf8').on('data', (t: string) => {
      stderr += t;
      if (/imap run 1\/50: listing done/.test(stderr)) resolve();
    }),
  );
  const servers = childrenOf(cli.pid!).filter((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes('serve'));
  assert.equal(servers.length, 1, 'one child process runs `mailstead serve`');
  const dirs = [...demoDirs()].filter((d) => !before.has(d));
  assert.equal(dirs.length, 1, 'one temporary data directory');
  cli.kill('SIGINT');
  assert.equal(await exited, 130, stderr);
  assert.equal(existsSync(join(tmpdir(), dirs[0])), false, 'the data directory is removed');
  assert.throws(() => process.kill(servers[0], 0), { code: 'ESRCH' }, 'the server process is gone');
});
