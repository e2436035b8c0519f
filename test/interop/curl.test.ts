/**
 * curl (Debian's libcurl, RFC 5092 IMAP URLs) reads Mailstead: LIST, whole
 * messages, sections and partials byte for byte, SEARCH, STORE and FETCH via
 * custom requests; POP3 LIST, RETR, UIDL, TOP and DELE. curl verifies the
 * certificate against the server's cert file and must print nothing on stderr.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { curl } from '../helpers/server.js';
import { imapSnapshot } from './lib/mailbox-snapshot.js';
import { interopMessage, type MailsteadFixture, startMailstead } from './lib/mailstead.js';

let ms: MailsteadFixture;

function run(url: string, ...args: string[]): string {
  const r = curl(['--cacert', ms.server.certFile, '--user', `${ms.user}:${ms.password}`, ...args, url]);
  assert.equal(r.status, 0, `curl ${args.join(' ')} ${url} exited with ${r.status}: ${r.stderr}`);
  assert.equal(r.stderr, '', r.stderr);
  return r.stdout.toString('latin1');
}
const imap = (path: string, ...args: string[]) => run(`imaps://localhost:${ms.server.ports.imaps}/${path}`, ...args);
const pop3 = (path: string, ...args: string[]) => run(`pop3s://localhost:${ms.server.ports.pop3s}/${path}`, ...args);

before(async () => {
  ms = await startMailstead();
  await ms.run('CREATE "Work/Reports"');
  for (const id of ['c1', 'c2', 'c3']) ms.deliver(interopMessage(id));
  ms.deliver(interopMessage('r1'), 'Work/Reports');
});
after(async () => {
  await ms?.stop();
});

test('IMAP LIST shows every mailbox', () => {
  const out = imap('');
  for (const name of ['INBOX', 'Work', 'Work/Reports', 'Sent', 'Trash']) {
    assert.match(out, new RegExp(`^\\* LIST \\([^)]*\\) "/" "?${name}"?\\r$`, 'm'), out);
  }
});

test('IMAP FETCH: whole message, sections and a partial, byte for byte', () => {
  const c2 = interopMessage('c2');
  assert.equal(imap('INBOX;UID=2'), c2);
  assert.equal(imap('INBOX;UID=2;SECTION=TEXT'), 'Body of c2.\r\n');
  assert.equal(imap('INBOX;UID=2;SECTION=HEADER.FIELDS%20(SUBJECT)'), 'Subject: interop c2\r\n\r\n');
  assert.equal(imap('INBOX;UID=2;PARTIAL=6.20'), c2.slice(6, 26));
  assert.equal(imap('Work%2FReports;UID=1'), interopMessage('r1'));
});

test('IMAP SEARCH, STORE and FETCH through custom requests', async () => {
  assert.equal(imap('INBOX?SUBJECT%20%22interop%20c3%22'), '* SEARCH 3\r\n');
  assert.equal(imap('INBOX?UNSEEN'), '* SEARCH 1 3\r\n', 'curl fetched UID 2 without PEEK, so it is \\Seen now');
  const stored = imap('INBOX', '-X', 'UID STORE 3 +FLAGS (\\Flagged)');
  assert.match(stored, /^\* 3 FETCH \((UID 3 )?FLAGS \(\\Flagged\)( UID 3)?\)\r\n$/);
  assert.equal(imap('INBOX', '-X', 'UID SEARCH FLAGGED'), '* SEARCH 3\r\n');
  const fetched = imap('INBOX', '-X', 'FETCH 1:* (UID FLAGS)');
  assert.equal(
    fetched,
    '* 1 FETCH (UID 1 FLAGS ())\r\n* 2 FETCH (UID 2 FLAGS (\\Seen))\r\n* 3 FETCH (UID 3 FLAGS (\\Flagged))\r\n',
  );
  const snap = await imapSnapshot(ms.imap);
  assert.deepEqual(snap.INBOX, ['<c1@interop.test>', '<c2@interop.test> \\Seen', '<c3@interop.test> \\Flagged']);
});

test('POP3 LIST, UIDL, TOP, RETR byte for byte, then DELE', async () => {
  const sizes = interopMessage('c1').length;
  assert.equal(pop3(''), `1 ${sizes}\r\n2 ${sizes}\r\n3 ${sizes}\r\n`);
  const uidl = pop3('', '-X', 'UIDL').trim().split('\r\n');
  assert.equal(uidl.length, 3);
  assert.equal(new Set(uidl.map((l) => l.split(' ')[1])).size, 3, 'UIDs are unique');
  assert.equal(pop3('', '-X', 'TOP 1 0'), interopMessage('c1').split('\r\n\r\n')[0] + '\r\n\r\n');
  assert.equal(pop3('1'), interopMessage('c1'));
  pop3('1', '-X', 'DELE', '-I');
  assert.equal(pop3(''), `1 ${sizes}\r\n2 ${sizes}\r\n`);
  assert.deepEqual((await imapSnapshot(ms.imap)).INBOX?.map((e) => e.split(' ')[0]), ['<c2@interop.test>', '<c3@interop.test>']);
});
