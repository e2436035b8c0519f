/**
 * `mailstead store copy`: a populated SQLite data directory copied into
 * PostgreSQL reads back identically (UIDVALIDITY, UIDs, MODSEQs, flags,
 * UIDLs, EMAILIDs, the expunge log, POP3 state, bodies); a finished copy
 * is refused; an interrupted one resumes.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { openDataDir } from '../../src/net/data-dir.js';
import { openPostgresStore } from '../../src/store/postgres/index.js';
import type { MailStore } from '../../src/store/types.js';
import { copyStore } from '../../src/tools/store-copy.js';
import { startPostgres } from '../helpers/postgres.js';

const server = await startPostgres();
const dirs: string[] = [];
after(async () => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  await server.stop();
});

const mail = (text: string, pad = 0) => Buffer.from(`Subject: ${text}\r\n\r\n${text}${'y'.repeat(pad)}\r\n`);

async function populate(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'mailstead-copy-'));
  dirs.push(dir);
  const store = await openDataDir(dir);
  try {
    for (const address of ['alice@example.com', 'bob@example.com', 'carol@example.com']) {
      const account = await store.createAccountWithMailboxes(address, `hash of ${address}`, 10_000_000, [
        { name: 'INBOX', specialUse: null, subscribed: true },
        { name: 'Archive', specialUse: '\\Archive', subscribed: true },
      ]);
      await store.setSubscribed(account.id, 'Gone', true);
      const inbox = (await store.getMailbox(account.id, 'INBOX'))!;
      const archive = (await store.getMailbox(account.id, 'Archive'))!;
      for (let i = 0; i < 6; i++) {
        await store.appendMessage(inbox.id, { content: mail(`${address} ${i}`, i * 70_000), flags: i % 2 ? ['\\Seen'] : [], summary: `summary ${i}` });
      }
      await store.appendMessage(inbox.id, { content: mail('shared by every account'), uidl: 'imported-uidl' });
      await store.updateFlags(inbox.id, [1, 2], 'add', ['$Important', '\\Flagged']);
      await store.expungeMessages(inbox.id, [3]);
      await store.moveMessages(inbox.id, [4], archive.id);
      await store.claimRecent(inbox.id, 3); // an IMAP4rev1 session saw UIDs 1 and 2: \Recent no more
      await store.setPop3Policy(account.id, { scope: 'inbox', since: null, dele: 'hide', expireDays: 30 });
      await store.recordPop3Session(account.id, 'phone', { retrieved: ['imported-uidl'], deleted: [] }, new Date(1_700_000_000_000));
    }
  } finally {
    await store.close();
  }
  return dir;
}

/** Everything a client or a POP3 device can observe, without internal ids. */
async function snapshot(store: MailStore): Promise<unknown> {
  const out: unknown[] = [];
  for (const account of await store.listAccounts()) {
    const { id, ...a } = account;
    const mailboxes = [];
    for (const mailbox of await store.listMailboxes(id)) {
      const { id: mailboxId, accountId: _, ...m } = mailbox;
      const messages = await store.listMessages(mailboxId);
      const bodies = [];
      for (const message of messages) bodies.push((await store.readBlob(message.blobId))?.toString('base64'));
      const summaries = await store.readSummaries(messages.map((x) => x.blobId));
      const recent = await store.countRecent(mailboxId);
      mailboxes.push({ m, messages, bodies, summaries: [...summaries.entries()].sort(), changes: await store.getChanges(mailboxId, 0), recent });
    }
    out.push({
      a,
      mailboxes,
      subscriptions: await store.listSubscriptions(id),
      policy: await store.getPop3Policy(id),
      devices: await store.listPop3DeviceState(id),
    });
  }
  return out;
}

describe('store copy: SQLite data directory to PostgreSQL', () => {
  it('copies everything a client can see, refuses to copy twice, and resumes an interrupted copy', async () => {
    const dir = await populate();
    const source = await openDataDir(dir);
    const expected = await snapshot(source);
    await source.close();

    const url = await server.newDatabase();
    await assert.rejects(copyStore({ fromDataDir: dir, toUrl: url, stopAfterAccounts: 1 }), /stopped on request/);
    const report = await copyStore({ fromDataDir: dir, toUrl: url });
    assert.deepEqual(report, { accounts: 2, skipped: 1, messages: 12, resumed: true });

    const target = await openPostgresStore(url);
    try {
      assert.deepEqual(await snapshot(target), expected);
      // A mailbox created after the copy gets a UIDVALIDITY no copied mailbox has.
      const alice = (await target.getAccount('alice@example.com'))!;
      const fresh = await target.createMailbox(alice.id, 'New');
      const copied = (await target.listMailboxes(alice.id)).filter((m) => m.name !== 'New').map((m) => m.uidValidity);
      assert.ok(copied.every((v) => v < fresh.uidValidity));
      assert.deepEqual(await target.recover(), { orphanBlobs: 0, repairedReferenceCounts: 0 });
    } finally {
      await target.close();
    }
    await assert.rejects(copyStore({ fromDataDir: dir, toUrl: url }), /finished copy/);
    const forced = await copyStore({ fromDataDir: dir, toUrl: url, force: true });
    assert.deepEqual(forced, { accounts: 0, skipped: 3, messages: 0, resumed: false });
  });

  it('refuses a target that already holds accounts', async () => {
    const dir = await populate();
    const url = await server.newDatabase();
    const target = await openPostgresStore(url);
    await target.createAccount('someone@example.com', 'h', null);
    await target.close();
    await assert.rejects(copyStore({ fromDataDir: dir, toUrl: url }), /already holds accounts/);
  });
});
