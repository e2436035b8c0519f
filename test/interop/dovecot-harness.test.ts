/**
 * The Dovecot reference harness itself works: TLS with the generated cert on
 * imaps and pop3s, login for both accounts, delivery into INBOX and into a
 * new mailbox, and isolation between the two accounts.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type DovecotInstance, startDovecot } from '../helpers/dovecot.js';
import { curl } from '../helpers/server.js';
import { q, WireClient } from './lib/imap-wire.js';

let dv: DovecotInstance;

before(async () => {
  dv = await startDovecot();
});
after(async () => {
  await dv?.stop();
});

const message = (subject: string) =>
  `From: Sender <sender@example.org>\r\nTo: alice@example.com\r\nSubject: ${subject}\r\nMessage-ID: <${subject}@example.org>\r\n\r\nBody of ${subject}\r\n`;

test('imaps: TLS verifies against the generated cert, login works, a wrong password fails', async () => {
  const c = await WireClient.open(dv.imapsPort, dv.certPem);
  try {
    assert.match(await c.readLine(), /^\* OK /);
    const bad = await c.command(`LOGIN ${q(dv.user)} ${q('wrong')}`);
    assert.match(bad.at(-1)!, /^t1 NO /);
    const good = await c.command(`LOGIN ${q(dv.user)} ${q(dv.password)}`);
    assert.match(good.at(-1)!, /^t2 OK /);
    await c.command('LOGOUT');
  } finally {
    c.close();
  }
});

test('deliver puts mail in INBOX and in a named mailbox; imaps and pop3s read it back byte for byte', async () => {
  const m1 = message('harness-one');
  await dv.deliver(m1);
  await dv.deliver(message('harness-two'), 'Archive/2026');

  const c = await WireClient.open(dv.imapsPort, dv.certPem);
  try {
    await c.readLine();
    await c.command(`LOGIN ${q(dv.user)} ${q(dv.password)}`);
    const status = await c.command('STATUS "Archive/2026" (MESSAGES)');
    assert.ok(status.includes('* STATUS Archive/2026 (MESSAGES 1)'), status.join('\n'));
    await c.command('SELECT INBOX');
    const fetched = await c.command('UID FETCH 1:* (BODY.PEEK[])');
    assert.ok(fetched.some((l) => l.includes(`{${m1.length}}\r\n${m1})`)), fetched.join('\n'));
  } finally {
    c.close();
  }

  const pop = curl(['--cacert', dv.certFile, '--user', `${dv.user}:${dv.password}`, `pop3s://localhost:${dv.pop3sPort}/1`]);
  assert.equal(pop.status, 0, pop.stderr);
  assert.equal(pop.stdout.toString('latin1'), m1);
});

test('the second account is separate from the first', async () => {
  await dv.deliver(message('for-bob'), undefined, dv.user2);
  const list = curl(['--cacert', dv.certFile, '--user', `${dv.user2}:${dv.password2}`, `pop3s://localhost:${dv.pop3sPort}/`]);
  assert.equal(list.status, 0, list.stderr);
  assert.equal(list.stdout.toString('latin1').trim().split('\r\n').length, 1);
  const c = await WireClient.open(dv.imapsPort, dv.certPem);
  try {
    await c.readLine();
    await c.command(`LOGIN ${q(dv.user2)} ${q(dv.password2)}`);
    const listed = await c.command('LIST "" "*"');
    assert.ok(!listed.some((l) => l.includes('Archive/2026')), listed.join('\n'));
  } finally {
    c.close();
  }
  assert.doesNotMatch(dv.log(), /\b(Error|Fatal|Panic):/);
});
