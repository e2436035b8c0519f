/**
 * `mailstead speedtest --demo --html`: the one-command demo end to end, and
 * its report opened in headless Chromium: charts drawn (non-empty SVG), no
 * console errors, no network request, fits a phone screen. With
 * UPDATE_SCREENSHOT=1 it also writes docs/speedtest.png.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, test } from 'node:test';
import { chromium } from 'playwright-core';
import { ROOT } from '../helpers/server.js';
import { speedtest } from './speedtest-checks.js';

const update = process.env.UPDATE_SCREENSHOT === '1';
const out = mkdtempSync(join(tmpdir(), 'speedtest-html-'));
after(() => rmSync(out, { recursive: true, force: true }));

test('--demo runs against an embedded server, plays the two-device story and writes a report that renders on a phone', async () => {
  const html = join(out, 'report.html');
  const json = join(out, 'report.json');
  const messages = update ? 600 : 60;
  const r = await speedtest(['--demo', '--demo-messages', String(messages), '--runs', update ? '3' : '1', '--html', html, '--json', json]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /Two devices, one account/);
  const report = JSON.parse(readFileSync(json, 'utf8'));
  assert.equal(report.demo, true);
  assert.equal(report.imap.listing.messages, messages);
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
    assert.ok(charts.length >= 5, `charts: ${charts.length}`);
    for (const c of charts) {
      assert.ok(c.marks > 5, 'each chart has drawn marks');
      assert.ok(c.width > 100 && c.width <= 412, `chart fits the phone width (${c.width})`);
    }
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `no horizontal scrolling on a phone (${overflow}px)`);
    assert.deepEqual(errors, []);
    assert.deepEqual(requests.filter((u) => !u.startsWith('file:')), []);
    // The top of the report (verdict and charts) at a phone's width; the full page is ~5000 px tall.
    if (update) await page.screenshot({ path: join(ROOT, 'docs/speedtest.png'), fullPage: true, clip: { x: 0, y: 0, width: 412, height: 1900 } });
  } finally {
    await browser.close();
  }
});
