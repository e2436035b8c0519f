/**
 * IMAP4rev1 \Recent state (RFC 3501 §2.3.2): each mailbox's first UID no
 * session has been told of, claimed atomically so that of sessions claiming
 * the same messages (on one node or several) exactly one gets them. Called
 * from runMailStoreContract for every backend.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MailStore } from '../../src/store/types.js';
import { StoreError } from '../../src/store/types.js';

export function runRecentContract(newStore: () => Promise<MailStore>): void {
  const withStore = (fn: (store: MailStore) => Promise<void>) => async () => {
    const store = await newStore();
    try {
      await fn(store);
    } finally {
      await store.close();
    }
  };
  const mail = (s: string) => ({ content: Buffer.from(`Subject: ${s}\r\n\r\n${s}\r\n`), flags: [] });

  describe('\\Recent claims', () => {
    it('a new mailbox has every message recent until a claim; a claim moves up only and returns what was before', withStore(async (store) => {
      const account = await store.createAccount('recent@example.com', 'h', null);
      const box = await store.createMailbox(account.id, 'INBOX');
      for (const s of ['a', 'b', 'c']) await store.appendMessage(box.id, mail(s));
      assert.equal(await store.countRecent(box.id), 3);
      assert.equal(await store.claimRecent(box.id, 0), 1, 'a read claims nothing');
      assert.equal(await store.countRecent(box.id), 3);
      assert.equal(await store.claimRecent(box.id, 3), 1, 'UIDs 1 and 2 claimed');
      assert.equal(await store.countRecent(box.id), 1);
      assert.equal(await store.claimRecent(box.id, 2), 3, 'never moves down');
      assert.equal(await store.claimRecent(box.id, 4), 3);
      assert.equal(await store.countRecent(box.id), 0);
      await assert.rejects(store.claimRecent(987654, 1), (e: unknown) => e instanceof StoreError && e.code === 'STORE_NO_SUCH_MAILBOX');
      await assert.rejects(store.countRecent(987654), (e: unknown) => e instanceof StoreError && e.code === 'STORE_NO_SUCH_MAILBOX');
    }));

    it('of many claims at once for the same messages exactly one gets them', withStore(async (store) => {
      const account = await store.createAccount('recent2@example.com', 'h', null);
      const box = await store.createMailbox(account.id, 'INBOX');
      for (const s of ['a', 'b']) await store.appendMessage(box.id, mail(s));
      const before = await Promise.all(Array.from({ length: 8 }, () => store.claimRecent(box.id, 3)));
      assert.deepEqual(before.filter((b) => b < 3), [1], before.join(' '));
    }));
  });
}
