/**
 * Dovecot's imaptest (docs/imaptest.md) against Mailstead over TLS: its
 * scripted tests, from a build outside the repository named by two
 * environment variables:
 *
 *   IMAPTEST=/tmp/imaptest/src/imaptest IMAPTEST_TESTS=/tmp/imaptest/src/tests
 *
 * Without them the test is skipped and says so. It reports the groups run,
 * failed (by name) and skipped because Mailstead does not announce the
 * capability a script needs (this imaptest version counts those as neither,
 * so they are found here from each script's `capabilities:` header). It
 * fails when a group fails that is not in KNOWN_FAILING.
 *
 * Also here: ENVELOPE of subjects folded with a TAB, compared with Dovecot.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { startDovecot } from '../helpers/dovecot.js';
import { q, WireClient } from './lib/imap-wire.js';
import { login, ok } from './lib/mailbox-snapshot.js';
import { startMailstead } from './lib/mailstead.js';

const IMAPTEST = process.env.IMAPTEST;
const IMAPTEST_TESTS = process.env.IMAPTEST_TESTS;
const missing =
  !IMAPTEST || !IMAPTEST_TESTS
    ? 'IMAPTEST and IMAPTEST_TESTS are not set (build imaptest as docs/imaptest.md says, then set both)'
    : !existsSync(IMAPTEST) || !existsSync(IMAPTEST_TESTS)
      ? `IMAPTEST (${IMAPTEST}) or IMAPTEST_TESTS (${IMAPTEST_TESTS}) does not exist`
      : null;

/** Groups that fail for a reason owned elsewhere; each must say why. */
const KNOWN_FAILING: Record<string, string> = {
};

/** Each script's name and the capabilities its header asks for (upper case). */
function scripts(dir: string): Array<{ name: string; capabilities: string[] }> {
  return readdirSync(dir)
    .filter((f) => !f.endsWith('.mbox') && statSync(join(dir, f)).isFile())
    .sort()
    .map((name) => {
      const header = readFileSync(join(dir, name), 'latin1').split('\n\n')[0] ?? '';
      const caps = /^capabilities:(.*)$/im.exec(header)?.[1] ?? '';
      return { name, capabilities: caps.trim().split(/\s+/).filter(Boolean).map((c) => c.toUpperCase()) };
    });
}

function run(cmd: string, args: string[], cwd: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, LD_LIBRARY_PATH: ['/usr/lib/dovecot', process.env.LD_LIBRARY_PATH].filter(Boolean).join(':') };
    const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString('latin1')));
    child.stderr.on('data', (d: Buffer) => (output += d.toString('latin1')));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, output }));
  });
}

test('imaptest scripted tests against Mailstead over TLS', { skip: missing ?? false, timeout: 600_000 }, async (t) => {
  const ms = await startMailstead('imaptest@example.com', 'imaptest-secret-1');
  try {
    const c = await login(ms.imap);
    const announced = new Set(
      ((await ok(c, 'CAPABILITY')).find((l) => l.startsWith('* CAPABILITY ')) ?? '').slice(13).toUpperCase().split(' '),
    );
    c.close();
    const all = scripts(IMAPTEST_TESTS!);
    const skipped = all
      .map((s) => ({ name: s.name, lacking: s.capabilities.filter((cap) => !announced.has(cap)) }))
      .filter((s) => s.lacking.length > 0);

    // The scripts read their .mbox files relative to the directory above them.
    const { output } = await run(
      IMAPTEST!,
      ['host=127.0.0.1', `port=${ms.server.ports.imaps}`, 'ssl=any-cert', `user=${ms.user}`, `pass=${ms.password}`, `test=${IMAPTEST_TESTS}`],
      dirname(IMAPTEST_TESTS!),
    );
    const summary = /^(\d+) test groups: (\d+) failed/m.exec(output);
    assert.ok(summary, `no imaptest summary in its output:\n${output.slice(-4000)}`);
    const failed = [...new Set([...output.matchAll(/^\*\*\* Test (\S+) /gm)].map((m) => m[1]!))].sort();
    t.diagnostic(`imaptest: ${summary[1]} groups, ${all.length - skipped.length} run, ${failed.length} failed, ${skipped.length} skipped for a missing capability`);
    if (failed.length) t.diagnostic(`failed: ${failed.join(' ')}`);
    for (const s of skipped) t.diagnostic(`skipped: ${s.name} (not announced: ${s.lacking.join(' ')})`);
    for (const line of output.split('\n').filter((l) => /^(base protocol|extensions): /.test(l))) t.diagnostic(line);
    assert.equal(Number(summary[2]), failed.length, output.slice(-4000));
    const unexpected = failed.filter((g) => !(g in KNOWN_FAILING));
    assert.deepEqual(unexpected, [], `imaptest groups failed:\n${output.slice(-8000)}`);
  } finally {
    await ms.stop();
  }
});

/** A response line with each `{n}\r\n` literal (as WireClient inlines them) written as a quoted string, so wire forms compare alike. */
function quoteLiterals(line: string): string {
  let out = '';
  let i = 0;
  for (let m = /\{(\d+)\}\r\n/g.exec(line.slice(i)); m; m = /\{(\d+)\}\r\n/g.exec(line.slice(i))) {
    const start = i + m.index;
    const body = start + m[0].length;
    const n = Number(m[1]);
    out += line.slice(i, start) + q(line.slice(body, body + n));
    i = body + n;
  }
  return out + line.slice(i);
}

test('ENVELOPE of a subject and a display name folded with a TAB reads as Dovecot sends it', { timeout: 180_000 }, async () => {
  const headers = [
    'From: a@example.org\r\nSubject: first\r\n\tsecond',
    'From: a@example.org\r\nSubject: tab\there  and\r\n  spaces',
    'From: "Na\r\n\tme" <a@example.org>\r\nSubject: x\r\nDate: Mon, 1 Jan 2024\r\n\t00:00:00 +0000',
  ];
  const messages = headers.map((h) => `${h}\r\n\r\nbody\r\n`);
  const fetchAll = async (port: number, cert: string, user: string, password: string): Promise<string[]> => {
    const c = await WireClient.open(port, cert);
    try {
      await c.readLine();
      await c.command(`LOGIN ${q(user)} ${q(password)}`);
      await c.command('EXAMINE INBOX');
      return (await c.command('FETCH 1:* (ENVELOPE)')).filter((l) => l.startsWith('* ')).map(quoteLiterals);
    } finally {
      c.close();
    }
  };
  const dv = await startDovecot();
  const ms = await startMailstead();
  try {
    for (const m of messages) {
      await dv.deliver(m);
      ms.deliver(m);
    }
    const theirs = await fetchAll(dv.imapsPort, dv.certPem, dv.user, dv.password);
    const mine = await fetchAll(ms.imap.port, ms.imap.certPem, ms.user, ms.password);
    assert.equal(theirs.length, messages.length, theirs.join('\n'));
    assert.deepEqual(mine, theirs);
  } finally {
    await ms.stop();
    await dv.stop();
  }
});
