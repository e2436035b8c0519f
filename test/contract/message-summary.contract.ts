/**
 * Contract cases for what issue 4 added to the store: per-blob summaries
 * (opaque to the store), EMAILID kept by copy and move (RFC 8474 §5.1) and
 * SAVEDATE set when a message arrives in a mailbox (RFC 8514).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MailStore } from '../../src/store/types.js';

export function runMessageSummaryContract(newStore: () => Promise<MailStore>): void {
  const withStore = (fn: (store: MailStore) => Promise<void>) => async () => {
    const store = await newStore();
    try {
      await fn(store);
    } finally {
      await store.close();
    }
  };

  describe('summaries, EMAILID and SAVEDATE', () => {
    it('keeps a summary per blob, shared by copies, gone with the blob', withStore(async (store) => {
      const account = await store.createAccount('alice@example.com', 'h', null);
      const inbox = await store.createMailbox(account.id, 'INBOX');
      const other = await store.createMailbox(account.id, 'Other');
      await store.appendMessage(inbox.id, { content: Buffer.from('Subject: a\r\n\r\na\r\n'), summary: '{"s":1}' });
      await store.appendMessage(inbox.id, { content: Buffer.from('Subject: b\r\n\r\nb\r\n') });
      const [a, b] = await store.listMessages(inbox.id);
      assert.deepEqual(await store.readSummaries([a!.blobId, b!.blobId, 'nope']), new Map([[a!.blobId, '{"s":1}']]));
      // Computed late (mail stored without one), and replaced when recomputed.
      await store.saveSummary(b!.blobId, '{"s":2}');
      await store.saveSummary(b!.blobId, '{"s":3}');
      assert.equal((await store.readSummaries([b!.blobId])).get(b!.blobId), '{"s":3}');
      await store.copyMessages(inbox.id, [1], other.id);
      await store.expungeMessages(inbox.id, [1, 2]);
      const [copy] = await store.listMessages(other.id);
      assert.equal((await store.readSummaries([copy!.blobId])).get(copy!.blobId), '{"s":1}');
      await store.expungeMessages(other.id, [copy!.uid]);
      assert.equal((await store.readSummaries([a!.blobId, b!.blobId])).size, 0);
      // Saving for a blob that is gone does nothing and does not fail.
      await store.saveSummary(a!.blobId, '{"s":4}');
      assert.equal((await store.readSummaries([a!.blobId])).size, 0);
    }));

    it('gives each message an EMAILID that copy and move keep, and a SAVEDATE', withStore(async (store) => {
      const account = await store.createAccount('alice@example.com', 'h', null);
      const inbox = await store.createMailbox(account.id, 'INBOX');
      const other = await store.createMailbox(account.id, 'Other');
      const before = Date.now();
      await store.appendMessage(inbox.id, { content: Buffer.from('same\r\n'), internalDate: new Date('2001-01-01T00:00:00Z') });
      await store.appendMessage(inbox.id, { content: Buffer.from('same\r\n') });
      const [one, two] = await store.listMessages(inbox.id);
      assert.match(one!.emailId, /^[A-Za-z0-9_-]{1,255}$/);
      assert.notEqual(one!.emailId, two!.emailId, 'identical content delivered twice is two messages');
      assert.ok(one!.saveDate && one!.saveDate.getTime() >= before - 1000 && one!.saveDate.getTime() <= Date.now() + 1000);
      await store.copyMessages(inbox.id, [1], other.id);
      await store.moveMessages(inbox.id, [2], other.id);
      const copied = await store.listMessages(other.id);
      assert.deepEqual(copied.map((m) => m.emailId), [one!.emailId, two!.emailId]);
      assert.ok(copied.every((m) => m.saveDate !== null && m.saveDate.getTime() >= one!.saveDate!.getTime()));
      assert.equal(copied[0]!.internalDate.toISOString(), '2001-01-01T00:00:00.000Z', 'INTERNALDATE is kept');
    }));
  });
}
