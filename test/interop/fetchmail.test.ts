/**
 * fetchmail 6.4 (Debian) retrieves from Mailstead in IMAP and POP3 mode over
 * verified TLS (sslcertck + sslcertfile), with `keep` and without, handing
 * each message to an MDA that writes it to a file. The messages arrive
 * intact, keep/no-keep leave the server as they should, a second run finds
 * nothing new, and fetchmail prints no error or warning.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { curl } from '../helpers/server.js';
import { imapSnapshot, problemLines } from './lib/mailbox-snapshot.js';
import { interopMessage, type MailsteadFixture, startMailstead } from './lib/mailstead.js';

let ms: MailsteadFixture;
let dir: string;
let runs = 0;

// fetchmail says this on every run as root (the CI container); it is about our test setup, not the server.
const ROOT_WARNING = /^fetchmail: WARNING: Running as root is discouraged\.$/;

/** Runs fetchmail once; returns its exit status and the messages the MDA wrote (CRLF-normalised). */
function fetchmail(proto: 'IMAP' | 'POP3', keep: boolean): { status: number | null; messages: string[] } {
  runs += 1;
  const out = join(dir, `out-${runs}`);
  mkdirSync(out);
  const port = proto === 'IMAP' ? ms.server.ports.imaps : ms.server.ports.pop3s;
  const rc = join(dir, `fetchmailrc-${runs}`);
  writeFileSync(
    rc,
    `set no syslog
poll localhost with proto ${proto} service ${port}${proto === 'POP3' ? ' uidl' : ''}
  user "${ms.user}" there with password "${ms.password}" is "root" here
  ssl sslcertck sslcertfile "${ms.server.certFile}"
  ${keep ? 'keep' : 'nokeep fetchall'}
  mda "/bin/sh -c 'cat > ${out}/msg.$$'"
`,
  );
  chmodSync(rc, 0o600); // fetchmail refuses a readable rc file that holds a password
  const r = spawnSync('fetchmail', ['-f', rc, '--nodetach'], {
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, FETCHMAILHOME: dir, HOME: dir },
  });
  const output = `${r.stdout}${r.stderr}`;
  assert.ok(r.status === 0 || r.status === 1, `fetchmail exited with ${r.status}:\n${output}`);
  const allowed = process.getuid?.() === 0 ? [ROOT_WARNING] : [];
  assert.deepEqual(problemLines(output, allowed), [], output);
  const messages = readdirSync(out).map((f) => readFileSync(join(out, f), 'latin1').replaceAll('\r\n', '\n'));
  return { status: r.status, messages };
}

/** fetchmail prepends a Received: header and hands the MDA LF line ends; the original must follow intact. */
function assertDelivered(messages: string[], ids: string[]): void {
  assert.equal(messages.length, ids.length, messages.join('\n=====\n'));
  for (const id of ids) {
    const original = interopMessage(id).replaceAll('\r\n', '\n');
    assert.ok(
      messages.some((m) => m.startsWith('Received: ') && m.endsWith(original)),
      `message ${id} not delivered intact:\n${messages.join('\n=====\n')}`,
    );
  }
}

async function inbox(): Promise<string[]> {
  return (await imapSnapshot(ms.imap)).INBOX ?? [];
}

before(async () => {
  ms = await startMailstead();
  dir = mkdtempSync(join(tmpdir(), 'mailstead-fetchmail-'));
  for (const id of ['m1', 'm2', 'm3']) ms.deliver(interopMessage(id));
});

after(async () => {
  await ms?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('IMAP with keep: fetches every unseen message, leaves them marked \\Seen; a second run finds nothing', async () => {
  const first = fetchmail('IMAP', true);
  assert.equal(first.status, 0);
  assertDelivered(first.messages, ['m1', 'm2', 'm3']);
  assert.deepEqual(await inbox(), ['<m1@interop.test> \\Seen', '<m2@interop.test> \\Seen', '<m3@interop.test> \\Seen']);
  const second = fetchmail('IMAP', true);
  assert.equal(second.status, 1, 'exit 1 means "no mail"');
  assert.deepEqual(second.messages, []);
});

test('IMAP without keep: fetches and deletes (fetchall also takes seen mail)', async () => {
  ms.deliver(interopMessage('m4'));
  const r = fetchmail('IMAP', false);
  assert.equal(r.status, 0);
  assertDelivered(r.messages, ['m1', 'm2', 'm3', 'm4']);
  assert.deepEqual(await inbox(), []);
});

test('POP3 with keep (UIDL): fetches all, leaves them on the server; a second run finds nothing', async () => {
  for (const id of ['p1', 'p2']) ms.deliver(interopMessage(id));
  const first = fetchmail('POP3', true);
  assert.equal(first.status, 0);
  assertDelivered(first.messages, ['p1', 'p2']);
  const list = curl(['--cacert', ms.server.certFile, '--user', `${ms.user}:${ms.password}`, `pop3s://localhost:${ms.server.ports.pop3s}/`]);
  assert.equal(list.stdout.toString('latin1').trim().split('\r\n').length, 2);
  const second = fetchmail('POP3', true);
  assert.equal(second.status, 1);
  assert.deepEqual(second.messages, []);
});

test('POP3 without keep: fetches and deletes', async () => {
  ms.deliver(interopMessage('p3'));
  const r = fetchmail('POP3', false);
  assert.equal(r.status, 0);
  assertDelivered(r.messages, ['p1', 'p2', 'p3']);
  assert.deepEqual(await inbox(), []);
});
