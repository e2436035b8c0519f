/**
 * RENAME of INBOX (RFC 9051 §6.3.6) as one transaction (issue 11): the new
 * mailbox (with any missing parents) is created and every INBOX message moved
 * into it, or nothing happens. Called from runMailStoreContract for every backend.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MailStore } from '../../src/store/types.js';
import { StoreError } from '../../src/store/types.js';

export function runInboxRenameContract(newStore: () => Promise<MailStore>): void {
  const withStore = (fn: (store: MailStore) => Promise<void>) => async () => {
    const store = await newStore();
    try {
      await fn(store);
    } finally {
      await store.close();
    }
  };
  const mail = (s: string) => Buffer.from(`Subject: ${s}\r\n\r\n${s}\r\n`);

  describe('moving all of a mailbox into new mailboxes', () => {
    it('creates the mailboxes in order and moves every message into the last, keeping flags and UIDLs', withStore(async (store) => {
      const account = await store.createAccount('rename@example.com', 'h', null);
      const inbox = await store.createMailbox(account.id, 'INBOX');
      for (const s of ['a', 'b', 'c']) await store.appendMessage(inbox.id, { content: mail(s), flags: s === 'b' ? ['\\Seen'] : [] });
      const before = await store.listMessages(inbox.id);
      const { created, moved } = await store.moveAllToNewMailbox(inbox.id, ['Old', 'Old/2025']);
      assert.deepEqual(created.map((m) => m.name), ['Old', 'Old/2025']);
      assert.notEqual(created[0].uidValidity, created[1].uidValidity);
      const target = created[1];
      assert.deepEqual(moved.uidMap, [[1, 1], [2, 2], [3, 3]]);
      assert.equal(moved.uidValidity, target.uidValidity);
      assert.deepEqual(await store.listMessages(inbox.id), []);
      assert.deepEqual(await store.listMessages(created[0].id), []);
      const after = await store.listMessages(target.id);
      assert.deepEqual(after.map((m) => [m.uidl, m.flags.join(' ')]), before.map((m) => [m.uidl, m.flags.join(' ')]));
      assert.deepEqual((await store.getChanges(inbox.id, 0)).expunged, [1, 2, 3]);
      assert.equal((await store.getMailboxById(inbox.id))!.uidNext, 4, 'INBOX keeps its UIDs used');
      assert.equal((await store.getAccountById(account.id))!.usedBytes, before.reduce((n, m) => n + m.size, 0));
    }));

    it('an empty mailbox: the new one is created, nothing moved', withStore(async (store) => {
      const account = await store.createAccount('empty@example.com', 'h', null);
      const inbox = await store.createMailbox(account.id, 'INBOX');
      const { created, moved } = await store.moveAllToNewMailbox(inbox.id, ['Nothing']);
      assert.deepEqual(created.map((m) => m.name), ['Nothing']);
      assert.deepEqual(moved.uidMap, []);
    }));

    it('changes nothing when a name exists', withStore(async (store) => {
      const account = await store.createAccount('taken@example.com', 'h', null);
      const inbox = await store.createMailbox(account.id, 'INBOX');
      await store.createMailbox(account.id, 'Taken');
      await store.appendMessage(inbox.id, { content: mail('a') });
      await assert.rejects(
        store.moveAllToNewMailbox(inbox.id, ['Fresh', 'Taken']),
        (err: unknown) => err instanceof StoreError && err.code === 'STORE_MAILBOX_EXISTS',
      );
      assert.deepEqual((await store.listMailboxes(account.id)).map((m) => m.name), ['INBOX', 'Taken']);
      assert.equal((await store.listMessages(inbox.id)).length, 1);
    }));
  });
}
