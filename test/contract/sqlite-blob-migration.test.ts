/**
 * A data directory as the release before issue 11 left it (schema 4, bodies
 * inside the SQLite file) opens with this code: every body moves to a file
 * under <data-dir>/blobs, reads back byte-exact, and the blobs table no
 * longer holds any. An interrupted move (some bodies already out) resumes.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import type { Readable } from 'node:stream';
import Database from 'better-sqlite3';
import { openDataDir, storePath } from '../../src/net/data-dir.js';
import { MIGRATIONS, SCHEMA_VERSION } from '../../src/store/sqlite/schema.js';

const base = mkdtempSync(join(tmpdir(), 'mailstead-blob-migration-'));
after(() => rmSync(base, { recursive: true, force: true }));

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** A body of `length` octets whose bytes depend on `seed` and position. */
function body(seed: number, length: number): Buffer {
  const bytes = Buffer.alloc(length);
  for (let i = 0; i < length; i++) bytes[i] = (seed * 31 + i * 7 + (i >> 9)) & 0xff;
  return bytes;
}

async function drain(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** The database exactly as schema 4 (commit e1c2585) creates it. */
function schema4(path: string): Database.Database {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.exec('CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL, description TEXT NOT NULL)');
  for (const migration of MIGRATIONS.filter((m) => m.version <= 4)) {
    db.exec(migration.sql!);
    db.prepare('INSERT INTO schema_version VALUES (?, 0, ?)').run(migration.version, migration.description);
  }
  return db;
}

it('moves every body of a schema 4 data directory into blob files, byte-exact, and resumes an interrupted move', async () => {
  const dataDir = join(base, 'data');
  mkdirSync(dataDir);
  const db = schema4(storePath(dataDir));
  db.prepare("INSERT INTO accounts (address, password_hash, quota_bytes, used_bytes, created_at) VALUES ('a@example.com', 'h', NULL, 0, 0)").run();
  db.prepare("INSERT INTO mailboxes (account_id, name, uidvalidity, uidnext, highest_modseq, object_id) VALUES (1, 'INBOX', 7, 1, 1, 'F1')").run();
  db.prepare("INSERT INTO mailboxes (account_id, name, uidvalidity, uidnext, highest_modseq, object_id) VALUES (1, 'Archive', 8, 1, 1, 'F2')").run();
  // 300 bodies (more than one batch), an empty one, a large one, and one shared by two messages.
  const bodies = [Buffer.alloc(0), body(1, 3 * 1024 * 1024 + 5), ...Array.from({ length: 300 }, (_, i) => body(i + 2, 100 + i * 37))];
  const insertBlob = db.prepare('INSERT INTO blobs (id, size, refcount, data) VALUES (?, ?, ?, ?)');
  const insertMessage = db.prepare(
    "INSERT INTO messages (mailbox_id, uid, blob_id, size, internal_date, flags, modseq, uidl, email_id, save_date) VALUES (?, ?, ?, ?, 0, '', 1, ?, 'M' || ?, 0)",
  );
  const uidNext = new Map<number, number>([[1, 1], [2, 1]]);
  const expected: Array<{ mailbox: number; uid: number; bytes: Buffer }> = [];
  db.transaction(() => {
    bodies.forEach((bytes, i) => {
      const shared = i === 5;
      insertBlob.run(sha256(bytes), bytes.length, shared ? 2 : 1, bytes);
      for (const mailbox of shared ? [1, 2] : [1 + (i % 2)]) {
        const uid = uidNext.get(mailbox)!;
        uidNext.set(mailbox, uid + 1);
        insertMessage.run(mailbox, uid, sha256(bytes), bytes.length, `u${mailbox}-${uid}`, `${mailbox}x${uid}`);
        expected.push({ mailbox, uid, bytes });
      }
    });
    db.prepare('INSERT INTO message_summaries (blob_id, summary) VALUES (?, ?)').run(sha256(bodies[3]), '{"s":1}');
    for (const [mailbox, next] of uidNext) db.prepare('UPDATE mailboxes SET uidnext = ? WHERE id = ?').run(next, mailbox);
  })();
  // A first start that died half-way: body 7 was already written out and emptied in the database.
  const interrupted = bodies[7];
  const file = join(dataDir, 'blobs', sha256(interrupted).slice(0, 2), sha256(interrupted).slice(2, 4), sha256(interrupted));
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileSync(file, interrupted);
  db.prepare("UPDATE blobs SET data = x'' WHERE id = ?").run(sha256(interrupted));
  db.close();

  const store = await openDataDir(dataDir);
  try {
    for (const { mailbox, uid, bytes } of expected) {
      const [meta] = await store.getMessages(mailbox, [uid]);
      assert.ok(meta, `message ${mailbox}/${uid}`);
      assert.equal(meta.blobId, sha256(bytes));
      assert.deepEqual(await store.readBlob(meta.blobId), bytes, `body of ${mailbox}/${uid}`);
      assert.equal(await store.blobSize(meta.blobId), bytes.length);
    }
    const large = sha256(bodies[1]);
    assert.deepEqual(await drain((await store.openBlobRange(large, 65_535, 200_001))!), bodies[1].subarray(65_535, 200_001));
    assert.equal((await store.readSummaries([sha256(bodies[3])])).get(sha256(bodies[3])), '{"s":1}');
    for (const bytes of bodies) {
      const id = sha256(bytes);
      assert.ok(existsSync(join(dataDir, 'blobs', id.slice(0, 2), id.slice(2, 4), id)), `file of ${id}`);
    }
    // Nothing for startup recovery to remove: every moved body is referenced.
    assert.deepEqual(await store.recover(), { orphanBlobs: 0, repairedReferenceCounts: 0 });
    assert.deepEqual(await store.readBlob(sha256(bodies[7])), interrupted);
  } finally {
    await store.close();
  }
  const after = new Database(storePath(dataDir), { readonly: true });
  try {
    const columns = after.prepare("SELECT name FROM pragma_table_info('blobs')").pluck().all();
    assert.deepEqual(columns, ['id', 'size', 'refcount']);
    assert.equal(after.prepare('SELECT count(*) FROM blobs').pluck().get(), bodies.length);
    assert.equal(after.prepare('SELECT max(version) FROM schema_version').pluck().get(), SCHEMA_VERSION);
  } finally {
    after.close();
  }
});
