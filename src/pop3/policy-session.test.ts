/**
 * POP3 sessions under each account policy and with device tags (issue 5),
 * driven through the fake connection against a real in-memory store.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { FakeConnection } from '../../test/helpers/fake-connection.js';
import { MailDomain } from '../domain/mail-domain.js';
import { DEFAULT_POP3_POLICY, parsePop3Login, POP3_DOWNLOADED_KEYWORD, type Pop3Policy } from '../domain/pop3-policy.js';
import { LocalBus } from '../notify/bus.js';
import { silentLogger } from '../observability/log.js';
import { openSqliteStore } from '../store/sqlite/index.js';
import type { MailStore } from '../store/types.js';
import { encodePlain } from '../protocol/sasl/plain.js';
import { createPop3Session } from './session.js';

let store: MailStore;
let domain: MailDomain;
let bus: LocalBus;
let counter = 0;

before(async () => {
  store = await openSqliteStore(':memory:');
  bus = new LocalBus();
  domain = new MailDomain(store, bus);
});
after(async () => {
  await store.close();
});

const mail = (subject: string) => Buffer.from(`From: a@example.com\r\nSubject: ${subject}\r\n\r\n${subject} body\r\n`);

async function account(policy: Partial<Pop3Policy> = {}, subjects = ['one', 'two']) {
  const address = `policy${++counter}@example.com`;
  const created = await domain.createAccount(address, 'pw');
  if (Object.keys(policy).length > 0) await store.setPop3Policy(created.id, { ...DEFAULT_POP3_POLICY, ...policy });
  for (const s of subjects) await domain.deliver(address, mail(s));
  return { address, id: created.id };
}

const SINGLE = /^[^\n]*\r\n$/;
const MULTI = /^(-ERR[^\n]*\r\n|\+OK[\s\S]*\r\n\.\r\n)$/;

async function cmd(conn: FakeConnection, line: string, multi = false): Promise<string> {
  conn.take();
  conn.send(line + '\r\n');
  await conn.waitFor(multi ? MULTI : SINGLE);
  return conn.take();
}

async function login(user: string, password = 'pw'): Promise<FakeConnection> {
  const conn = new FakeConnection({ secure: true });
  conn.session = createPop3Session(conn, {
    domain,
    log: silentLogger(),
    hostname: 'mail.example.test',
    tlsAvailable: true,
    allowCleartextAuthFromLoopback: false,
    authFailureDelayMs: 1,
    idleTimeoutMs: 600000,
    unauthenticatedTimeoutMs: 60000,
  });
  await conn.waitFor(SINGLE);
  assert.equal(await cmd(conn, `USER ${user}`), '+OK Send your password\r\n');
  assert.equal(await cmd(conn, `PASS ${password}`), '+OK Logged in\r\n');
  return conn;
}

/** Subjects offered to a fresh session of `user`, in message-number order. */
async function offered(user: string): Promise<string[]> {
  const conn = await login(user);
  const subjects = await retrieveAll(conn);
  await cmd(conn, 'RSET');
  await cmd(conn, 'QUIT');
  return subjects;
}

async function retrieveAll(conn: FakeConnection, dele = false): Promise<string[]> {
  const count = Number(/^\+OK (\d+)/.exec(await cmd(conn, 'STAT'))![1]);
  const subjects: string[] = [];
  for (let i = 1; i <= count; i++) {
    subjects.push(/Subject: (\S+)/.exec(await cmd(conn, `RETR ${i}`, true))![1]);
    if (dele) await cmd(conn, `DELE ${i}`);
  }
  return subjects;
}

/** Download and delete everything, then QUIT. */
async function popAndDelete(user: string): Promise<string[]> {
  const conn = await login(user);
  const subjects = await retrieveAll(conn, true);
  assert.match(await cmd(conn, 'QUIT'), /^\+OK Bye/);
  return subjects;
}

