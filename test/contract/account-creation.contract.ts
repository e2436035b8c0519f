/**
 * Creating an account with its first mailboxes is one transaction (issue 11):
 * afterwards the account exists with every mailbox and subscription, or not
 * at all. Called from runMailStoreContract for every backend.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MailStore } from '../../src/store/types.js';
import { StoreError } from '../../src/store/types.js';

export function runAccountCreationContract(newStore: () => Promise<MailStore>): void {
  const withStore = (fn: (store: MailStore) => Promise<void>) => async () => {
    const store = await newStore();
    try {
      await fn(store);
    } finally {
      await store.close();
    }
  };

  describe('account creation with mailboxes', () => {
    it('creates the account, its mailboxes (fresh UIDVALIDITY each) and subscriptions together', withStore(async (store) => {
      const account = await store.createAccountWithMailboxes('new@example.com', 'h', 5000, [
        { name: 'INBOX', specialUse: null, subscribed: true },
        { name: 'Sent', specialUse: '\\Sent', subscribed: true },
        { name: 'Hidden', specialUse: null, subscribed: false },
      ]);
      assert.equal(account.address, 'new@example.com');
      assert.equal(account.quotaBytes, 5000);
      assert.equal(account.usedBytes, 0);
      assert.deepEqual((await store.getAccount('new@example.com'))?.id, account.id);
      const mailboxes = await store.listMailboxes(account.id);
      assert.deepEqual(
        mailboxes.map((m) => [m.name, m.specialUse, m.uidNext, m.messageCount]),
        [
          ['Hidden', null, 1, 0],
          ['INBOX', null, 1, 0],
          ['Sent', '\\Sent', 1, 0],
        ],
      );
      assert.equal(new Set(mailboxes.map((m) => m.uidValidity)).size, 3);
      assert.equal(new Set(mailboxes.map((m) => m.objectId)).size, 3);
      assert.deepEqual(await store.listSubscriptions(account.id), ['INBOX', 'Sent']);
    }));

    it('leaves nothing behind when a mailbox cannot be created', withStore(async (store) => {
      await assert.rejects(
        store.createAccountWithMailboxes('half@example.com', 'h', null, [
          { name: 'INBOX', specialUse: null, subscribed: true },
          { name: 'INBOX', specialUse: null, subscribed: true },
        ]),
        (err: unknown) => err instanceof StoreError && err.code === 'STORE_MAILBOX_EXISTS',
      );
      assert.equal(await store.getAccount('half@example.com'), null);
      assert.deepEqual(await store.listAccounts(), []);
    }));

    it('refuses an address that exists, changing nothing', withStore(async (store) => {
      const first = await store.createAccountWithMailboxes('dup@example.com', 'h', null, [{ name: 'INBOX', specialUse: null, subscribed: true }]);
      await assert.rejects(
        store.createAccountWithMailboxes('dup@example.com', 'other', null, [{ name: 'Extra', specialUse: null, subscribed: true }]),
        (err: unknown) => err instanceof StoreError && err.code === 'STORE_ACCOUNT_EXISTS',
      );
      assert.deepEqual((await store.listMailboxes(first.id)).map((m) => m.name), ['INBOX']);
      assert.equal((await store.getAccount('dup@example.com'))?.passwordHash, 'h');
    }));
  });
}
