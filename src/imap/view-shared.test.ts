import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MailDomain } from '../domain/mail-domain.js';
import { LocalBus } from '../notify/bus.js';
import { openSqliteStore } from '../store/sqlite/index.js';
import type { MailStore } from '../store/types.js';
import { MailboxView, noteMailboxChanged } from './view.js';

/** A store with one mailbox of `n` messages, and a domain that counts full message-list reads. */
async function setup(n: number) {
  const store = await openSqliteStore(':memory:');
  const account = await store.createAccount('a@example.com', 'x', null);
  const box = await store.createMailbox(account.id, 'INBOX');
  for (let i = 0; i < n; i++) await store.appendMessage(box.id, { content: Buffer.from(`Subject: ${i}\r\n\r\nx\r\n`) });
  const domain = new MailDomain(store, new LocalBus());
  let lists = 0;
  const listMessages = domain.listMessages.bind(domain);
  const changesSince = domain.changesSince.bind(domain);
  let reads = 0;
  /** While set, change-log reads wait for it (a read still in flight when later changes happen). */
  let gate: Promise<void> | null = null;
  const reader = {
    listMessages: (...args: Parameters<typeof listMessages>) => (lists++, listMessages(...args)),
    changesSince: async (...args: Parameters<typeof changesSince>) => {
      reads++;
      const result = changesSince(...args);
      if (gate) await gate;
      return result;
    },
  };
  const mailbox = async () => (await (store as MailStore).getMailboxById(box.id))!;
  const hold = () => {
    let open!: () => void;
    gate = new Promise<void>((resolve) => (open = resolve));
    return () => ((gate = null), open());
  };
  return { store, box, reader, mailbox, lists: () => lists, reads: () => reads, hold };
}

