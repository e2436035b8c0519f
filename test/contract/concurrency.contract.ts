/**
 * Part of the MailStore contract: concurrent writers on one mailbox get
 * unique, ascending UIDs with UIDNEXT and the counters in step; a quota is
 * exact when deliveries race for its last bytes; readers running during
 * writes never see a UID at or above the UIDNEXT they read afterwards.
 * (The PostgreSQL suite repeats the races with several store instances on
 * one database, i.e. several nodes.)
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MailStore, StagedBlob } from '../../src/store/types.js';
import { StoreError } from '../../src/store/types.js';
import { counters, recount } from './counters.contract.js';

const mail = (text: string, pad = 0) => Buffer.from(`Subject: ${text}\r\n\r\n${text}${'x'.repeat(pad)}\r\n`);

async function stage(store: MailStore, content: Buffer): Promise<StagedBlob> {
  const writer = store.createBlobWriter();
  await writer.write(content);
  return writer.commit();
}

export function runConcurrencyContract(newStore: () => Promise<MailStore>): void {
  const withStore = (fn: (store: MailStore) => Promise<void>) => async () => {
    const store = await newStore();
    try {
      await fn(store);
    } finally {
      await store.close();
    }
  };

  describe('concurrency', () => {
    it('gives many concurrent appends to one mailbox unique, ascending UIDs', withStore(async (store) => {
      const account = await store.createAccount('alice@example.com', 'h', null);
      const inbox = await store.createMailbox(account.id, 'INBOX');
      const writers = 24;
      const results = await Promise.all(
        Array.from({ length: writers }, async (_, i) => {
          if (i % 2 === 0) return store.appendMessage(inbox.id, { content: mail(`buffered ${i}`) });
          const staged = await stage(store, mail(`streamed ${i}`));
          try {
            return (await store.appendStaged(inbox.id, [{ staged }]))[0];
          } finally {
            await store.releaseStaged([staged]);
          }
        }),
      );
      const uids = results.map((r) => r.uid).sort((a, b) => a - b);
      assert.deepEqual(uids, Array.from({ length: writers }, (_, i) => i + 1), 'every UID once, none skipped');
      // A later UID never has a lower MODSEQ: both are handed out under the same lock, in commit order.
      const byUid = [...results].sort((a, b) => a.uid - b.uid);
      for (let i = 1; i < byUid.length; i++) assert.ok(byUid[i].modSeq > byUid[i - 1].modSeq, 'MODSEQ ascends with UID');
      const listed = await store.listMessages(inbox.id);
      assert.deepEqual(listed.map((m) => m.uid), uids);
      const after = (await store.getMailboxById(inbox.id))!;
      assert.equal(after.uidNext, writers + 1);
      assert.equal(after.highestModSeq, byUid[byUid.length - 1].modSeq);
      assert.deepEqual(await counters(store, inbox.id), await recount(store, inbox.id));
    }));

    it('refuses exactly one of two appends that together pass the quota', withStore(async (store) => {
      // Equal sizes whichever wins: labels padded to one length.
      const body = (label: string) => mail(label.padEnd(12, '-'), 500);
      const size = body('race').length;
      const account = await store.createAccount('alice@example.com', 'h', Math.floor(size * 1.5));
      const inbox = await store.createMailbox(account.id, 'INBOX');
      const staged = await Promise.all([stage(store, body('race one')), stage(store, body('race two'))]);
      const outcomes = await Promise.allSettled(staged.map((s) => store.appendStaged(inbox.id, [{ staged: s }])));
      await store.releaseStaged(staged);
      const refused = outcomes.filter((o) => o.status === 'rejected');
      assert.equal(refused.length, 1, 'exactly one is refused');
      const reason = (refused[0] as PromiseRejectedResult).reason as unknown;
      assert.ok(reason instanceof StoreError && reason.code === 'STORE_OVER_QUOTA');
      assert.equal((await store.getAccountById(account.id))!.usedBytes, size);
      assert.equal((await store.listMessages(inbox.id)).length, 1);

      // The same into two mailboxes of the account (no mailbox lock in common).
      const other = await store.createMailbox(account.id, 'Other');
      await store.expungeMessages(inbox.id, [(await store.listMessages(inbox.id))[0].uid]);
      const more = await Promise.all([stage(store, body('race three')), stage(store, body('race four'))]);
      const twoMailboxes = await Promise.allSettled([
        store.appendStaged(inbox.id, [{ staged: more[0] }]),
        store.appendStaged(other.id, [{ staged: more[1] }]),
      ]);
      await store.releaseStaged(more);
      assert.equal(twoMailboxes.filter((o) => o.status === 'rejected').length, 1);
      assert.equal((await store.getAccountById(account.id))!.usedBytes, size);
    }));

    it('lets readers run during writes and never shows a UID at or above the UIDNEXT read after it', withStore(async (store) => {
      const account = await store.createAccount('alice@example.com', 'h', null);
      const inbox = await store.createMailbox(account.id, 'INBOX');
      let writing = true;
      const writes = (async () => {
        try {
          for (let i = 0; i < 20; i++) await store.appendMessage(inbox.id, { content: mail(`w${i}`) });
        } finally {
          writing = false;
        }
      })();
      const reads = Array.from({ length: 3 }, async () => {
        let rounds = 0;
        while (writing || rounds === 0) {
          rounds++;
          // Yield to I/O: a store that answers synchronously would otherwise starve the writer.
          await new Promise((resolve) => setImmediate(resolve));
          const listed = (await store.listMessages(inbox.id)).map((m) => m.uid);
          const mailbox = (await store.getMailboxById(inbox.id))!;
          for (let i = 1; i < listed.length; i++) assert.ok(listed[i] > listed[i - 1], 'ascending');
          if (listed.length > 0) assert.ok(listed[listed.length - 1] < mailbox.uidNext, 'below UIDNEXT');
          assert.ok(mailbox.messageCount >= listed.length, 'the count never goes back');
        }
      });
      await Promise.all([writes, ...reads]);
      assert.equal((await store.listMessages(inbox.id)).length, 20);
    }));
  });
}
