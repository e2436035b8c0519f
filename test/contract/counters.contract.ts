/**
 * Part of the MailStore contract: per-mailbox counters (messages, unseen,
 * size) and the account's usage follow every change, and each message
 * carries its POP3 size (CRLF octets, RFC 1939 §5) from the moment it is
 * stored, so neither STATUS nor POP3 STAT has to look at every message.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { wireSize } from '../../src/protocol/pop3/index.js';
import type { Mailbox, MailboxId, MailStore } from '../../src/store/types.js';

type Counters = Pick<Mailbox, 'messageCount' | 'unseenCount' | 'sizeBytes' | 'deletedCount' | 'deletedBytes'>;

/** What the counters must equal: a recount of the mailbox's messages. */
export async function recount(store: MailStore, mailboxId: MailboxId): Promise<Counters> {
  const messages = await store.listMessages(mailboxId);
  const deleted = messages.filter((m) => m.flags.includes('\\Deleted'));
  return {
    messageCount: messages.length,
    unseenCount: messages.filter((m) => !m.flags.includes('\\Seen')).length,
    sizeBytes: messages.reduce((n, m) => n + m.size, 0),
    deletedCount: deleted.length,
    deletedBytes: deleted.reduce((n, m) => n + m.size, 0),
  };
}

export async function counters(store: MailStore, mailboxId: MailboxId): Promise<Counters> {
  const { messageCount, unseenCount, sizeBytes, deletedCount, deletedBytes } = (await store.getMailboxById(mailboxId)) ?? {};
  assert.ok(messageCount !== undefined, `mailbox ${mailboxId} exists`);
  return { messageCount, unseenCount: unseenCount!, sizeBytes: sizeBytes!, deletedCount: deletedCount!, deletedBytes: deletedBytes! };
}

