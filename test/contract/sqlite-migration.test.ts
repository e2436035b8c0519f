/** A database written before schema version 2 opens, and its mail gets EMAILIDs and (lazily) summaries. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import Database from 'better-sqlite3';
import { openSqliteStore } from '../../src/store/index.js';
import { MIGRATIONS } from '../../src/store/sqlite/schema.js';

const dir = mkdtempSync(join(tmpdir(), 'mailstead-migration-'));
after(() => rmSync(dir, { recursive: true, force: true }));

it('brings a schema 1 database forward: EMAILIDs given, SAVEDATE unknown, summaries absent until computed', async () => {
  const path = join(dir, 'v1.db');
  const db = new Database(path);
  db.exec(`CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL, description TEXT NOT NULL)`);
  db.exec(MIGRATIONS.find((m) => m.version === 1)!.sql);
  db.prepare("INSERT INTO schema_version VALUES (1, 0, 'v1')").run();
  db.prepare("INSERT INTO accounts (address, password_hash, quota_bytes, used_bytes, created_at) VALUES ('a@example.com', 'h', NULL, 12, 0)").run();
  db.prepare('INSERT INTO mailboxes (account_id, name, uidvalidity, uidnext, highest_modseq) VALUES (1, ?, 7, 3, 3)').run('INBOX');
  db.prepare("INSERT INTO blobs (id, size, refcount, data) VALUES ('b1', 6, 2, ?)").run(Buffer.from('old\r\n\r\n'));
  const insert = db.prepare("INSERT INTO messages (mailbox_id, uid, blob_id, size, internal_date, flags, modseq, uidl) VALUES (1, ?, 'b1', 6, 0, '', ?, ?)");
  insert.run(1, 2, 'u1');
  insert.run(2, 3, 'u2');
  db.close();

  const store = await openSqliteStore(path);
  try {
    const messages = await store.listMessages(1);
    assert.equal(messages.length, 2);
    assert.ok(messages.every((m) => /^M[0-9a-f]{24}$/.test(m.emailId)));
    assert.notEqual(messages[0]!.emailId, messages[1]!.emailId);
    assert.ok(messages.every((m) => m.saveDate === null));
    assert.equal((await store.readSummaries(['b1'])).size, 0);
    assert.deepEqual(await store.readBlob('b1'), Buffer.from('old\r\n\r\n'), 'the body, moved out of the database (schema 6)');
    await store.saveSummary('b1', '{}');
    assert.equal((await store.readSummaries(['b1'])).get('b1'), '{}');
  } finally {
    await store.close();
  }
});
