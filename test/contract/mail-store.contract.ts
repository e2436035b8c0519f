/**
 * The MailStore contract: one suite that every backend (SQLite now,
 * PostgreSQL later, an in-memory one for fast tests) must pass. A backend's
 * test file calls `runMailStoreContract(name, factory)`; the factory returns
 * a fresh, empty store for each test.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Account, Mailbox, MailStore, StoreErrorCode } from '../../src/store/types.js';
import { StoreError } from '../../src/store/types.js';
import { runAppendMessagesContract } from './append-messages.contract.js';
import { runCountersContract } from './counters.contract.js';
import { runBlobStreamContract } from './blob-stream.contract.js';
import { runAccountCreationContract } from './account-creation.contract.js';
import { runPop3UpdateContract } from './pop3-update.contract.js';
import { runInboxRenameContract } from './inbox-rename.contract.js';
import { runRecentContract } from './recent.contract.js';
import { runMailStoreProperties } from './mail-store.property.js';
import { runMessageSummaryContract } from './message-summary.contract.js';
import { runPop3StateContract } from './pop3-state.contract.js';
import { runConcurrencyContract } from './concurrency.contract.js';
import { runExpungeDeletedContract } from './expunge-deleted.contract.js';
import { runMetadataContract } from './metadata.contract.js';
import { runAclContract } from './acl.contract.js';
import { runJmapLookupsContract } from './jmap-lookups.contract.js';

export function runMailStoreContract(name: string, newStore: () => Promise<MailStore>): void {
  /** Runs `fn` on a fresh store and always closes it. */
  const withStore = (fn: (store: MailStore) => Promise<void>) => async () => {
    const store = await newStore();
    try {
      await fn(store);
    } finally {
      await store.close();
    }
  };

  async function setup(store: MailStore, quota: number | null = null): Promise<{ account: Account; inbox: Mailbox }> {
    const account = await store.createAccount('alice@example.com', 'hash-1', quota);
    const inbox = await store.createMailbox(account.id, 'INBOX');
    return { account, inbox };
  }

  const mail = (text: string) => Buffer.from(`Subject: ${text}\r\n\r\n${text}\r\n`);

  async function rejectsWith(promise: Promise<unknown>, code: StoreErrorCode): Promise<void> {
    await assert.rejects(promise, (err: unknown) => {
      assert.ok(err instanceof StoreError, `expected a StoreError, got ${String(err)}`);
      assert.equal(err.code, code);
      return true;
    });
  }

  async function mailbox(store: MailStore, id: number): Promise<Mailbox> {
    const found = await store.getMailboxById(id);
    assert.ok(found, `mailbox ${id} exists`);
    return found;
  }

  describe(`MailStore contract: ${name}`, () => {
    describe('accounts', () => {
      it('creates, finds, lists and updates accounts', withStore(async (store) => {
        const alice = await store.createAccount('alice@example.com', 'h1', null);
        const bob = await store.createAccount('bob@example.com', 'h2', 1000);
        assert.equal(alice.address, 'alice@example.com');
        assert.equal(alice.passwordHash, 'h1');
        assert.equal(alice.quotaBytes, null);
        assert.equal(alice.usedBytes, 0);
        assert.ok(alice.createdAt instanceof Date);
        assert.notEqual(alice.id, bob.id);
        assert.deepEqual(await store.getAccount('bob@example.com'), bob);
        assert.deepEqual(await store.getAccountById(alice.id), alice);
        assert.equal(await store.getAccount('carol@example.com'), null);
        assert.equal(await store.getAccountById(alice.id + bob.id + 100), null);
        assert.deepEqual((await store.listAccounts()).map((a) => a.address), ['alice@example.com', 'bob@example.com']);

        await store.setPasswordHash(alice.id, 'h1-new');
        await store.setQuota(alice.id, 5000);
        const updated = await store.getAccountById(alice.id);
        assert.equal(updated?.passwordHash, 'h1-new');
        assert.equal(updated?.quotaBytes, 5000);
        await store.setQuota(alice.id, null);
        assert.equal((await store.getAccountById(alice.id))?.quotaBytes, null);
      }));

      it('refuses a second account with the same address', withStore(async (store) => {
        await store.createAccount('alice@example.com', 'h', null);
        await rejectsWith(store.createAccount('alice@example.com', 'other', null), 'STORE_ACCOUNT_EXISTS');
        assert.equal((await store.listAccounts()).length, 1);
      }));

      it('reports a missing account', withStore(async (store) => {
        await rejectsWith(store.setPasswordHash(999, 'h'), 'STORE_NO_SUCH_ACCOUNT');
        await rejectsWith(store.setQuota(999, 1), 'STORE_NO_SUCH_ACCOUNT');
        await rejectsWith(store.createMailbox(999, 'INBOX'), 'STORE_NO_SUCH_ACCOUNT');
        await rejectsWith(store.deleteAccount(999), 'STORE_NO_SUCH_ACCOUNT');
      }));

      it('deleteAccount removes mailboxes, messages, subscriptions and unshared blobs', withStore(async (store) => {
        const { account, inbox } = await setup(store);
        const bob = await store.createAccount('bob@example.com', 'h', null);
        const bobInbox = await store.createMailbox(bob.id, 'INBOX');
        const sent = await store.createMailbox(account.id, 'Sent', '\\Sent');
        await store.setSubscribed(account.id, 'Sent', true);
        const own = await store.appendMessage(inbox.id, { content: mail('only alice') });
        await store.appendMessage(sent.id, { content: mail('shared') });
        await store.appendMessage(bobInbox.id, { content: mail('shared') });
        const [ownMeta] = await store.getMessages(inbox.id, [own.uid]);
        const [sharedMeta] = await store.listMessages(bobInbox.id);

        await store.deleteAccount(account.id);
        assert.equal(await store.getAccountById(account.id), null);
        assert.equal(await store.getAccount('alice@example.com'), null);
        assert.equal(await store.getMailboxById(inbox.id), null);
        assert.equal(await store.getMailboxById(sent.id), null);
        assert.deepEqual(await store.listMailboxes(account.id), []);
        assert.deepEqual(await store.listSubscriptions(account.id), []);
        assert.equal(await store.readBlob(ownMeta.blobId), null, 'unshared blob is gone');
        assert.deepEqual(await store.readBlob(sharedMeta.blobId), mail('shared'), "bob's copy of the bytes stays");
        assert.equal((await mailbox(store, bobInbox.id)).messageCount, 1);
        // The address is free again.
        await store.createAccount('alice@example.com', 'h', null);
      }));
    });

    describe('mailboxes', () => {
      it('creates and lists mailboxes with counts', withStore(async (store) => {
        const { account, inbox } = await setup(store);
        const sent = await store.createMailbox(account.id, 'Sent', '\\Sent');
        assert.equal(inbox.name, 'INBOX');
        assert.equal(inbox.accountId, account.id);
        assert.equal(inbox.specialUse, null);
        assert.equal(sent.specialUse, '\\Sent');
        assert.equal(inbox.uidNext, 1);
        assert.equal(inbox.messageCount, 0);
        assert.equal(inbox.subscribed, false);
        assert.ok(inbox.uidValidity > 0 && inbox.uidValidity <= 0xffffffff);
        assert.ok(inbox.highestModSeq >= 1);
        assert.notEqual(inbox.uidValidity, sent.uidValidity);

        await store.appendMessage(inbox.id, { content: mail('one'), flags: ['\\Seen'] });
        await store.appendMessage(inbox.id, { content: mail('two') });
        await store.appendMessage(inbox.id, { content: mail('three'), flags: ['\\Flagged'] });
        const listed = await store.listMailboxes(account.id);
        assert.deepEqual(listed.map((m) => m.name).sort(), ['INBOX', 'Sent']);
        const counted = listed.find((m) => m.name === 'INBOX')!;
        assert.equal(counted.messageCount, 3);
        assert.equal(counted.unseenCount, 2);
        assert.equal(counted.sizeBytes, mail('one').length + mail('two').length + mail('three').length);
        assert.equal(counted.uidNext, 4);
        assert.deepEqual(await store.getMailbox(account.id, 'INBOX'), counted);
        assert.deepEqual(await store.getMailboxById(inbox.id), counted);
      }));

      it('refuses a duplicate name and treats names case-sensitively', withStore(async (store) => {
        const { account } = await setup(store);
        await store.createMailbox(account.id, 'Foo');
        await rejectsWith(store.createMailbox(account.id, 'Foo'), 'STORE_MAILBOX_EXISTS');
        const lower = await store.createMailbox(account.id, 'foo');
        assert.equal((await store.getMailbox(account.id, 'foo'))?.id, lower.id);
        assert.equal(await store.getMailbox(account.id, 'FOO'), null);
        // Another account may use the same names.
        const bob = await store.createAccount('bob@example.com', 'h', null);
        await store.createMailbox(bob.id, 'Foo');
      }));

      it('renames a mailbox and its inferiors, keeping UIDVALIDITY and messages', withStore(async (store) => {
        const { account } = await setup(store);
        const a = await store.createMailbox(account.id, 'a');
        const ab = await store.createMailbox(account.id, 'a/b');
        const abc = await store.createMailbox(account.id, 'a/b/c');
        const sibling = await store.createMailbox(account.id, 'ab');
        const dotted = await store.createMailbox(account.id, 'a.x');
        await store.appendMessage(ab.id, { content: mail('in a/b') });

        await store.renameMailbox(a.id, 'z');
        const names = (await store.listMailboxes(account.id)).map((m) => m.name).sort();
        assert.deepEqual(names, ['INBOX', 'a.x', 'ab', 'z', 'z/b', 'z/b/c']);
        const renamed = await mailbox(store, ab.id);
        assert.equal(renamed.name, 'z/b');
        assert.equal(renamed.uidValidity, ab.uidValidity);
        assert.equal(renamed.messageCount, 1);
        assert.equal((await mailbox(store, a.id)).uidValidity, a.uidValidity);
        assert.equal((await mailbox(store, abc.id)).name, 'z/b/c');
        assert.equal((await mailbox(store, sibling.id)).name, 'ab');
        assert.equal((await mailbox(store, dotted.id)).name, 'a.x');
        assert.equal(await store.getMailbox(account.id, 'a'), null);

        await rejectsWith(store.renameMailbox(sibling.id, 'z'), 'STORE_MAILBOX_EXISTS');
        assert.equal((await mailbox(store, sibling.id)).name, 'ab', 'a failed rename changes nothing');
        await rejectsWith(store.renameMailbox(999_999, 'q'), 'STORE_NO_SUCH_MAILBOX');
      }));

      it('deletes a mailbox with its messages, releasing usage and unshared blobs', withStore(async (store) => {
        const { account, inbox } = await setup(store);
        const work = await store.createMailbox(account.id, 'Work');
        const kept = await store.appendMessage(inbox.id, { content: mail('kept') });
        await store.appendMessage(work.id, { content: mail('gone') });
        await store.copyMessages(inbox.id, [kept.uid], work.id);
        const [goneMeta] = await store.listMessages(work.id);
        const [keptMeta] = await store.listMessages(inbox.id);

        await store.deleteMailbox(work.id);
        assert.equal(await store.getMailboxById(work.id), null);
        assert.equal(await store.getMailbox(account.id, 'Work'), null);
        assert.equal((await store.getAccountById(account.id))?.usedBytes, mail('kept').length);
        assert.equal(await store.readBlob(goneMeta.blobId), null);
        assert.deepEqual(await store.readBlob(keptMeta.blobId), mail('kept'));
        await rejectsWith(store.listMessages(work.id), 'STORE_NO_SUCH_MAILBOX');
        await rejectsWith(store.appendMessage(work.id, { content: mail('x') }), 'STORE_NO_SUCH_MAILBOX');
        await rejectsWith(store.deleteMailbox(work.id), 'STORE_NO_SUCH_MAILBOX');
      }));

      it('never gives a recreated mailbox its old UIDVALIDITY', withStore(async (store) => {
        const { account } = await setup(store);
        const seen = new Set<number>();
        const ids = new Set<number>();
        let previous = 0;
        for (let i = 0; i < 5; i++) {
          const foo = await store.createMailbox(account.id, 'Foo');
          assert.ok(!seen.has(foo.uidValidity), 'UIDVALIDITY is new');
          assert.ok(!ids.has(foo.id), 'so is the mailbox id: a stale id never reaches the namesake');
          ids.add(foo.id);
          assert.ok(foo.uidValidity > previous, 'and larger than the last one');
          seen.add(foo.uidValidity);
          previous = foo.uidValidity;
          await store.deleteMailbox(foo.id);
        }
      }));

      it('keeps subscriptions by name, also for mailboxes that do not exist', withStore(async (store) => {
        const { account, inbox } = await setup(store);
        await store.setSubscribed(account.id, 'INBOX', true);
        await store.setSubscribed(account.id, 'Nowhere/Land', true);
        await store.setSubscribed(account.id, 'Nowhere/Land', true);
        assert.deepEqual((await store.listSubscriptions(account.id)).sort(), ['INBOX', 'Nowhere/Land']);
        assert.equal((await mailbox(store, inbox.id)).subscribed, true);

        const later = await store.createMailbox(account.id, 'Nowhere/Land');
        assert.equal(later.subscribed, true);
        await store.deleteMailbox(later.id);
        assert.deepEqual((await store.listSubscriptions(account.id)).sort(), ['INBOX', 'Nowhere/Land']);

        await store.setSubscribed(account.id, 'INBOX', false);
        await store.setSubscribed(account.id, 'never-subscribed', false);
        assert.deepEqual(await store.listSubscriptions(account.id), ['Nowhere/Land']);
        assert.equal((await mailbox(store, inbox.id)).subscribed, false);
      }));
    });

    describe('messages', () => {
      it('stores bytes, flags, date and UIDL', withStore(async (store) => {
        const { inbox } = await setup(store);
        const date = new Date('2024-02-03T04:05:06.000Z');
        const result = await store.appendMessage(inbox.id, {
          content: mail('hello'),
          flags: ['\\seen', 'Work', '\\Recent', 'work', '$Label1', '\\Answered'],
          internalDate: date,
        });
        assert.equal(result.uid, 1);
        assert.equal(result.uidValidity, inbox.uidValidity);
        assert.ok(result.modSeq > inbox.highestModSeq);
        const [meta] = await store.listMessages(inbox.id);
        assert.deepEqual(meta.flags, ['\\Answered', '\\Seen', '$Label1', 'Work']);
        assert.deepEqual(meta.internalDate, date);
        assert.equal(meta.size, mail('hello').length);
        assert.equal(meta.modSeq, result.modSeq);
        assert.deepEqual(await store.readBlob(meta.blobId), mail('hello'));
        assert.equal(await store.readBlob('0'.repeat(64)), null);
        const after = await mailbox(store, inbox.id);
        assert.equal(after.highestModSeq, result.modSeq);
        assert.equal(after.uidNext, 2);
      }));

      it('keeps a given UIDL, and makes every UIDL in a mailbox unique', withStore(async (store) => {
        const { inbox } = await setup(store);
        await store.appendMessage(inbox.id, { content: mail('a'), uidl: 'imported-1' });
        await store.appendMessage(inbox.id, { content: mail('b'), uidl: 'imported-1' });
        for (let i = 0; i < 5; i++) await store.appendMessage(inbox.id, { content: mail('same bytes') });
        const uidls = (await store.listMessages(inbox.id)).map((m) => m.uidl);
        assert.equal(uidls[0], 'imported-1');
        assert.equal(new Set(uidls).size, uidls.length);
        for (const uidl of uidls) assert.match(uidl, /^[\x21-\x7e]{1,70}$/, 'RFC 1939 §7 UIDL characters');
      }));

      it('hands out ascending UIDs and never reuses one after expunge', withStore(async (store) => {
        const { account, inbox } = await setup(store);
        const first = await Promise.all([1, 2, 3].map((i) => store.appendMessage(inbox.id, { content: mail(`m${i}`) })));
        assert.deepEqual(first.map((r) => r.uid), [1, 2, 3]);
        assert.deepEqual(await store.expungeMessages(inbox.id, [3, 2, 42]), [2, 3]);
        const next = await store.appendMessage(inbox.id, { content: mail('m4') });
        assert.equal(next.uid, 4);
        await store.expungeMessages(inbox.id, [1, 4]);
        assert.equal((await mailbox(store, inbox.id)).uidNext, 5);
        assert.equal((await store.appendMessage(inbox.id, { content: mail('m5') })).uid, 5);
        assert.deepEqual((await store.listMessages(inbox.id)).map((m) => m.uid), [5]);
        assert.deepEqual(await store.expungeMessages(inbox.id, [1, 2]), [], 'already gone');
        assert.equal((await store.getAccountById(account.id))?.usedBytes, mail('m5').length);
      }));

      it('getMessages returns the existing ones, ascending', withStore(async (store) => {
        const { inbox } = await setup(store);
        for (let i = 1; i <= 4; i++) await store.appendMessage(inbox.id, { content: mail(`m${i}`) });
        await store.expungeMessages(inbox.id, [2]);
        assert.deepEqual((await store.getMessages(inbox.id, [4, 2, 1, 99])).map((m) => m.uid), [1, 4]);
        assert.deepEqual(await store.getMessages(inbox.id, []), []);
      }));

      it('getMessages over runs of UIDs: holes, duplicates, any order', withStore(async (store) => {
        const { inbox } = await setup(store);
        for (let i = 1; i <= 6; i++) await store.appendMessage(inbox.id, { content: mail(`m${i}`) });
        await store.expungeMessages(inbox.id, [2]);
        const uids = async (asked: number[]) => (await store.getMessages(inbox.id, asked)).map((m) => m.uid);
        assert.deepEqual(await uids([1, 2, 3, 4]), [1, 3, 4]);
        assert.deepEqual(await uids([3, 4, 5, 6, 7]), [3, 4, 5, 6]);
        assert.deepEqual(await uids([1, 1, 3]), [1, 3], 'a duplicate must not widen the run to UID 2');
        assert.deepEqual(await uids([5, 3]), [3, 5], 'UID 4 lies between but was not asked for');
        assert.deepEqual(await uids([6, 5, 4, 3]), [3, 4, 5, 6]);
      }));

      it('changes flags, bumping MODSEQ only for messages that change', withStore(async (store) => {
        const { inbox } = await setup(store);
        await store.appendMessage(inbox.id, { content: mail('1'), flags: ['\\Seen'] });
        await store.appendMessage(inbox.id, { content: mail('2') });
        await store.appendMessage(inbox.id, { content: mail('3'), flags: ['$Work'] });
        const before = await store.listMessages(inbox.id);
        const top = (await mailbox(store, inbox.id)).highestModSeq;

        const added = await store.updateFlags(inbox.id, [1, 2, 3], 'add', ['\\SEEN']);
        assert.deepEqual(added.map((m) => m.uid), [2, 3]);
        assert.ok(added.every((m) => m.modSeq === top + 1));
        assert.deepEqual(added.map((m) => m.flags), [['\\Seen'], ['\\Seen', '$Work']]);
        const afterAdd = await store.listMessages(inbox.id);
        assert.equal(afterAdd[0].modSeq, before[0].modSeq, 'unchanged message keeps its MODSEQ');
        assert.equal((await mailbox(store, inbox.id)).highestModSeq, top + 1);
        assert.equal((await mailbox(store, inbox.id)).unseenCount, 0);

        assert.deepEqual(await store.updateFlags(inbox.id, [1, 2, 3], 'add', ['\\Seen']), [], 'no-op');
        assert.equal((await mailbox(store, inbox.id)).highestModSeq, top + 1, 'no-op does not bump');

        const removed = await store.updateFlags(inbox.id, [1, 3], 'remove', ['\\seen', '$work']);
        assert.deepEqual(removed.map((m) => [m.uid, m.flags]), [[1, []], [3, []]]);
        assert.equal(removed[0].modSeq, top + 2);

        const replaced = await store.updateFlags(inbox.id, [1, 2, 3, 77], 'replace', ['\\Flagged', 'b', 'A']);
        assert.deepEqual(replaced.map((m) => m.uid), [1, 2, 3]);
        assert.deepEqual(replaced[0].flags, ['\\Flagged', 'A', 'b']);
        assert.deepEqual(await store.updateFlags(inbox.id, [1], 'replace', ['a', 'B', '\\flagged']), [],
          'replacing with the same flags in another case is no change');
        assert.deepEqual((await store.getMessages(inbox.id, [1]))[0].flags, ['\\Flagged', 'A', 'b']);
        assert.deepEqual(await store.updateFlags(inbox.id, [], 'add', ['\\Seen']), []);
      }));

      it('getChanges reports additions, flag changes and expunges after a MODSEQ', withStore(async (store) => {
        const { inbox } = await setup(store);
        const start = (await mailbox(store, inbox.id)).highestModSeq;
        const none = await store.getChanges(inbox.id, start);
        assert.deepEqual(none, { changed: [], expunged: [], highestModSeq: start });

        await store.appendMessage(inbox.id, { content: mail('1') });
        await store.appendMessage(inbox.id, { content: mail('2') });
        const r3 = await store.appendMessage(inbox.id, { content: mail('3') });
        const afterAppends = await store.getChanges(inbox.id, start);
        assert.deepEqual(afterAppends.changed.map((m) => m.uid), [1, 2, 3]);
        assert.equal(afterAppends.highestModSeq, r3.modSeq);

        const mark = afterAppends.highestModSeq;
        await store.updateFlags(inbox.id, [3, 1], 'add', ['\\Deleted']);
        await store.expungeMessages(inbox.id, [1]);
        const later = await store.getChanges(inbox.id, mark);
        assert.deepEqual(later.changed.map((m) => m.uid), [3], 'expunged UID 1 is not listed as changed');
        assert.deepEqual(later.changed[0].flags, ['\\Deleted']);
        assert.deepEqual(later.expunged, [1]);
        assert.equal(later.highestModSeq, mark + 2);

        const all = await store.getChanges(inbox.id, 0);
        assert.deepEqual(all.changed.map((m) => m.uid), [2, 3]);
        assert.deepEqual(all.expunged, [1]);
        assert.deepEqual(await store.getChanges(inbox.id, later.highestModSeq), {
          changed: [],
          expunged: [],
          highestModSeq: later.highestModSeq,
        });
        await rejectsWith(store.getChanges(999_999, 0), 'STORE_NO_SUCH_MAILBOX');
      }));

      it('copies messages sharing the blob, with new UIDs, MODSEQs and UIDLs', withStore(async (store) => {
        const { account, inbox } = await setup(store);
        const archive = await store.createMailbox(account.id, 'Archive');
        await store.appendMessage(archive.id, { content: mail('already there') });
        const date = new Date('2023-01-01T00:00:00Z');
        await store.appendMessage(inbox.id, { content: mail('a'), flags: ['\\Seen', 'x'], internalDate: date });
        await store.appendMessage(inbox.id, { content: mail('b') });
        await store.appendMessage(inbox.id, { content: mail('c') });
        const sources = await store.listMessages(inbox.id);
        const archiveTop = (await mailbox(store, archive.id)).highestModSeq;

        const result = await store.copyMessages(inbox.id, [3, 1, 99], archive.id);
        assert.equal(result.uidValidity, archive.uidValidity);
        assert.deepEqual(result.uidMap, [[1, 2], [3, 3]]);
        assert.equal(result.expungeModSeq, undefined);
        const copies = await store.getMessages(archive.id, [2, 3]);
        assert.equal(copies[0].blobId, sources[0].blobId, 'the copy shares the blob');
        assert.equal(copies[1].blobId, sources[2].blobId);
        assert.deepEqual(copies[0].flags, ['\\Seen', 'x']);
        assert.deepEqual(copies[0].internalDate, date);
        assert.notEqual(copies[0].uidl, sources[0].uidl, 'a copy is a new message for POP3');
        assert.ok(copies.every((m) => m.modSeq > archiveTop));
        assert.deepEqual((await store.getChanges(archive.id, archiveTop)).changed.map((m) => m.uid), [2, 3]);
        assert.equal((await store.listMessages(inbox.id)).length, 3, 'source untouched');
        const used = mail('already there').length + 2 * (mail('a').length + mail('b').length + mail('c').length)
          - mail('b').length;
        assert.equal((await store.getAccountById(account.id))?.usedBytes, used);

        // Expunging the original leaves the copy's bytes readable.
        await store.expungeMessages(inbox.id, [1]);
        assert.deepEqual(await store.readBlob(copies[0].blobId), mail('a'));
        assert.deepEqual(await store.copyMessages(inbox.id, [42], archive.id), {
          uidValidity: archive.uidValidity,
          uidMap: [],
        });
        await rejectsWith(store.copyMessages(inbox.id, [2], 999_999), 'STORE_NO_SUCH_MAILBOX');
      }));

      it('moves messages atomically, keeping UIDL, blob and usage', withStore(async (store) => {
        const { account, inbox } = await setup(store);
        const trash = await store.createMailbox(account.id, 'Trash');
        await store.appendMessage(inbox.id, { content: mail('a'), flags: ['\\Flagged'] });
        await store.appendMessage(inbox.id, { content: mail('b') });
        const sources = await store.listMessages(inbox.id);
        const usedBefore = (await store.getAccountById(account.id))?.usedBytes;
        const inboxTop = (await mailbox(store, inbox.id)).highestModSeq;

        const result = await store.moveMessages(inbox.id, [1, 2], trash.id);
        assert.deepEqual(result.uidMap, [[1, 1], [2, 2]]);
        assert.equal(result.uidValidity, trash.uidValidity);
        assert.ok(result.expungeModSeq !== undefined && result.expungeModSeq > inboxTop);
        assert.deepEqual(await store.listMessages(inbox.id), []);
        const moved = await store.listMessages(trash.id);
        assert.deepEqual(moved.map((m) => m.uidl), sources.map((m) => m.uidl), 'MOVE keeps the UIDL');
        assert.deepEqual(moved.map((m) => m.blobId), sources.map((m) => m.blobId));
        assert.deepEqual(moved[0].flags, ['\\Flagged']);
        assert.equal((await store.getAccountById(account.id))?.usedBytes, usedBefore, 'MOVE changes no usage');
        const changes = await store.getChanges(inbox.id, inboxTop);
        assert.deepEqual(changes.expunged, [1, 2]);
        assert.equal(changes.highestModSeq, result.expungeModSeq);

        // Moving back gives new UIDs but the same UIDLs: POP3 does not download it twice.
        const back = await store.moveMessages(trash.id, [1], inbox.id);
        assert.deepEqual(back.uidMap, [[1, 3]]);
        assert.equal((await store.getMessages(inbox.id, [3]))[0].uidl, sources[0].uidl);
        assert.deepEqual(await store.readBlob(moved[0].blobId), mail('a'));
      }));

      it('moves within the same mailbox to new UIDs', withStore(async (store) => {
        const { inbox } = await setup(store);
        await store.appendMessage(inbox.id, { content: mail('a') });
        const result = await store.moveMessages(inbox.id, [1], inbox.id);
        assert.deepEqual(result.uidMap, [[1, 2]]);
        const messages = await store.listMessages(inbox.id);
        assert.deepEqual(messages.map((m) => m.uid), [2]);
        const changes = await store.getChanges(inbox.id, 0);
        assert.deepEqual(changes.expunged, [1]);
      }));
    });

    describe('quota', () => {
      it('refuses an append over quota and stores nothing', withStore(async (store) => {
        const size = mail('fits').length;
        const { account, inbox } = await setup(store, size * 2);
        await store.appendMessage(inbox.id, { content: mail('fits') });
        await store.appendMessage(inbox.id, { content: mail('fits') }); // exactly at quota is allowed
        const before = await mailbox(store, inbox.id);
        await rejectsWith(store.appendMessage(inbox.id, { content: mail('too much') }), 'STORE_OVER_QUOTA');
        const after = await mailbox(store, inbox.id);
        assert.deepEqual(after, before, 'no UID, MODSEQ or message was used up');
        assert.equal((await store.getAccountById(account.id))?.usedBytes, size * 2);

        await store.expungeMessages(inbox.id, [1]);
        assert.equal((await store.getAccountById(account.id))?.usedBytes, size);
        const ok = await store.appendMessage(inbox.id, { content: mail('fits') });
        assert.equal(ok.uid, 3);
        await store.setQuota(account.id, null);
        await store.appendMessage(inbox.id, { content: Buffer.alloc(size * 10, 0x61) });
      }));

      it('refuses a copy over quota and stores nothing; a move needs no room', withStore(async (store) => {
        const size = mail('m').length;
        const { account, inbox } = await setup(store, size * 3);
        const other = await store.createMailbox(account.id, 'Other');
        await store.appendMessage(inbox.id, { content: mail('m') });
        await store.appendMessage(inbox.id, { content: mail('m') });
        const before = await mailbox(store, other.id);
        await rejectsWith(store.copyMessages(inbox.id, [1, 2], other.id), 'STORE_OVER_QUOTA');
        assert.deepEqual(await mailbox(store, other.id), before);
        assert.equal((await store.getAccountById(account.id))?.usedBytes, size * 2);

        await store.copyMessages(inbox.id, [1], other.id);
        assert.equal((await store.getAccountById(account.id))?.usedBytes, size * 3);
        const moved = await store.moveMessages(inbox.id, [1, 2], other.id);
        assert.equal(moved.uidMap.length, 2, 'a move at full quota succeeds');
        assert.equal((await store.getAccountById(account.id))?.usedBytes, size * 3);

        await store.deleteMailbox(other.id);
        assert.equal((await store.getAccountById(account.id))?.usedBytes, 0);
      }));
    });

    describe('properties', () => runMailStoreProperties(newStore));
    runMessageSummaryContract(newStore);
    runPop3StateContract(newStore);
    runAppendMessagesContract(newStore);
    runCountersContract(newStore);
    runBlobStreamContract(name, newStore);
    runAccountCreationContract(newStore);
    runPop3UpdateContract(newStore);
    runInboxRenameContract(newStore);
    runRecentContract(newStore);
    runConcurrencyContract(newStore);
    runExpungeDeletedContract(newStore);
    runMetadataContract(newStore);
    runAclContract(newStore);
    runJmapLookupsContract(newStore);
  });
}
