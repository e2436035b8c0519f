/**
 * Part of the MailStore contract: EXPUNGE removes exactly the messages that
 * carry \Deleted at the moment it runs (RFC 9051 §6.4.3). Deciding which
 * messages those are and removing them is one step: a message whose \Deleted
 * another session removes meanwhile is kept, one it marks meanwhile is
 * either removed with the rest or left marked, never half of each.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MailDomain } from '../../src/domain/mail-domain.js';
import { LocalBus } from '../../src/notify/bus.js';
import type { Mailbox, MailStore } from '../../src/store/types.js';
import { counters, recount } from './counters.contract.js';

const mail = (text: string) => Buffer.from(`Subject: ${text}\r\n\r\n${text}\r\n`);

/**
 * A store through which, right after the first call the domain makes once
 * armed, another session's changes land: the moment between "which messages
 * are \Deleted" and "remove them" if the domain takes two steps.
 */
function interleaved(store: MailStore, otherSession: () => Promise<void>): { store: MailStore; arm: () => void } {
  let armed = false;
  const proxy = new Proxy(store, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        const result = await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        if (armed) {
          armed = false;
          await otherSession();
        }
        return result;
      };
    },
  });
  return { store: proxy, arm: () => (armed = true) };
}

export function runExpungeDeletedContract(newStore: () => Promise<MailStore>): void {
  const withStore = (fn: (store: MailStore, bus: LocalBus) => Promise<void>) => async () => {
    const store = await newStore();
    const bus = new LocalBus();
    try {
      await fn(store, bus);
    } finally {
      await bus.close();
      await store.close();
    }
  };

  async function mailbox(store: MailStore, flags: string[][]): Promise<Mailbox> {
    const account = await store.createAccount(`x${Math.random().toString(36).slice(2)}@example.com`, 'h', null);
    const inbox = await store.createMailbox(account.id, 'INBOX');
    for (const [i, f] of flags.entries()) await store.appendMessage(inbox.id, { content: mail(`m${i}`), flags: f });
    return (await store.getMailboxById(inbox.id))!;
  }

  describe('expunge of \\Deleted messages', () => {
    it('removes exactly the messages marked \\Deleted (UID EXPUNGE: only those named), in one MODSEQ', withStore(async (store) => {
      const inbox = await mailbox(store, [['\\Deleted'], [], ['\\Deleted', '\\Seen'], ['\\Deleted'], ['$deleted']]);
      assert.deepEqual(await store.expungeFlagged(inbox.id, '\\Deleted', [2, 3, 5]), [3], 'UID EXPUNGE 2,3,5');
      assert.deepEqual(await store.expungeFlagged(inbox.id, '\\Deleted', null), [1, 4]);
      assert.deepEqual(await store.expungeFlagged(inbox.id, '\\Deleted', null), [], 'nothing left');
      assert.deepEqual((await store.listMessages(inbox.id)).map((m) => m.uid), [2, 5]);
      assert.deepEqual(await counters(store, inbox.id), await recount(store, inbox.id));
      const changes = await store.getChanges(inbox.id, inbox.highestModSeq);
      assert.deepEqual(changes.expunged, [1, 3, 4]);
      const after = (await store.getMailboxById(inbox.id))!;
      assert.equal(after.highestModSeq, inbox.highestModSeq + 2, 'one MODSEQ per expunge that removed something');
    }));

    it('keeps a message whose \\Deleted another session removes between EXPUNGE deciding and removing', withStore(async (store, bus) => {
      const inbox = await mailbox(store, [['\\Deleted'], ['\\Deleted'], []]);
      let undeleted: number[] = [];
      const other = async () => {
        undeleted = (await store.updateFlags(inbox.id, [2], 'remove', ['\\Deleted'])).map((m) => m.uid);
        await store.updateFlags(inbox.id, [3], 'add', ['\\Deleted']);
      };
      const racing = interleaved(store, other);
      const domain = new MailDomain(racing.store, bus);
      racing.arm();
      const removed = await domain.expungeDeleted(inbox);
      const left = new Map((await store.listMessages(inbox.id)).map((m) => [m.uid, m.flags]));
      // Whichever came first, no message was removed after losing \Deleted.
      if (undeleted.includes(2)) assert.ok(left.has(2) && !removed.includes(2), `UID 2 lost \\Deleted, then was expunged: ${removed}`);
      else assert.ok(removed.includes(2), 'UID 2 was gone before its \\Deleted could be removed');
      assert.ok(removed.includes(1));
      // UID 3 was marked by the other session: removed with the rest, or still marked.
      assert.ok(removed.includes(3) || left.get(3)?.includes('\\Deleted'));
      assert.deepEqual(await counters(store, inbox.id), await recount(store, inbox.id));
    }));

    it('under concurrent un-deletes, never expunges a message after its \\Deleted was removed', withStore(async (store, bus) => {
      const rounds = 6;
      for (let round = 0; round < rounds; round++) {
        const inbox = await mailbox(store, Array.from({ length: 8 }, () => ['\\Deleted']));
        const domain = new MailDomain(store, bus);
        const [removed, ...undeletes] = await Promise.all([
          domain.expungeDeleted(inbox),
          ...[2, 4, 6, 8].map((uid) => store.updateFlags(inbox.id, [uid], 'remove', ['\\Deleted'])),
        ]);
        const undeleted = undeletes.flat().map((m) => m.uid);
        const left = new Set((await store.listMessages(inbox.id)).map((m) => m.uid));
        for (const uid of undeleted) assert.ok(left.has(uid) && !removed.includes(uid), `round ${round}: UID ${uid} lost \\Deleted, then was expunged`);
        for (let uid = 1; uid <= 8; uid++) assert.ok(left.has(uid) !== removed.includes(uid), `round ${round}: UID ${uid} removed and present`);
        assert.deepEqual(await counters(store, inbox.id), await recount(store, inbox.id));
      }
    }));
  });
}