async function folder(accountId: number, name: string): Promise<Array<{ subject: string; flags: string[] }>> {
  const mailbox = await domain.requireMailbox(accountId, name);
  const out = [];
  for (const m of await store.listMessages(mailbox.id)) {
    const bytes = (await store.readBlob(m.blobId))!.toString();
    out.push({ subject: /Subject: (\S+)/.exec(bytes)![1], flags: m.flags });
  }
  return out;
}

const DL = POP3_DOWNLOADED_KEYWORD;

test('device login syntax: ADDRESS#TAG, a # in the local part is not a tag', () => {
  assert.deepEqual(parsePop3Login('alice@example.com#Laptop'), { address: 'alice@example.com', device: 'laptop' });
  assert.deepEqual(parsePop3Login('alice@example.com'), { address: 'alice@example.com', device: '' });
  assert.deepEqual(parsePop3Login('a#b@example.com'), { address: 'a#b@example.com', device: '' });
  assert.deepEqual(parsePop3Login('alice@example.com#bad tag'), { address: 'alice@example.com#bad tag', device: '' });
  assert.deepEqual(parsePop3Login('alice@example.com#'), { address: 'alice@example.com#', device: '' });
});

test('dele=expunge (default): DELE at QUIT expunges; RETR sets $POP3Downloaded, TOP does not', async () => {
  const user = await account({}, ['one', 'two', 'three']);
  const conn = await login(user.address);
  await cmd(conn, 'RETR 1', true);
  await cmd(conn, 'TOP 2 0', true);
  await cmd(conn, 'DELE 3');
  assert.deepEqual(await folder(user.id, 'INBOX'), [
    { subject: 'one', flags: [] },
    { subject: 'two', flags: [] },
    { subject: 'three', flags: [] },
  ], 'nothing changes before QUIT');
  assert.equal(await cmd(conn, 'QUIT'), '+OK Bye, 1 messages deleted\r\n');
  assert.deepEqual(await folder(user.id, 'INBOX'), [
    { subject: 'one', flags: [DL] },
    { subject: 'two', flags: [] },
  ]);
});

test('a dropped session and an RSET session set nothing', async () => {
  const user = await account();
  const dropped = await login(user.address);
  await cmd(dropped, 'RETR 1', true);
  await cmd(dropped, 'DELE 1');
  dropped.session!.closed();
  const reset = await login(user.address);
  await cmd(reset, 'RETR 2', true);
  await cmd(reset, 'RSET');
  await cmd(reset, 'QUIT');
  assert.deepEqual(await folder(user.id, 'INBOX'), [
    { subject: 'one', flags: [] },
    { subject: 'two', flags: [] },
  ]);
  assert.deepEqual(await store.listPop3DeviceState(user.id), []);
});

test('dele=hide: kept for IMAP, never offered to POP3 again', async () => {
  const user = await account({ dele: 'hide' });
  assert.deepEqual(await popAndDelete(user.address), ['one', 'two']);
  assert.deepEqual(await folder(user.id, 'INBOX'), [
    { subject: 'one', flags: [DL] },
    { subject: 'two', flags: [DL] },
  ]);
  await domain.deliver(user.address, mail('three'));
  assert.deepEqual(await offered(user.address), ['three']);
  assert.deepEqual(await offered(`${user.address}#tablet`), ['three'], 'an untagged DELE hides from every device');
});

test('dele=seen: \\Seen and $POP3Downloaded, kept, not offered again', async () => {
  const user = await account({ dele: 'seen' });
  assert.deepEqual(await popAndDelete(user.address), ['one', 'two']);
  assert.deepEqual(await folder(user.id, 'INBOX'), [
    { subject: 'one', flags: ['\\Seen', DL] },
    { subject: 'two', flags: ['\\Seen', DL] },
  ]);
  assert.deepEqual(await offered(user.address), []);
});

test('dele=archive: moved to Archive with its flags; scope=all does not offer it again', async () => {
  const user = await account({ dele: 'archive', scope: 'all' });
  assert.deepEqual(await popAndDelete(user.address), ['one', 'two']);
  assert.deepEqual(await folder(user.id, 'INBOX'), []);
  assert.deepEqual(await folder(user.id, 'Archive'), [
    { subject: 'one', flags: [DL] },
    { subject: 'two', flags: [DL] },
  ]);
  assert.deepEqual(await offered(user.address), [], 'the UIDL followed the message into Archive');
});

