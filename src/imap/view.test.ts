import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MailDomain } from '../domain/mail-domain.js';
import { LocalBus } from '../notify/bus.js';
import { openSqliteStore } from '../store/sqlite/index.js';
import { compactSet, MailboxView } from './view.js';

describe('MailboxView', () => {
  it('resolves sequence and UID sets, with * and reversed ranges', async () => {
    const store = await openSqliteStore(':memory:');
    const account = await store.createAccount('a@example.com', 'x', null);
    const box = await store.createMailbox(account.id, 'INBOX');
    for (let i = 0; i < 6; i++) await store.appendMessage(box.id, { content: Buffer.from(`Subject: ${i}\r\n\r\nx\r\n`) });
    await store.expungeMessages(box.id, [2, 5]);
    const view = await MailboxView.open(new MailDomain(store, new LocalBus()), (await store.getMailboxById(box.id))!, false);
    assert.equal(view.exists, 4);
    assert.deepEqual(view.resolve([{ from: 1, to: '*' }], false), [1, 2, 3, 4]);
    assert.deepEqual(view.resolve([{ from: 3, to: 1 }, { from: 2, to: 2 }], false), [1, 2, 3]);
    assert.equal(view.resolve([{ from: 5, to: 5 }], false), null);
    // UIDs 1 3 4 6: a UID set ignores numbers not in the mailbox; n:* always includes the last.
    assert.deepEqual(view.resolve([{ from: 2, to: 4 }], true), [2, 3]);
    assert.deepEqual(view.resolve([{ from: 100, to: '*' }], true), [4]);
    assert.deepEqual(view.resolve([{ from: 5, to: 5 }], true), []);
    assert.equal(view.uidNext, 7);
    await store.close();
  });

  it('holds expunges as ghosts until allowed, and reports new mail and flag changes', async () => {
    const store = await openSqliteStore(':memory:');
    const account = await store.createAccount('a@example.com', 'x', null);
    const box = await store.createMailbox(account.id, 'INBOX');
    for (let i = 0; i < 3; i++) await store.appendMessage(box.id, { content: Buffer.from(`Subject: ${i}\r\n\r\nx\r\n`) });
    const view = await MailboxView.open(new MailDomain(store, new LocalBus()), (await store.getMailboxById(box.id))!, false);
    await store.expungeMessages(box.id, [2]);
    await store.appendMessage(box.id, { content: Buffer.from('Subject: new\r\n\r\nx\r\n') });
    await store.updateFlags(box.id, [3], 'add', ['$Hot']);
    assert.deepEqual(await view.sync(new MailDomain(store, new LocalBus()), false), [
      { type: 'flags', flags: ['\\Answered', '\\Flagged', '\\Deleted', '\\Seen', '\\Draft', '$Hot'] },
      { type: 'exists', count: 4 },
      { type: 'fetch', seq: 3, items: [['UID', 3], ['FLAGS', [{ atom: '$Hot' }]]] },
    ]);
    assert.equal(view.isExpunged(2), true);
    assert.deepEqual(await view.sync(new MailDomain(store, new LocalBus()), true), [{ type: 'expunge', seq: 2 }]);
    assert.equal(view.exists, 3);
    assert.deepEqual(await view.sync(new MailDomain(store, new LocalBus()), true), []);
    await store.close();
  });

  it('compactSet', () => {
    assert.equal(compactSet([1, 2, 3, 5, 7, 8]), '1:3,5,7:8');
    assert.equal(compactSet([]), '');
  });
});
