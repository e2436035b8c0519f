/**
 * The mail rules every protocol shares, decided in domain/: what \Deleted
 * means (EXPUNGE, CLOSE, STATUS DELETED), flag canonicalisation, the quota a
 * session reports, the POP3 maildrop lock and what a POP3 login is offered,
 * and the one body read.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { LocalBus } from '../notify/bus.js';
import { openSqliteStore } from '../store/sqlite/index.js';
import type { AccountId, FlagOperation, MailStore, MailboxId } from '../store/types.js';
import { StoreError } from '../store/types.js';
import { applyFlagOperation, canonicalFlags, checkClientFlags, isDeleted } from './flags.js';
import { MailDomain } from './mail-domain.js';
import { InMemoryMaildropLocks, type MaildropLocks } from './maildrop-locks.js';
import type { BodyRef } from './message-content.js';
import { commitPop3Session, DEFAULT_POP3_POLICY, pop3MaildropContents } from './pop3-policy.js';

let store: MailStore;
let bus: LocalBus;
let domain: MailDomain;
let counter = 0;

before(async () => {
  store = await openSqliteStore(':memory:');
  bus = new LocalBus();
  domain = new MailDomain(store, bus);
});
after(async () => {
  await bus.close();
  await store.close();
});

async function account(quotaBytes: number | null = null) {
  const address = `rules${++counter}@example.com`;
  const created = await domain.createAccount(address, 'pw', quotaBytes);
  const inbox = await domain.requireMailbox(created.id, 'INBOX');
  return { account: created, address, inbox };
}

const message = (subject: string) => Buffer.from(`Subject: ${subject}\r\n\r\n${subject}\r\n`);

test('flags: client flags are checked and made canonical; \\Recent and non-atoms are refused', () => {
  assert.deepEqual(checkClientFlags(['zeta', '\\seen', 'Alpha', '\\DELETED', 'alpha']), ['\\Deleted', '\\Seen', 'Alpha', 'zeta']);
  assert.deepEqual(checkClientFlags(['\\Recent']), { error: '\\Recent cannot be stored' });
  assert.deepEqual(checkClientFlags(['\\Junk']), { error: 'Unknown system flag \\Junk' });
  assert.deepEqual(checkClientFlags(['a(b']), { error: 'Invalid keyword a(b' });
  assert.deepEqual(checkClientFlags(['']), { error: 'Invalid keyword ' });
  assert.deepEqual(canonicalFlags(['b', '\\Draft', '\\Recent', '\\answered', 'B']), ['\\Answered', '\\Draft', 'b']);
  assert.throws(() => canonicalFlags(['a b']), (err: unknown) => err instanceof StoreError && err.code === 'STORE_INVALID_NAME');
  assert.deepEqual(applyFlagOperation(['\\Seen', 'Work'], 'add', ['work', '\\flagged']), ['\\Flagged', '\\Seen', 'Work']);
  assert.deepEqual(applyFlagOperation(['\\Seen', 'Work'], 'remove', ['\\SEEN']), ['Work']);
  assert.deepEqual(applyFlagOperation(['Work'], 'replace', ['WORK', '\\Seen']), ['\\Seen', 'Work']);
  assert.ok(isDeleted({ flags: ['\\deleted'] }));
  assert.ok(!isDeleted({ flags: ['\\Seen', 'Deleted'] }));
});

test('flags reach the store already canonical, from ingest and from flag changes', async () => {
  const seen: string[][] = [];
  const recording = new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === 'appendMessage') {
        return (id: MailboxId, m: { flags?: string[] }) => (seen.push(m.flags ?? []), target.appendMessage(id, m as never));
      }
      if (prop === 'updateFlags') {
        return (id: MailboxId, uids: number[], op: FlagOperation, flags: string[]) => (seen.push(flags), target.updateFlags(id, uids, op, flags));
      }
      return Reflect.get(target, prop, receiver);
    },
  });
  const { inbox } = await account();
  const recordingDomain = new MailDomain(recording, bus);
  const { uid } = await recordingDomain.ingest(inbox, { content: message('a'), flags: ['zz', '\\seen', 'ZZ', '\\Recent'] });
  await recordingDomain.updateFlags(inbox, [uid], 'add', ['$Hot', '\\flagged', '$hot']);
  assert.deepEqual(seen, [
    ['\\Seen', 'zz'],
    ['\\Flagged', '$Hot'],
  ]);
});

test('\\Deleted: deletedMessages lists the marked messages; expungeDeleted removes them (UID EXPUNGE: only those named)', async () => {
  const { account: a, inbox } = await account();
  for (const s of ['a', 'b', 'c', 'd']) await domain.ingest(inbox, { content: message(s) });
  await domain.updateFlags(inbox, [1, 2, 4], 'add', ['\\Deleted']);
  assert.deepEqual((await domain.deletedMessages(inbox)).map((m) => m.uid), [1, 2, 4]);
  const signals: number[] = [];
  const unsubscribe = bus.subscribe(a.id, (s) => signals.push(s.mailboxId));
  assert.deepEqual(await domain.expungeDeleted(inbox, new Set([2, 3])), [2], 'message 3 is not \\Deleted');
  assert.deepEqual(await domain.expungeDeleted(inbox), [1, 4]);
  assert.deepEqual(await domain.expungeDeleted(inbox), [], 'nothing left to expunge');
  unsubscribe();
  assert.deepEqual((await domain.listMessages(inbox)).map((m) => m.uid), [3]);
  assert.deepEqual(await domain.deletedMessages(inbox), []);
  assert.ok(signals.length >= 2, 'other sessions are told of each expunge');
});

test('quota: none without a limit; with one, the usage as it is now, not as at login', async () => {
  const unlimited = await account();
  assert.equal(await domain.quotaOf(unlimited.account), null);
  const limited = await account(10_000);
  assert.deepEqual(await domain.quotaOf(limited.account), { limitBytes: 10_000, usedBytes: 0 });
  const content = message('sized');
  await domain.ingest(limited.inbox, { content });
  assert.deepEqual(await domain.quotaOf(limited.account), { limitBytes: 10_000, usedBytes: content.length });
  await domain.ingest(limited.inbox, { content, flags: ['\\Deleted'] });
  await domain.expungeDeleted(limited.inbox);
  assert.deepEqual(await domain.quotaOf(limited.account), { limitBytes: 10_000, usedBytes: content.length });
  await assert.rejects(
    domain.ingest(limited.inbox, { content: Buffer.alloc(10_000, 0x61) }),
    (err: unknown) => err instanceof StoreError && err.code === 'STORE_OVER_QUOTA',
  );
});

test('POP3 lock: per account and device, exclusive until released; the domain uses the locks it is given', async () => {
  const locks = new InMemoryMaildropLocks();
  assert.equal(await locks.tryLock(1, ''), true);
  assert.equal(await locks.tryLock(1, ''), false);
  assert.equal(await locks.tryLock(1, 'laptop'), true, 'another device has its own maildrop');
  assert.equal(await locks.tryLock(2, ''), true, 'another account');
  await locks.unlock(1, '');
  assert.equal(await locks.tryLock(1, ''), true);
  await locks.unlock(3, 'never-locked');

  const calls: string[] = [];
  const cluster: MaildropLocks = {
    async tryLock(accountId: AccountId, device: string) {
      calls.push(`lock ${accountId} ${device}`);
      return false;
    },
    async unlock(accountId: AccountId, device: string) {
      calls.push(`unlock ${accountId} ${device}`);
    },
  };
  const clustered = new MailDomain(store, bus, { maildropLocks: cluster });
  assert.equal(await clustered.tryLockMaildrop(7, 'phone'), false);
  await clustered.unlockMaildrop(7);
  assert.deepEqual(calls, ['lock 7 phone', 'unlock 7 ']);
});

test('POP3 maildrop contents: the policy scope and date, per-device deletions, one message per UIDL, arrival order', async () => {
  const { account: a, inbox } = await account();
  const archive = await domain.requireMailbox(a.id, 'Archive');
  const trash = await domain.requireMailbox(a.id, 'Trash');
  const day = (d: number) => new Date(Date.UTC(2026, 0, d));
  await domain.ingest(inbox, { content: message('new'), internalDate: day(5), uidl: 'u-new' });
  await domain.ingest(archive, { content: message('old'), internalDate: day(2), uidl: 'u-old' });
  await domain.ingest(archive, { content: message('twin'), internalDate: day(3), uidl: 'u-new' });
  await domain.ingest(trash, { content: message('thrown'), internalDate: day(1), uidl: 'u-trash' });
  await domain.ingest(inbox, { content: message('gone'), internalDate: day(4), uidl: 'u-gone' });
  await store.recordPop3Session(a.id, 'laptop', { retrieved: [], deleted: ['u-gone'] }, day(6));
  const uidls = async (device: string, policy = DEFAULT_POP3_POLICY) =>
    (await pop3MaildropContents(domain, a.id, device, policy)).map((e) => `${e.mailbox.name}:${e.message.uidl}`);
  assert.deepEqual(await uidls(''), ['INBOX:u-new', 'INBOX:u-gone']);
  assert.deepEqual(await uidls('laptop'), ['INBOX:u-new'], 'what this device deleted stays hidden from it');
  assert.deepEqual(await uidls('phone'), ['INBOX:u-new', 'INBOX:u-gone'], 'but not from another device');
  assert.deepEqual(await uidls('', { ...DEFAULT_POP3_POLICY, scope: 'all' }), ['Archive:u-old', 'INBOX:u-gone', 'INBOX:u-new']);
  assert.deepEqual(await uidls('', { ...DEFAULT_POP3_POLICY, scope: 'all', since: day(3) }), ['INBOX:u-gone', 'INBOX:u-new']);
});

test('every body read (FETCH bytes, summaries computed late) goes through readBody or openBody', async () => {
  const reads: string[] = [];
  class Counting extends MailDomain {
    override readBody(m: BodyRef): Promise<Buffer | null> {
      reads.push(m.blobId);
      return super.readBody(m);
    }
    override openBody(m: BodyRef, start?: number, end?: number) {
      reads.push(m.blobId);
      return super.openBody(m, start, end);
    }
  }
  const counting = new Counting(store, bus);
  const { inbox } = await account();
  await counting.ingest(inbox, { content: message('with summary') });
  // Mail stored before summaries existed: straight into the store, without one.
  await store.appendMessage(inbox.id, { content: message('legacy') });
  const [fresh, legacy] = await counting.listMessages(inbox);
  assert.equal(reads.length, 0);
  const summaries = await counting.messageSummaries([fresh, legacy]);
  assert.equal(summaries.size, 2);
  assert.deepEqual(reads, [legacy.blobId], 'only the message without a summary is read, to compute it');
  await counting.messageSummaries([legacy]);
  assert.equal(reads.length, 1, 'the computed summary was saved');
  const loaded = await counting.loadMessage(fresh);
  assert.equal(loaded?.raw.toString(), message('with summary').toString());
  assert.ok(loaded?.structure);
  assert.deepEqual(reads, [legacy.blobId, fresh.blobId]);
});

test('account creation is one store call: the account with all its default folders, subscribed, or nothing', async () => {
  const calls: string[] = [];
  const recording = new Proxy(store, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => (calls.push(String(prop)), (value as (...a: unknown[]) => unknown).apply(target, args));
    },
  });
  const created = await new MailDomain(recording, bus).createAccount(' Whole@Example.com ', 'pw', 1234);
  assert.deepEqual(calls, ['createAccountWithMailboxes']);
  assert.equal(created.address, 'whole@example.com');
  assert.equal(created.quotaBytes, 1234);
  const mailboxes = await domain.listMailboxes(created.id);
  assert.deepEqual(
    mailboxes.map((m) => [m.name, m.specialUse]),
    [
      ['Archive', '\\Archive'],
      ['Drafts', '\\Drafts'],
      ['INBOX', null],
      ['Junk', '\\Junk'],
      ['Sent', '\\Sent'],
      ['Trash', '\\Trash'],
    ],
  );
  assert.deepEqual(await domain.listSubscriptions(created.id), ['Archive', 'Drafts', 'INBOX', 'Junk', 'Sent', 'Trash']);
  assert.ok(await domain.authenticate('whole@example.com', 'pw'));
});

test('POP3 UPDATE is one store transaction whatever the policy; other sessions are told of every mailbox it changed', async () => {
  for (const dele of ['expunge', 'seen', 'archive', 'hide'] as const) {
    const { account: a, inbox } = await account();
    await domain.requireMailbox(a.id, 'Archive');
    for (const s of ['a', 'b', 'c']) await domain.ingest(inbox, { content: message(s) });
    const [m1, m2] = await domain.listMessages(inbox);
    const touched = (m: typeof m1) => ({ mailbox: inbox, uid: m.uid, uidl: m.uidl });
    const writes: string[] = [];
    const recording = new Proxy(store, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver);
        if (typeof value !== 'function') return value;
        const write = !/^(get|list|read)/.test(String(prop));
        return (...args: unknown[]) => (write && writes.push(String(prop)), (value as (...x: unknown[]) => unknown).apply(target, args));
      },
    });
    const signals: number[] = [];
    const unsubscribe = bus.subscribe(a.id, (s) => signals.push(s.mailboxId));
    await commitPop3Session(
      new MailDomain(recording, bus),
      { accountId: a.id, device: '', policy: { ...DEFAULT_POP3_POLICY, dele }, retrieved: [touched(m1), touched(m2)], deleted: [touched(m2)] },
      new Date(),
    );
    unsubscribe();
    assert.deepEqual(writes, ['commitPop3Update'], dele);
    const inInbox = (await domain.listMessages(inbox)).map((m) => [m.uid, m.flags.join(' ')]);
    const archive = await domain.requireMailbox(a.id, 'Archive');
    const archived = (await domain.listMessages(archive)).map((m) => m.flags.join(' '));
    switch (dele) {
      case 'expunge':
        assert.deepEqual(inInbox, [[1, '$POP3Downloaded'], [3, '']]);
        break;
      case 'seen':
        assert.deepEqual(inInbox, [[1, '$POP3Downloaded'], [2, '\\Seen $POP3Downloaded'], [3, '']]);
        break;
      case 'archive':
        assert.deepEqual(inInbox, [[1, '$POP3Downloaded'], [3, '']]);
        assert.deepEqual(archived, ['$POP3Downloaded']);
        assert.ok(signals.includes(archive.id), 'the archive is signalled');
        break;
      case 'hide':
        assert.deepEqual(inInbox, [[1, '$POP3Downloaded'], [2, '$POP3Downloaded'], [3, '']]);
        assert.deepEqual(await store.listPop3Deleted(a.id, ['']), [m2.uidl]);
        break;
    }
    assert.ok(signals.includes(inbox.id), `${dele}: INBOX is signalled`);
  }
});

test('RENAME INBOX is one store write: the new mailbox and its missing parents, with every INBOX message, or nothing', async () => {
  const { account: a, inbox } = await account();
  for (const s of ['a', 'b']) await domain.ingest(inbox, { content: message(s) });
  const writes: string[] = [];
  const recording = new Proxy(store, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      const write = !/^(get|list|read)/.test(String(prop));
      return (...args: unknown[]) => (write && writes.push(String(prop)), (value as (...x: unknown[]) => unknown).apply(target, args));
    },
  });
  const lists: string[] = [];
  const mailboxSignals: number[] = [];
  const stopList = bus.subscribeMailboxList(a.id, (s) => lists.push(`${s.change} ${s.name}`));
  const stop = bus.subscribe(a.id, (s) => mailboxSignals.push(s.mailboxId));
  await new MailDomain(recording, bus).renameMailbox(a.id, 'inbox', 'Old/2025');
  stop();
  stopList();
  assert.deepEqual(writes, ['moveAllToNewMailbox']);
  const moved = await domain.requireMailbox(a.id, 'Old/2025');
  assert.ok(await domain.getMailbox(a.id, 'Old'));
  assert.equal((await domain.listMessages(moved)).length, 2);
  assert.deepEqual(await domain.listMessages(inbox), []);
  assert.deepEqual(lists, ['created Old', 'created Old/2025']);
  assert.ok(mailboxSignals.includes(inbox.id) && mailboxSignals.includes(moved.id));
  await assert.rejects(domain.renameMailbox(a.id, 'INBOX', 'Old'), (err: unknown) => err instanceof StoreError && err.code === 'STORE_MAILBOX_EXISTS');
});
