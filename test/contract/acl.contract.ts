/**
 * RFC 4314 access control lists (MailStore.getAcl / setAcl / listSharedWith):
 * entries by identifier, the mailboxes shared with an account, and entries
 * that follow their mailbox and their grantee. Called from
 * runMailStoreContract for every backend.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MailStore } from '../../src/store/types.js';
import { StoreError } from '../../src/store/types.js';

export function runAclContract(newStore: () => Promise<MailStore>): void {
  const withStore = (fn: (store: MailStore) => Promise<void>) => async () => {
    const store = await newStore();
    try {
      await fn(store);
    } finally {
      await store.close();
    }
  };

  describe('access control lists', () => {
    it('stores, replaces and removes entries, and lists what is shared with an account', withStore(async (store) => {
      const alice = await store.createAccount('alice@example.com', 'h', null);
      const bob = await store.createAccount('bob@example.com', 'h', null);
      const team = await store.createMailbox(alice.id, 'Team');
      const news = await store.createMailbox(alice.id, 'News');
      const own = await store.createMailbox(bob.id, 'Mine');
      await store.setAcl(team.id, { identifier: 'bob@example.com', accountId: bob.id, rights: 'lr' });
      await store.setAcl(team.id, { identifier: 'bob@example.com', accountId: bob.id, rights: 'lrs' });
      await store.setAcl(news.id, { identifier: 'anyone', accountId: null, rights: 'lr' });
      // An entry on one's own mailbox is not "shared with" oneself.
      await store.setAcl(own.id, { identifier: 'anyone', accountId: null, rights: 'l' });
      assert.deepEqual(await store.getAcl(team.id), [{ identifier: 'bob@example.com', accountId: bob.id, rights: 'lrs' }]);
      const shared = await store.listSharedWith(bob.id);
      assert.deepEqual(
        shared.map((s) => [s.mailbox.name, s.mailbox.accountId, s.entry.identifier, s.entry.rights]),
        [
          ['News', alice.id, 'anyone', 'lr'],
          ['Team', alice.id, 'bob@example.com', 'lrs'],
        ],
      );
      await store.setAcl(team.id, { identifier: 'bob@example.com', accountId: bob.id, rights: '' });
      assert.deepEqual(await store.getAcl(team.id), []);
      await assert.rejects(
        store.setAcl(987654, { identifier: 'anyone', accountId: null, rights: 'l' }),
        (e: unknown) => e instanceof StoreError && e.code === 'STORE_NO_SUCH_MAILBOX',
      );
    }));

    it('keeps entries across RENAME and removes them with the mailbox and with the grantee\'s account', withStore(async (store) => {
      const alice = await store.createAccount('alice@example.com', 'h', null);
      const bob = await store.createAccount('bob@example.com', 'h', null);
      const box = await store.createMailbox(alice.id, 'Team');
      await store.setAcl(box.id, { identifier: 'bob@example.com', accountId: bob.id, rights: 'lr' });
      await store.setAcl(box.id, { identifier: 'anyone', accountId: null, rights: 'l' });
      await store.renameMailbox(box.id, 'Crew');
      assert.equal((await store.getAcl(box.id)).length, 2);
      assert.equal((await store.listSharedWith(bob.id))[0]!.mailbox.name, 'Crew');
      await store.deleteAccount(bob.id);
      assert.deepEqual((await store.getAcl(box.id)).map((e) => e.identifier), ['anyone']);
      await store.deleteMailbox(box.id);
      assert.deepEqual(await store.getAcl(box.id), []);
    }));
  });
}