test('dele=trash: moved to Trash', async () => {
  const user = await account({ dele: 'trash' });
  assert.deepEqual(await popAndDelete(user.address), ['one', 'two']);
  assert.deepEqual(await folder(user.id, 'INBOX'), []);
  assert.deepEqual((await folder(user.id, 'Trash')).map((m) => m.subject), ['one', 'two']);
});

test('scope=all offers every folder but Trash and Junk, by arrival; from=now hides older mail', async () => {
  const user = await account({ scope: 'all' }, []);
  await domain.deliver(user.address, mail('inbox1'));
  await domain.deliver(user.address, mail('archived'), 'Archive');
  await domain.deliver(user.address, mail('trashed'), 'Trash');
  await domain.deliver(user.address, mail('junk'), 'Junk');
  await domain.deliver(user.address, mail('inbox2'));
  assert.deepEqual(await offered(user.address), ['inbox1', 'archived', 'inbox2']);

  const since = new Date(Date.now() + 1000);
  await store.setPop3Policy(user.id, { ...DEFAULT_POP3_POLICY, since });
  assert.deepEqual(await offered(user.address), []);
  const inbox = await domain.requireMailbox(user.id, 'INBOX');
  await domain.ingest(inbox, { content: mail('later'), internalDate: new Date(since.getTime() + 1) });
  assert.deepEqual(await offered(user.address), ['later']);
  // The boundary, to the millisecond: mail that arrived in the very millisecond `--pop3-from now`
  // was taken counts as new (which came first cannot be known; hiding mail is the worse error).
  await domain.ingest(inbox, { content: mail('same-ms'), internalDate: new Date(since.getTime()) });
  await domain.ingest(inbox, { content: mail('just-before'), internalDate: new Date(since.getTime() - 1) });
  assert.deepEqual(await offered(user.address), ['later', 'same-ms']);
});

test('two tagged devices each get every message once; a tagged DELE removes nothing', async () => {
  const user = await account();
  const laptop = `${user.address}#laptop`;
  const phone = `${user.address}#phone`;
  assert.deepEqual(await popAndDelete(laptop), ['one', 'two']);
  assert.deepEqual(await popAndDelete(phone), ['one', 'two'], 'the laptop did not starve the phone');
  await domain.deliver(user.address, mail('three'));
  assert.deepEqual(await popAndDelete(laptop), ['three']);
  assert.deepEqual(await popAndDelete(phone), ['three']);
  assert.deepEqual(await popAndDelete(laptop), []);
  assert.deepEqual(await folder(user.id, 'INBOX'), [
    { subject: 'one', flags: [DL] },
    { subject: 'two', flags: [DL] },
    { subject: 'three', flags: [DL] },
  ]);
  assert.deepEqual(await offered(user.address), ['one', 'two', 'three'], 'the untagged login still sees all');
});