export function runCountersContract(newStore: () => Promise<MailStore>): void {
  const withStore = (fn: (store: MailStore) => Promise<void>) => async () => {
    const store = await newStore();
    try {
      await fn(store);
    } finally {
      await store.close();
    }
  };
  const body = (n: number) => Buffer.from(`Subject: ${n}\r\n\r\n${'x'.repeat(n)}\r\n`);

  describe('counters', () => {
    it('keeps message, unseen and size counts through append, flags, copy, move, expunge, rename and deletes', withStore(async (store) => {
      const alice = await store.createAccount('alice@example.com', 'h', null);
      const bob = await store.createAccount('bob@example.com', 'h', null);
      const inbox = await store.createMailbox(alice.id, 'INBOX');
      const work = await store.createMailbox(alice.id, 'Work');
      const bobInbox = await store.createMailbox(bob.id, 'INBOX');
      const expect = async (id: MailboxId, messageCount: number, unseenCount: number, sizeBytes: number, deletedCount = 0, deletedBytes = 0) => {
        const want = { messageCount, unseenCount, sizeBytes, deletedCount, deletedBytes };
        assert.deepEqual(await counters(store, id), want);
        assert.deepEqual(await recount(store, id), want);
      };
      await expect(inbox.id, 0, 0, 0);

      await store.appendMessage(inbox.id, { content: body(1), flags: ['\\Seen'] });
      await store.appendMessage(inbox.id, { content: body(2) });
      await store.appendMessages(inbox.id, [{ content: body(3), flags: ['\\seen', '\\Flagged'] }, { content: body(4) }]);
      const size = (...ns: number[]) => ns.reduce((total, n) => total + body(n).length, 0);
      await expect(inbox.id, 4, 2, size(1, 2, 3, 4));

      await store.updateFlags(inbox.id, [1, 2], 'add', ['\\Seen']); // 1 already seen: one change
      await expect(inbox.id, 4, 1, size(1, 2, 3, 4));
      await store.updateFlags(inbox.id, [3], 'replace', ['\\Flagged']); // replace drops \Seen
      await expect(inbox.id, 4, 2, size(1, 2, 3, 4));
      await store.updateFlags(inbox.id, [1], 'remove', ['\\SEEN']);
      await expect(inbox.id, 4, 3, size(1, 2, 3, 4));
      await store.updateFlagsUnchangedSince(inbox.id, [1, 4], 'add', ['\\Seen'], Number.MAX_SAFE_INTEGER);
      await expect(inbox.id, 4, 1, size(1, 2, 3, 4));
      await store.updateFlags(inbox.id, [4], 'add', ['$Work']); // no \Seen change
      await expect(inbox.id, 4, 1, size(1, 2, 3, 4));

      // Inbox now: 1 seen, 2 seen, 3 unseen, 4 seen.
      await store.copyMessages(inbox.id, [2, 3], work.id);
      await expect(work.id, 2, 1, size(2, 3));
      await expect(inbox.id, 4, 1, size(1, 2, 3, 4));
      await store.moveMessages(inbox.id, [3, 4], work.id);
      await expect(inbox.id, 2, 0, size(1, 2));
      await expect(work.id, 4, 2, size(2, 3, 3, 4));
      await store.moveMessages(work.id, [1], work.id); // into itself: same counts
      await expect(work.id, 4, 2, size(2, 3, 3, 4));
      await store.expungeMessages(work.id, [2, 999]);
      await expect(work.id, 3, 1, size(2, 3, 4));
      await store.renameMailbox(work.id, 'Projects');
      await expect(work.id, 3, 1, size(2, 3, 4));

      // Across accounts: counts and usage on both sides.
      await store.copyMessages(inbox.id, [1], bobInbox.id);
      await store.moveMessages(inbox.id, [2], bobInbox.id);
      await expect(inbox.id, 1, 0, size(1));
      await expect(bobInbox.id, 2, 0, size(1, 2));
      assert.equal((await store.getAccountById(alice.id))!.usedBytes, size(1, 2, 3, 4));
      assert.equal((await store.getAccountById(bob.id))!.usedBytes, size(1, 2));

      // A failed append (over quota) changes no counter.
      await store.setQuota(bob.id, size(1, 2));
      await assert.rejects(store.appendMessage(bobInbox.id, { content: body(5) }));
      await expect(bobInbox.id, 2, 0, size(1, 2));

      await store.deleteMailbox(work.id);
      assert.equal((await store.getAccountById(alice.id))!.usedBytes, size(1));
      await store.deleteAccount(alice.id);
      await expect(bobInbox.id, 2, 0, size(1, 2));
      const listed = await store.listMailboxes(bob.id);
      assert.deepEqual(
        listed.map((m) => [m.messageCount, m.unseenCount, m.sizeBytes]),
        [[2, 0, size(1, 2)]],
      );
    }));

    it('counts messages flagged \Deleted and their size, for STATUS DELETED and DELETED-STORAGE', withStore(async (store) => {
      const account = await store.createAccount('alice@example.com', 'h', null);
      const inbox = await store.createMailbox(account.id, 'INBOX');
      const trash = await store.createMailbox(account.id, 'Trash');
      const expect = async (id: MailboxId, deletedCount: number, deletedBytes: number) => {
        const got = await counters(store, id);
        assert.deepEqual([got.deletedCount, got.deletedBytes], [deletedCount, deletedBytes]);
        assert.deepEqual(got, await recount(store, id));
      };
      await store.appendMessages(inbox.id, [
        { content: body(1), flags: ['\\deleted'] },
        { content: body(2) },
        { content: body(3), flags: ['\\Deleted', '\\Seen'] },
      ]);
      await expect(inbox.id, 2, body(1).length + body(3).length);
      await store.updateFlags(inbox.id, [1, 2], 'add', ['\\Deleted']);
      await expect(inbox.id, 3, body(1).length + body(2).length + body(3).length);
      await store.updateFlags(inbox.id, [1], 'replace', ['\\Seen']);
      await store.updateFlags(inbox.id, [2], 'remove', ['\\DELETED']);
      await expect(inbox.id, 1, body(3).length);
      await store.copyMessages(inbox.id, [2, 3], trash.id);
      await expect(trash.id, 1, body(3).length);
      await store.moveMessages(inbox.id, [3], trash.id);
      await expect(inbox.id, 0, 0);
      await expect(trash.id, 2, 2 * body(3).length);
      await store.expungeMessages(trash.id, [2]);
      await expect(trash.id, 1, body(3).length);
    }));

    it('stores the POP3 size (CRLF octets) of each message and keeps it through copy and move', withStore(async (store) => {
      const account = await store.createAccount('alice@example.com', 'h', null);
      const inbox = await store.createMailbox(account.id, 'INBOX');
      const other = await store.createMailbox(account.id, 'Other');
      const bodies = [
        Buffer.from('Subject: crlf\r\n\r\nbody\r\n'),
        Buffer.from('Subject: lf\n\nline\n.dot\n'), // bare LF, as some imported mail has
        Buffer.from('Subject: no end\r\n\r\nlast line'), // RETR adds the final CRLF
        Buffer.from('Subject: cr\r\n\r\nends in CR\r'),
        Buffer.from('mixed\nline\r\nends\n\n'),
        Buffer.alloc(0),
      ];
      await store.appendMessage(inbox.id, { content: bodies[0] });
      await store.appendMessages(inbox.id, bodies.slice(1).map((content) => ({ content })));
      const listed = await store.listMessages(inbox.id);
      assert.deepEqual(
        listed.map((m) => m.pop3Size),
        bodies.map((b) => wireSize(b)),
      );
      assert.deepEqual(listed.map((m) => m.pop3Size).slice(0, 4), [23, 27, 30, 27]);
      assert.deepEqual((await store.getMessages(inbox.id, [2])).map((m) => m.pop3Size), [wireSize(bodies[1])]);

      await store.copyMessages(inbox.id, [2], other.id);
      await store.moveMessages(inbox.id, [3], other.id);
      assert.deepEqual(
        (await store.listMessages(other.id)).map((m) => m.pop3Size),
        [wireSize(bodies[1]), wireSize(bodies[2])],
      );
      const changed = await store.updateFlags(other.id, [1], 'add', ['\\Seen']);
      assert.equal(changed[0].pop3Size, wireSize(bodies[1]));
      assert.equal((await store.getChanges(other.id, 0)).changed[0].pop3Size, wireSize(bodies[1]));
    }));
  });
}
