/**
 * The POP3 UPDATE state (RFC 1939 §6) as one transaction (issue 11): the
 * device's record, the flags, the expunges and the moves the domain decided
 * are all committed, or none is. Called from runMailStoreContract for every backend.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MailStore } from '../../src/store/types.js';
import { StoreError } from '../../src/store/types.js';

export function runPop3UpdateContract(newStore: () => Promise<MailStore>): void {
  const withStore = (fn: (store: MailStore) => Promise<void>) => async () => {
    const store = await newStore();
    try {
      await fn(store);
    } finally {
      await store.close();
    }
  };
  const mail = (s: string) => Buffer.from(`Subject: ${s}\r\n\r\n${s}\r\n`);

  async function setup(store: MailStore) {
    const account = await store.createAccount('pop@example.com', 'h', null);
    const inbox = await store.createMailbox(account.id, 'INBOX');
    const archive = await store.createMailbox(account.id, 'Archive', '\\Archive');
    for (const s of ['a', 'b', 'c', 'd']) await store.appendMessage(inbox.id, { content: mail(s), uidl: `u-${s}` });
    return { account, inbox, archive };
  }

  describe('POP3 update', () => {
    it('records the device state, adds flags, expunges and moves, and names the mailboxes it changed', withStore(async (store) => {
      const { account, inbox, archive } = await setup(store);
      const at = new Date('2026-05-01T10:00:00.000Z');
      const changed = await store.commitPop3Update({
        accountId: account.id,
        device: 'laptop',
        retrieved: ['u-a', 'u-b', 'u-c'],
        deleted: ['u-b', 'u-c'],
        at,
        addFlags: [{ mailboxId: inbox.id, uids: [1, 2, 3], flags: ['$POP3Downloaded'] }],
        expunge: [{ mailboxId: inbox.id, uids: [2] }],
        move: [{ fromMailboxId: inbox.id, uids: [3], toMailboxId: archive.id }],
      });
      assert.deepEqual([...changed].sort(), [inbox.id, archive.id].sort());
      assert.deepEqual(
        (await store.listMessages(inbox.id)).map((m) => [m.uid, m.flags.join(' ')]),
        [
          [1, '$POP3Downloaded'],
          [4, ''],
        ],
      );
      assert.deepEqual((await store.listMessages(archive.id)).map((m) => [m.uidl, m.flags.join(' ')]), [['u-c', '$POP3Downloaded']]);
      assert.deepEqual(await store.listPop3Deleted(account.id, ['laptop']), ['u-b', 'u-c']);
      assert.deepEqual((await store.listPop3Downloads(account.id)).map((d) => [d.uidl, d.firstDownloadedAt.toISOString()]), [
        ['u-a', at.toISOString()],
        ['u-b', at.toISOString()],
        ['u-c', at.toISOString()],
      ]);
    }));

    it('changes nothing when one step fails', withStore(async (store) => {
      const { account, inbox, archive } = await setup(store);
      const before = await store.listMessages(inbox.id);
      await assert.rejects(
        store.commitPop3Update({
          accountId: account.id,
          device: '',
          retrieved: ['u-a'],
          deleted: ['u-b'],
          at: new Date(),
          addFlags: [{ mailboxId: inbox.id, uids: [1], flags: ['$POP3Downloaded'] }],
          expunge: [{ mailboxId: inbox.id, uids: [2] }],
          move: [{ fromMailboxId: inbox.id, uids: [3], toMailboxId: archive.id + 1000 }],
        }),
        (err: unknown) => err instanceof StoreError && err.code === 'STORE_NO_SUCH_MAILBOX',
      );
      assert.deepEqual(await store.listMessages(inbox.id), before);
      assert.deepEqual(await store.listMessages(archive.id), []);
      assert.deepEqual(await store.listPop3DeviceState(account.id), []);
    }));

    it('an empty update changes nothing', withStore(async (store) => {
      const { account, inbox } = await setup(store);
      const modSeq = (await store.getMailboxById(inbox.id))!.highestModSeq;
      const changed = await store.commitPop3Update({ accountId: account.id, device: '', retrieved: [], deleted: [], at: new Date(), addFlags: [], expunge: [], move: [] });
      assert.deepEqual([...changed], []);
      assert.equal((await store.getMailboxById(inbox.id))!.highestModSeq, modSeq);
    }));
  });
}