test('the lock is per device: two devices at once, the same device twice is [IN-USE]', async () => {
  const user = await account();
  const laptop = await login(`${user.address}#laptop`);
  const phone = await login(`${user.address}#phone`);
  const untagged = await login(user.address);
  const again = new FakeConnection({ secure: true });
  again.session = createPop3Session(again, {
    domain,
    log: silentLogger(),
    hostname: 'x',
    tlsAvailable: true,
    allowCleartextAuthFromLoopback: false,
    authFailureDelayMs: 1,
    idleTimeoutMs: 600000,
    unauthenticatedTimeoutMs: 60000,
  });
  await again.waitFor(SINGLE);
  assert.equal(
    await cmd(again, `AUTH PLAIN ${encodePlain(`${user.address}#LAPTOP`, 'pw')}`),
    '-ERR [IN-USE] Mailbox is locked by another POP3 session\r\n',
  );
  for (const c of [laptop, phone, untagged]) assert.match(await cmd(c, 'QUIT'), /^\+OK/);
  assert.equal(await domain.tryLockMaildrop(user.id, 'laptop'), true);
  await domain.unlockMaildrop(user.id, 'laptop');
});

test('AUTH PLAIN with a device tag, wrong password refused', async () => {
  const user = await account();
  const conn = new FakeConnection({ secure: true });
  conn.session = createPop3Session(conn, {
    domain,
    log: silentLogger(),
    hostname: 'x',
    tlsAvailable: true,
    allowCleartextAuthFromLoopback: false,
    authFailureDelayMs: 1,
    idleTimeoutMs: 600000,
    unauthenticatedTimeoutMs: 60000,
  });
  await conn.waitFor(SINGLE);
  assert.equal(await cmd(conn, `AUTH PLAIN ${encodePlain(`${user.address}#phone`, 'wrong')}`), '-ERR [AUTH] Authentication failed\r\n');
  assert.equal(await cmd(conn, `AUTH PLAIN ${encodePlain(`${user.address}#phone`, 'pw', user.address)}`), '+OK Logged in\r\n');
  await retrieveAll(conn, true);
  await cmd(conn, 'QUIT');
  assert.deepEqual(await store.listPop3Deleted(user.id, ['phone']), (await store.listMessages((await domain.requireMailbox(user.id, 'INBOX')).id)).map((m) => m.uidl));
});

test('CAPA: EXPIRE NEVER USER before login, the account value after', async () => {
  const never = await account();
  const expiring = await account({ expireDays: 30 });
  const a = await login(never.address);
  assert.match(await cmd(a, 'CAPA', true), /\r\nEXPIRE NEVER\r\n/);
  const b = await login(expiring.address);
  assert.match(await cmd(b, 'CAPA', true), /\r\nEXPIRE 30\r\n/);
});

test('IMAP changes during a POP3 session never renumber it; RETR of an IMAP-expunged message is a clear -ERR', async () => {
  const user = await account({}, ['one', 'two', 'three']);
  const inbox = await domain.requireMailbox(user.id, 'INBOX');
  const conn = await login(user.address);
  const before = await cmd(conn, 'UIDL', true);
  const [first, second] = await store.listMessages(inbox.id);
  await domain.expungeMessages(inbox, [first.uid]);
  await domain.updateFlags(inbox, [second.uid], 'add', ['\\Seen']);
  await domain.deliver(user.address, mail('four'));
  assert.equal(await cmd(conn, 'UIDL', true), before, 'same numbers, same UIDLs');
  assert.match(await cmd(conn, 'STAT'), /^\+OK 3 /);
  assert.equal(await cmd(conn, 'RETR 1'), '-ERR Message 1 was removed by another session\r\n');
  assert.match(await cmd(conn, 'RETR 2', true), /Subject: two/);
  assert.match(await cmd(conn, 'QUIT'), /^\+OK Bye/);
  assert.deepEqual(await folder(user.id, 'INBOX'), [
    { subject: 'two', flags: ['\\Seen', DL] },
    { subject: 'three', flags: [] },
    { subject: 'four', flags: [] },
  ]);
});

test('QUIT tells IMAP: the bus carries the flag change and the expunge', async () => {
  const user = await account({ dele: 'expunge' });
  const inbox = await domain.requireMailbox(user.id, 'INBOX');
  const signals: number[] = [];
  const unsubscribe = bus.subscribe(user.id, (s) => signals.push(s.mailboxId));
  try {
    const conn = await login(user.address);
    await cmd(conn, 'RETR 1', true);
    await cmd(conn, 'DELE 2');
    const highest = (await store.getMailboxById(inbox.id))!.highestModSeq;
    await cmd(conn, 'QUIT');
    const changes = await store.getChanges(inbox.id, highest);
    assert.deepEqual(changes.changed.map((m) => m.flags), [[DL]]);
    assert.equal(changes.expunged.length, 1);
    // One transaction, one signal: the sessions it wakes read both changes from the change log.
    assert.ok(signals.includes(inbox.id));
  } finally {
    unsubscribe();
  }
});
