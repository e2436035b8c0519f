/**
 * Issue 5 parts of the MailStore contract: appendMessages (RFC 3502
 * MULTIAPPEND: all or none, quota checked for the sum) and the RFC 8474
 * MAILBOXID of a mailbox (kept by RENAME, new after DELETE and CREATE).
 * Called from runMailStoreContract for every backend.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MailStore, StoreErrorCode } from '../../src/store/types.js';
import { StoreError } from '../../src/store/types.js';

export function runAppendMessagesContract(newStore: () => Promise<MailStore>): void {
  const withStore = (fn: (store: MailStore) => Promise<void>) => async () => {
    const store = await newStore();
    try {
      await fn(store);
    } finally {
      await store.close();
    }
  };
  const mail = (text: string) => Buffer.from(`Subject: ${text}\r\n\r\n${text}\r\n`);
  const rejectsWith = (promise: Promise<unknown>, code: StoreErrorCode) =>
    assert.rejects(promise, (err: unknown) => err instanceof StoreError && err.code === code);

  describe('appendMessages (MULTIAPPEND)', () => {
    it('stores every message in order with consecutive UIDs and one MODSEQ', withStore(async (store) => {
      const account = await store.createAccount('alice@example.com', 'h', null);
      const inbox = await store.createMailbox(account.id, 'INBOX');
      await store.appendMessage(inbox.id, { content: mail('first') });
      const date = new Date('2024-05-06T07:08:09.000Z');
      const results = await store.appendMessages(inbox.id, [
        { content: mail('a'), flags: ['\\Seen'] },
        { content: mail('b'), internalDate: date },
        { content: mail('a'), flags: ['$Label'] },
      ]);
      assert.deepEqual(results.map((r) => r.uid), [2, 3, 4]);
      assert.ok(results.every((r) => r.uidValidity === inbox.uidValidity && r.modSeq === results[0].modSeq));
      const messages = await store.listMessages(inbox.id);
      assert.deepEqual(messages.map((m) => m.flags), [[], ['\\Seen'], [], ['$Label']]);
      assert.equal(messages[2].internalDate.getTime(), date.getTime());
      assert.equal(new Set(messages.map((m) => m.emailId)).size, 4, 'each message gets its own EMAILID');
      assert.deepEqual(await store.readBlob(messages[3].blobId), mail('a'));
      const after = (await store.getMailboxById(inbox.id))!;
      assert.equal(after.uidNext, 5);
      assert.equal(after.highestModSeq, results[0].modSeq);
      const used = [mail('first'), mail('a'), mail('b'), mail('a')].reduce((n, b) => n + b.length, 0);
      assert.equal((await store.getAccountById(account.id))!.usedBytes, used);
      assert.deepEqual(await store.appendMessages(inbox.id, []), []);
    }));

    it('refuses the whole batch when the sum passes the quota, though each message fits', withStore(async (store) => {
      const one = mail('x').length;
      const account = await store.createAccount('alice@example.com', 'h', one * 2 + 1);
      const inbox = await store.createMailbox(account.id, 'INBOX');
      await store.appendMessage(inbox.id, { content: mail('x') });
      await rejectsWith(store.appendMessages(inbox.id, [{ content: mail('y') }, { content: mail('z') }]), 'STORE_OVER_QUOTA');
      assert.equal((await store.listMessages(inbox.id)).length, 1);
      assert.equal((await store.getAccountById(account.id))!.usedBytes, one);
      assert.equal((await store.getMailboxById(inbox.id))!.uidNext, 2, 'no UID was used');
      assert.deepEqual((await store.appendMessages(inbox.id, [{ content: mail('y') }])).map((r) => r.uid), [2]);
    }));

    it('stores none when one message of the batch is refused', withStore(async (store) => {
      const account = await store.createAccount('alice@example.com', 'h', null);
      const inbox = await store.createMailbox(account.id, 'INBOX');
      await rejectsWith(
        store.appendMessages(inbox.id, [{ content: mail('good') }, { content: mail('bad'), flags: ['two words'] }]),
        'STORE_INVALID_NAME',
      );
      await rejectsWith(store.appendMessages(inbox.id + 1000, [{ content: mail('lost') }]), 'STORE_NO_SUCH_MAILBOX');
      assert.deepEqual(await store.listMessages(inbox.id), []);
      assert.equal((await store.getAccountById(account.id))!.usedBytes, 0);
      assert.equal((await store.getChanges(inbox.id, 0)).changed.length, 0);
    }));
  });

  describe('MAILBOXID (RFC 8474)', () => {
    it('is unique, kept by RENAME (inferiors too) and new for a mailbox created again', withStore(async (store) => {
      const account = await store.createAccount('alice@example.com', 'h', null);
      const work = await store.createMailbox(account.id, 'Work');
      const child = await store.createMailbox(account.id, 'Work/Child');
      const other = await store.createMailbox(account.id, 'Other');
      assert.match(work.objectId, /^[A-Za-z0-9_-]{1,255}$/);
      assert.equal(new Set([work.objectId, child.objectId, other.objectId]).size, 3);
      assert.equal((await store.getMailbox(account.id, 'Work'))!.objectId, work.objectId);

      await store.renameMailbox(work.id, 'Job');
      assert.equal((await store.getMailbox(account.id, 'Job'))!.objectId, work.objectId);
      assert.equal((await store.getMailbox(account.id, 'Job/Child'))!.objectId, child.objectId);

      await store.deleteMailbox(other.id);
      const again = await store.createMailbox(account.id, 'Other');
      assert.notEqual(again.objectId, other.objectId);
      const listed = await store.listMailboxes(account.id);
      assert.deepEqual(listed.map((m) => m.objectId).sort(), [work.objectId, child.objectId, again.objectId].sort());
    }));
  });
}