describe('MailboxView over a shared snapshot', () => {
  it('two sessions on one mailbox share one snapshot, before and after a change', async () => {
    const { store, box, reader, mailbox, lists } = await setup(5);
    const a = await MailboxView.open(reader, await mailbox(), false);
    const b = await MailboxView.open(reader, await mailbox(), false);
    assert.equal(lists(), 1, 'the second SELECT reuses the node snapshot');
    assert.equal(a.snapshot, b.snapshot);
    await store.appendMessage(box.id, { content: Buffer.from('Subject: new\r\n\r\nx\r\n') });
    assert.deepEqual(await a.sync(reader, true), [{ type: 'exists', count: 6 }]);
    assert.deepEqual(await b.sync(reader, true), [{ type: 'exists', count: 6 }]);
    assert.equal(a.snapshot, b.snapshot, 'the second session to sync finds the snapshot the first one built');
    await store.close();
  });

  it('an expunge seen by one session does not renumber another that is mid-FETCH', async () => {
    const { store, box, reader, mailbox } = await setup(4);
    const fetching = await MailboxView.open(reader, await mailbox(), false);
    const expunging = await MailboxView.open(reader, await mailbox(), false);
    await store.expungeMessages(box.id, [2]);
    expunging.markExpunged([2]);
    assert.deepEqual(await expunging.sync(reader, true), [{ type: 'expunge', seq: 2 }]);
    assert.equal(expunging.exists, 3);
    assert.equal(expunging.uidAt(2), 3);
    // RFC 9051 §7.5.1: during FETCH the other session may not send EXPUNGE; message 2 stays a ghost.
    assert.deepEqual(await fetching.sync(reader, false), []);
    assert.equal(fetching.exists, 4);
    assert.equal(fetching.uidAt(2), 2);
    assert.equal(fetching.isExpunged(2), true);
    assert.equal(fetching.uidAt(3), 3);
    assert.equal(fetching.snapshot, expunging.snapshot, 'the ghost lives in the session, not in the shared snapshot');
    // A new message meanwhile is numbered after the ghost.
    await store.appendMessage(box.id, { content: Buffer.from('Subject: new\r\n\r\nx\r\n') });
    assert.deepEqual(await fetching.sync(reader, false), [{ type: 'exists', count: 5 }]);
    assert.equal(fetching.seqOf(5), 5);
    assert.deepEqual(await fetching.sync(reader, true), [{ type: 'expunge', seq: 2 }]);
    assert.equal(fetching.exists, 4);
    assert.deepEqual(fetching.resolve([{ from: 1, to: '*' }], true), [1, 2, 3, 4]);
    assert.equal(fetching.uidAt(2), 3);
    assert.deepEqual(await expunging.sync(reader, true), [{ type: 'exists', count: 4 }]);
    assert.equal(fetching.snapshot, expunging.snapshot);
    await store.close();
  });

  it('flags told to one client are not repeated to it, but reach the other', async () => {
    const { store, box, reader, mailbox } = await setup(3);
    const storing = await MailboxView.open(reader, await mailbox(), false);
    const watching = await MailboxView.open(reader, await mailbox(), false);
    const [meta] = await store.updateFlags(box.id, [2], 'add', ['\\Seen', '$Later']);
    // As STORE does: the new keyword is announced before the FETCH that carries it.
    assert.equal(storing.flagsUpdateFor([meta.flags])?.type, 'flags');
    storing.setFlags(2, meta.flags, meta.modSeq);
    assert.deepEqual(storing.flagsAt(2), meta.flags);
    assert.deepEqual(watching.flagsAt(2), []);
    assert.deepEqual(await storing.sync(reader, { allowExpunge: true, condstore: true }), []);
    assert.deepEqual(await watching.sync(reader, { allowExpunge: true, condstore: true }), [
      { type: 'flags', flags: ['\\Answered', '\\Flagged', '\\Deleted', '\\Seen', '\\Draft', '$Later'] },
      { type: 'fetch', seq: 2, items: [['UID', 2], ['FLAGS', meta.flags.map((f) => ({ atom: f }))], ['MODSEQ', [meta.modSeq]]] },
    ]);
    assert.equal(watching.firstUnseen(), 1);
    assert.deepEqual(watching.flagList(), storing.flagList());
    await store.close();
  });

  it('a session that expunged its own messages keeps them out until the snapshot moves past them', async () => {
    const { store, box, reader, mailbox } = await setup(5);
    const view = await MailboxView.open(reader, await mailbox(), false);
    const other = await MailboxView.open(reader, await mailbox(), true);
    await store.expungeMessages(box.id, [1, 5]);
    view.markExpunged([1, 5]);
    assert.deepEqual(view.flushExpunged(true), [{ type: 'untagged', values: [{ atom: 'VANISHED' }, { atom: '1,5' }] }]);
    assert.equal(view.exists, 3);
    assert.equal(view.uidNext, 6);
    assert.deepEqual(view.resolve([{ from: 1, to: '*' }], false), [1, 2, 3]);
    assert.equal(other.exists, 5, 'the other session still numbers all five');
    assert.deepEqual(await view.sync(reader, true), []);
    assert.equal(view.exists, 3);
    assert.deepEqual(await other.sync(reader, { allowExpunge: true, qresync: true }), [
      { type: 'untagged', values: [{ atom: 'VANISHED' }, { atom: '1,5' }] },
    ]);
    assert.equal(view.snapshot, other.snapshot);
    await store.close();
  });

  it('sessions woken together read the change log once', async () => {
    const { store, box, reader, mailbox, reads } = await setup(3);
    const views = await Promise.all([1, 2, 3].map(async () => MailboxView.open(reader, await mailbox(), false)));
    await store.appendMessage(box.id, { content: Buffer.from('Subject: new\r\n\r\nx\r\n') });
    const before = reads();
    const answers = await Promise.all(views.map((v) => v.sync(reader, true)));
    assert.equal(reads() - before, 1);
    for (const a of answers) assert.deepEqual(a, [{ type: 'exists', count: 4 }]);
    await store.close();
  });

  it('a session woken by a change does not join a read started before it', async () => {
    const { store, box, reader, mailbox, hold } = await setup(3);
    const early = await MailboxView.open(reader, await mailbox(), false);
    const late = await MailboxView.open(reader, await mailbox(), false);
    const release = hold();
    const earlySync = early.sync(reader, true);
    await store.appendMessage(box.id, { content: Buffer.from('Subject: new\r\n\r\nx\r\n') });
    // What every session's bus listener does on the change signal.
    noteMailboxChanged(reader, box.id);
    const lateSync = late.sync(reader, true);
    release();
    assert.deepEqual(await earlySync, []);
    assert.deepEqual(await lateSync, [{ type: 'exists', count: 4 }]);
    await store.close();
  });
});
