/**
 * RFC 5464 METADATA entries (MailStore.getMetadata / setMetadata): scopes
 * kept apart, descendants by name, all-or-nothing changes under the entry
 * limit, and entries that follow their mailbox. Called from
 * runMailStoreContract for every backend.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MailStore } from '../../src/store/types.js';
import { StoreError } from '../../src/store/types.js';

export function runMetadataContract(newStore: () => Promise<MailStore>): void {
  const withStore = (fn: (store: MailStore) => Promise<void>) => async () => {
    const store = await newStore();
    try {
      await fn(store);
    } finally {
      await store.close();
    }
  };
  const v = (s: string) => Buffer.from(s);
  const rejectsWith = (p: Promise<unknown>, code: string) =>
    assert.rejects(p, (e: unknown) => e instanceof StoreError && e.code === code);

  describe('METADATA entries', () => {
    it('keeps server and mailbox entries of each account apart, returns values as Buffers, and finds descendants by name', withStore(async (store) => {
      const alice = await store.createAccount('alice@example.com', 'h', null);
      const bob = await store.createAccount('bob@example.com', 'h', null);
      const box = await store.createMailbox(alice.id, 'INBOX');
      const server = { accountId: alice.id, mailboxId: null };
      const mailbox = { accountId: alice.id, mailboxId: box.id };
      await store.setMetadata(
        [
          { scope: server, name: '/private/a', value: v('server') },
          { scope: mailbox, name: '/private/a', value: v('mailbox') },
          { scope: mailbox, name: '/private/a/b', value: Buffer.from([0, 1, 255]) },
          { scope: mailbox, name: '/private/a/b/c', value: v('deep') },
          { scope: mailbox, name: '/private/ab', value: v('sibling') },
          { scope: { accountId: bob.id, mailboxId: box.id }, name: '/private/a', value: v('bob') },
        ],
        100,
      );
      const [serverEntry] = await store.getMetadata(server, ['/private/a'], false);
      assert.ok(Buffer.isBuffer(serverEntry!.value));
      assert.deepEqual(serverEntry, { name: '/private/a', value: v('server') });
      assert.deepEqual(await store.getMetadata(mailbox, ['/private/a'], false), [{ name: '/private/a', value: v('mailbox') }]);
      assert.deepEqual(
        (await store.getMetadata(mailbox, ['/private/a'], true)).map((e) => e.name),
        ['/private/a', '/private/a/b', '/private/a/b/c'],
      );
      assert.deepEqual((await store.getMetadata(mailbox, ['/private/a/b'], false))[0]!.value, Buffer.from([0, 1, 255]));
      assert.deepEqual(await store.getMetadata({ accountId: bob.id, mailboxId: box.id }, ['/private/a'], true), [{ name: '/private/a', value: v('bob') }]);
      assert.deepEqual(await store.getMetadata(mailbox, ['/private/none'], true), []);
      // A null value removes; replacing keeps one entry.
      await store.setMetadata([{ scope: mailbox, name: '/private/a', value: null }, { scope: server, name: '/private/a', value: v('again') }], 100);
      assert.deepEqual(await store.getMetadata(mailbox, ['/private/a'], false), []);
      assert.deepEqual(await store.getMetadata(server, ['/private/a'], false), [{ name: '/private/a', value: v('again') }]);
    }));

    it('refuses a change that would pass the entry limit, keeping none of it', withStore(async (store) => {
      const alice = await store.createAccount('alice@example.com', 'h', null);
      const scope = { accountId: alice.id, mailboxId: null };
      await store.setMetadata([{ scope, name: '/private/1', value: v('1') }, { scope, name: '/private/2', value: v('2') }], 3);
      await rejectsWith(
        store.setMetadata([{ scope, name: '/private/3', value: v('3') }, { scope, name: '/private/4', value: v('4') }], 3),
        'STORE_METADATA_TOO_MANY',
      );
      assert.deepEqual((await store.getMetadata(scope, ['/private'], true)).map((e) => e.name), ['/private/1', '/private/2']);
      // Replacing and removing never count as growth.
      await store.setMetadata([{ scope, name: '/private/1', value: v('one') }, { scope, name: '/private/3', value: v('3') }], 3);
      await store.setMetadata([{ scope, name: '/private/2', value: null }], 1);
    }));

    it('keeps a mailbox\'s entries across RENAME and removes them with the mailbox and the account', withStore(async (store) => {
      const alice = await store.createAccount('alice@example.com', 'h', null);
      const box = await store.createMailbox(alice.id, 'Colour');
      const scope = { accountId: alice.id, mailboxId: box.id };
      await store.setMetadata([{ scope, name: '/shared/color', value: v('#fff') }], 10);
      await store.renameMailbox(box.id, 'Tinted');
      assert.deepEqual(await store.getMetadata(scope, ['/shared/color'], false), [{ name: '/shared/color', value: v('#fff') }]);
      await store.deleteMailbox(box.id);
      assert.deepEqual(await store.getMetadata(scope, ['/shared/color'], false), []);
      await rejectsWith(store.setMetadata([{ scope, name: '/shared/color', value: v('x') }], 10), 'STORE_NO_SUCH_MAILBOX');
      // Entries of a deleted account do not count against anyone, and the account's server entries go with it.
      const server = { accountId: alice.id, mailboxId: null };
      await store.setMetadata([{ scope: server, name: '/private/x', value: v('x') }], 10);
      await store.deleteAccount(alice.id);
      assert.deepEqual(await store.getMetadata(server, ['/private/x'], false), []);
    }));
  });
}
