/**
 * Part of the MailStore contract: the two reads JMAP needs, a page of a
 * mailbox in arrival order (Email/query) and the messages of EMAILIDs across
 * the account's mailboxes (an Email in several mailboxes).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MailStore } from '../../src/store/types.js';

export function runJmapLookupsContract(newStore: () => Promise<MailStore>): void {
  const withStore = (fn: (store: MailStore) => Promise<void>) => async () => {
    const store = await newStore();
    try {
      await fn(store);
    } finally {
      await store.close();
    }
  };
  const mail = (text: string) => Buffer.from(`Subject: ${text}\r\n\r\n${text}\r\n`);

  describe('JMAP lookups', () => {
    it('pages a mailbox by internal date then UID, either way, from any offset', withStore(async (store) => {
      const account = await store.createAccount('alice@example.com', 'h', null);
      const inbox = await store.createMailbox(account.id, 'INBOX');
      // Internal dates out of UID order (APPEND may set any date), and two equal ones.
      const dates = ['2026-01-03', '2026-01-01', '2026-01-02', '2026-01-02'].map((d) => new Date(`${d}T00:00:00Z`));
      for (const [i, internalDate] of dates.entries()) await store.appendMessage(inbox.id, { content: mail(`m${i}`), internalDate });
      const uids = async (offset: number, limit: number, newestFirst: boolean) =>
        (await store.listMessagesPage(inbox.id, offset, limit, newestFirst)).map((m) => m.uid);
      assert.deepEqual(await uids(0, 10, false), [2, 3, 4, 1]);
      assert.deepEqual(await uids(0, 10, true), [1, 4, 3, 2]);
      assert.deepEqual(await uids(1, 2, true), [4, 3]);
      assert.deepEqual(await uids(4, 2, true), []);
      await assert.rejects(store.listMessagesPage(9999, 0, 1, true));
    }));

    it('finds the copies of EMAILIDs in the account, and only in that account', withStore(async (store) => {
      const alice = await store.createAccount('alice@example.com', 'h', null);
      const bob = await store.createAccount('bob@example.com', 'h', null);
      const inbox = await store.createMailbox(alice.id, 'INBOX');
      const archive = await store.createMailbox(alice.id, 'Archive');
      const bobInbox = await store.createMailbox(bob.id, 'INBOX');
      await store.appendMessage(inbox.id, { content: mail('one') });
      await store.appendMessage(inbox.id, { content: mail('two') });
      await store.copyMessages(inbox.id, [1], archive.id);
      const [one, two] = await store.listMessages(inbox.id);
      const found = await store.findByEmailIds(alice.id, [one!.emailId, two!.emailId, 'Mnothere']);
      assert.deepEqual(
        found.map((r) => [r.mailboxId, r.message.uid, r.message.emailId]),
        [
          [inbox.id, 1, one!.emailId],
          [inbox.id, 2, two!.emailId],
          [archive.id, 1, one!.emailId],
        ].sort((a, b) => (a[0] as number) - (b[0] as number) || (a[1] as number) - (b[1] as number)),
      );
      assert.deepEqual(await store.findByEmailIds(bob.id, [one!.emailId]), [], "another account's mail is not found");
      assert.deepEqual(await store.findByEmailIds(alice.id, []), []);
      assert.deepEqual((await store.listMessages(bobInbox.id)).length, 0);
    }));
  });
}
