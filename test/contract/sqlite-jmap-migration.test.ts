/**
 * Schema 9 (JMAP lookups) on a store as today's release (schema 7) leaves it:
 * the two indexes are added, nothing else changes, no message is lost, and
 * the JMAP reads work on the old mail.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import Database from 'better-sqlite3';
import { openDataDir, storePath } from '../../src/net/data-dir.js';
import { SCHEMA_VERSION } from '../../src/store/index.js';

const dir = mkdtempSync(join(tmpdir(), 'mailstead-jmap-migration-'));
after(() => rmSync(dir, { recursive: true, force: true }));

it('opens a schema 7 store: indexes added, every message kept and found by EMAILID and by arrival', async () => {
  const writer = await openDataDir(dir);
  const account = await writer.createAccount('alice@example.com', 'h', null);
  const inbox = await writer.createMailbox(account.id, 'INBOX');
  for (let i = 0; i < 5; i++) {
    await writer.appendMessage(inbox.id, { content: Buffer.from(`Subject: ${i}\r\n\r\n${i}\r\n`), internalDate: new Date(Date.UTC(2026, 0, 10 - i)) });
  }
  const before = await writer.listMessages(inbox.id);
  await writer.close();

  // What schema 7 has: the same store without what migrations 8 (METADATA, ACL), 9 (these two indexes)
  // and 10 (pending bodies) add, and without their version rows.
  const db = new Database(storePath(dir));
  db.exec(`DROP INDEX messages_by_email_id; DROP INDEX messages_by_arrival;
    DROP TABLE metadata; DROP TABLE mailbox_acl; DROP TABLE pending_bodies;
    DELETE FROM schema_version WHERE version > 7`);
  assert.equal(db.prepare('SELECT max(version) FROM schema_version').pluck().get(), 7);
  db.close();

  const store = await openDataDir(dir);
  try {
    assert.deepEqual(await store.listMessages(inbox.id), before, 'nothing changed or lost');
    const page = await store.listMessagesPage(inbox.id, 0, 2, false);
    assert.deepEqual(page.map((m) => m.uid), [5, 4], 'oldest internal date first');
    const found = await store.findByEmailIds(account.id, [before[2]!.emailId]);
    assert.deepEqual(found.map((r) => r.message.uid), [3]);
  } finally {
    await store.close();
  }
  const check = new Database(storePath(dir), { readonly: true });
  try {
    assert.equal(check.prepare('SELECT max(version) FROM schema_version').pluck().get(), SCHEMA_VERSION);
    const indexes = check.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND name IN ('messages_by_email_id', 'messages_by_arrival') ORDER BY name").pluck().all();
    assert.deepEqual(indexes, ['messages_by_arrival', 'messages_by_email_id']);
    // The page query walks the index (no sort of the mailbox).
    const plan = check.prepare("EXPLAIN QUERY PLAN SELECT uid FROM messages WHERE mailbox_id = 1 ORDER BY internal_date DESC, uid DESC LIMIT 10 OFFSET 5").all() as Array<{ detail: string }>;
    assert.ok(plan.some((p) => p.detail.includes('messages_by_arrival')), JSON.stringify(plan));
    assert.ok(!plan.some((p) => p.detail.includes('TEMP B-TREE')), JSON.stringify(plan));
  } finally {
    check.close();
  }
});
