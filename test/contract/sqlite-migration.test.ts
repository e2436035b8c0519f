/** A database written before schema version 2 opens, and its mail gets EMAILIDs and (lazily) summaries. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import Database from 'better-sqlite3';
import { wireSize } from '../../src/protocol/pop3/index.js';
import { openSqliteStore } from '../../src/store/index.js';
import { MIGRATIONS, SCHEMA_VERSION } from '../../src/store/sqlite/schema.js';

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

/**
 * A database exactly as the release before schema 5 leaves it (migrations 1–4,
 * rows as that code writes them): opening it gives every mailbox its counters
 * and every message its POP3 size, computed from what is stored.
 */
it('brings a schema 4 database forward: mailbox counters and POP3 sizes computed from the stored mail', async () => {
  const path = join(dir, 'v4.db');
  const db = new Database(path);
  db.exec(`CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL, description TEXT NOT NULL)`);
  for (const migration of MIGRATIONS.filter((m) => m.version <= 4)) {
    db.exec(migration.sql);
    db.prepare('INSERT INTO schema_version VALUES (?, 0, ?)').run(migration.version, migration.description);
  }
  const bodies = {
    crlf: Buffer.from('Subject: crlf\r\n\r\nbody\r\n'),
    lf: Buffer.from('Subject: lf\n\nline\n.dot\n'),
    open: Buffer.from('Subject: no end\r\n\r\nlast line'),
    big: Buffer.from(`Subject: big\n\n${'line\n'.repeat(20_000)}`),
  };
  // Blob ids are what every release wrote: the sha256 of the body, in hex.
  const id = Object.fromEntries(Object.entries(bodies).map(([k, v]) => [k, createHash('sha256').update(v).digest('hex')])) as Record<keyof typeof bodies, string>;
  const blob = db.prepare('INSERT INTO blobs (id, size, refcount, data) VALUES (?, ?, ?, ?)');
  blob.run(id.crlf, bodies.crlf.length, 3, bodies.crlf);
  blob.run(id.lf, bodies.lf.length, 1, bodies.lf);
  blob.run(id.open, bodies.open.length, 1, bodies.open);
  blob.run(id.big, bodies.big.length, 1, bodies.big);
  db.prepare('INSERT INTO message_summaries (blob_id, summary) VALUES (?, ?)').run(id.lf, '{}');
  const account = db.prepare(
    'INSERT INTO accounts (address, password_hash, quota_bytes, used_bytes, created_at) VALUES (?, ?, ?, ?, 0)',
  );
  const aliceUsed = 2 * bodies.crlf.length + bodies.lf.length + bodies.open.length + bodies.big.length;
  account.run('alice@example.com', 'h', 1_000_000, aliceUsed);
  account.run('bob@example.com', 'h', null, bodies.crlf.length);
  const mailbox = db.prepare(
    'INSERT INTO mailboxes (account_id, name, special_use, uidvalidity, uidnext, highest_modseq, object_id) VALUES (?, ?, ?, ?, ?, ?, ?)',
  );
  mailbox.run(1, 'INBOX', null, 100, 6, 9, 'Finbox000000000000000000'); // id 1
  mailbox.run(1, 'Work', null, 101, 3, 4, 'Fwork0000000000000000000'); // id 2
  mailbox.run(1, 'Empty', '\\Archive', 102, 1, 1, 'Fempty000000000000000000'); // id 3
  mailbox.run(2, 'INBOX', null, 103, 2, 2, 'Fbob00000000000000000000'); // id 4
  const message = db.prepare(
    `INSERT INTO messages (mailbox_id, uid, blob_id, size, internal_date, flags, modseq, uidl, email_id, save_date)
     VALUES (?, ?, ?, ?, 0, ?, ?, ?, ?, NULL)`,
  );
  // INBOX: UIDs 1 and 4 were expunged; flags as the store writes them (canonical, space-separated).
  message.run(1, 2, id.crlf, bodies.crlf.length, '\\Seen', 3, 'u2', 'M2');
  message.run(1, 3, id.lf, bodies.lf.length, '\\Flagged $Seen', 5, 'u3', 'M3'); // $Seen is a keyword, not \Seen
  message.run(1, 5, id.open, bodies.open.length, '', 8, 'u5', 'M5');
  message.run(2, 1, id.crlf, bodies.crlf.length, '\\Answered \\Seen', 2, 'w1', 'M2');
  message.run(2, 2, id.big, bodies.big.length, '\\Deleted \\Seen \\Draft', 4, 'w2', 'Mbig');
  message.run(4, 1, id.crlf, bodies.crlf.length, '', 2, 'x1', 'Mbob');
  db.prepare('INSERT INTO expunged (mailbox_id, uid, modseq) VALUES (1, 1, 6), (1, 4, 9)').run();
  db.prepare("INSERT INTO pop3_device_state (account_id, device, uidl, downloaded_at, deleted_at) VALUES (1, '', 'u2', 5, NULL)").run();
  db.close();

  const store = await openSqliteStore(path);
  try {
    const counts = async (id: number) => {
      const m = (await store.getMailboxById(id))!;
      return [m.messageCount, m.unseenCount, m.sizeBytes];
    };
    assert.deepEqual(await counts(1), [3, 2, bodies.crlf.length + bodies.lf.length + bodies.open.length]);
    assert.deepEqual(await counts(2), [2, 0, bodies.crlf.length + bodies.big.length]);
    assert.deepEqual(await counts(3), [0, 0, 0]);
    assert.deepEqual(await counts(4), [1, 1, bodies.crlf.length]);
    const deleted = async (id: number) => {
      const m = (await store.getMailboxById(id))!;
      return [m.deletedCount, m.deletedBytes];
    };
    assert.deepEqual(await deleted(1), [0, 0]);
    assert.deepEqual(await deleted(2), [1, bodies.big.length]);
    assert.deepEqual(
      (await store.listMailboxes(1)).map((m) => [m.name, m.messageCount, m.unseenCount]),
      [['Empty', 0, 0], ['INBOX', 3, 2], ['Work', 2, 0]],
    );
    assert.equal((await store.getAccountById(1))!.usedBytes, aliceUsed);
    assert.equal((await store.getAccountById(2))!.usedBytes, bodies.crlf.length);

    const pop3Sizes = async (id: number) => (await store.listMessages(id)).map((m) => [m.uid, m.pop3Size]);
    assert.deepEqual(await pop3Sizes(1), [[2, wireSize(bodies.crlf)], [3, wireSize(bodies.lf)], [5, wireSize(bodies.open)]]);
    assert.deepEqual(await pop3Sizes(2), [[1, wireSize(bodies.crlf)], [2, bodies.big.length + 20_002]]);
    assert.deepEqual(await pop3Sizes(4), [[1, wireSize(bodies.crlf)]]);

    // Nothing else changed: UIDs, MODSEQs, flags, UIDLs, EMAILIDs, the change log, bodies, POP3 state.
    const inbox = await store.listMessages(1);
    assert.deepEqual(inbox.map((m) => [m.uid, m.modSeq, m.flags.join(' '), m.uidl, m.emailId]), [
      [2, 3, '\\Seen', 'u2', 'M2'],
      [3, 5, '\\Flagged $Seen', 'u3', 'M3'],
      [5, 8, '', 'u5', 'M5'],
    ]);
    assert.deepEqual((await store.getChanges(1, 0)).expunged, [1, 4]);
    assert.deepEqual(await store.readBlob(id.big), bodies.big);
    assert.equal((await store.getMailboxById(1))!.objectId, 'Finbox000000000000000000');
    assert.deepEqual((await store.listPop3Downloads(1)).map((d) => d.uidl), ['u2']);

    // And the counters move with the next change.
    await store.appendMessage(3, { content: bodies.lf, flags: ['\\Seen'] });
    await store.updateFlags(1, [2], 'remove', ['\\Seen']);
    assert.deepEqual(await counts(3), [1, 0, bodies.lf.length]);
    assert.deepEqual(await counts(1), [3, 3, bodies.crlf.length + bodies.lf.length + bodies.open.length]);
  } finally {
    await store.close();
  }
  const versions = new Database(path, { readonly: true });
  try {
    const applied = versions.prepare('SELECT version FROM schema_version ORDER BY version').all() as Array<{ version: number }>;
    assert.ok(applied.some((v) => v.version === 5), 'migration 5 is recorded');
  } finally {
    versions.close();
  }
});

/**
 * A database as the release before schema 7 leaves it (migrations 1–6): the
 * mail already there has been seen, so none of it becomes \Recent; mail that
 * arrives afterwards is recent until a session claims it.
 */
it('brings a schema 6 database forward: stored mail is not \\Recent, new mail is', async () => {
  const path = join(dir, 'v6.db');
  const db = new Database(path);
  db.exec(`CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL, description TEXT NOT NULL)`);
  for (const migration of MIGRATIONS.filter((m) => m.version <= 6)) {
    db.exec(migration.sql);
    db.prepare('INSERT INTO schema_version VALUES (?, 0, ?)').run(migration.version, migration.description);
  }
  db.prepare("INSERT INTO accounts (address, password_hash, quota_bytes, used_bytes, created_at) VALUES ('a@example.com', 'h', NULL, 0, 0)").run();
  db.prepare("INSERT INTO mailboxes (account_id, name, uidvalidity, uidnext, highest_modseq, object_id) VALUES (1, 'INBOX', 7, 3, 3, 'Finbox000000000000000000')").run();
  db.prepare("INSERT INTO mailboxes (account_id, name, uidvalidity, uidnext, highest_modseq, object_id) VALUES (1, 'Empty', 8, 1, 1, 'Fempty000000000000000000')").run();
  db.prepare("INSERT INTO blobs (id, size, refcount) VALUES ('b1', 6, 2)").run();
  const insert = db.prepare("INSERT INTO messages (mailbox_id, uid, blob_id, size, internal_date, flags, modseq, uidl, email_id) VALUES (1, ?, 'b1', 6, 0, '', ?, ?, ?)");
  insert.run(1, 2, 'u1', 'M1');
  insert.run(2, 3, 'u2', 'M2');
  db.close();

  const store = await openSqliteStore(path);
  try {
    assert.equal(await store.countRecent(1), 0);
    assert.equal(await store.claimRecent(1, 0), 3);
    assert.deepEqual((await store.listMessages(1)).map((m) => m.uid), [1, 2], 'the messages are all there');
    await store.appendMessage(1, { content: Buffer.from('Subject: new\r\n\r\nx\r\n'), flags: [] });
    assert.equal(await store.countRecent(1), 1);
    assert.equal(await store.claimRecent(2, 0), 1, 'an empty mailbox: whatever arrives is recent');
  } finally {
    await store.close();
  }
});

/**
 * A database exactly as the release before schema 8 leaves it (migrations
 * 1–7): it opens with every account, mailbox and message kept, and METADATA
 * entries and access control lists can be stored from then on.
 */
it('brings a schema 7 database forward: mail kept, METADATA and ACL tables added', async () => {
  const path = join(dir, 'v7.db');
  const db = new Database(path);
  db.exec(`CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL, description TEXT NOT NULL)`);
  for (const migration of MIGRATIONS.filter((m) => m.version <= 7)) {
    db.exec(migration.sql);
    db.prepare('INSERT INTO schema_version VALUES (?, 0, ?)').run(migration.version, migration.description);
  }
  db.prepare("INSERT INTO accounts (address, password_hash, quota_bytes, used_bytes, created_at) VALUES ('a@example.com', 'h', NULL, 6, 0)").run();
  db.prepare("INSERT INTO mailboxes (account_id, name, uidvalidity, uidnext, highest_modseq, object_id, message_count, size_bytes, first_recent_uid) VALUES (1, 'INBOX', 7, 2, 2, 'Finbox000000000000000000', 1, 6, 2)").run();
  db.prepare("INSERT INTO blobs (id, size, refcount) VALUES ('b1', 6, 1)").run();
  db.prepare("INSERT INTO messages (mailbox_id, uid, blob_id, size, internal_date, flags, modseq, uidl, email_id, pop3_size) VALUES (1, 1, 'b1', 6, 0, '\\Seen', 2, 'u1', 'M1', 6)").run();
  db.close();

  const store = await openSqliteStore(path);
  try {
    const [message] = await store.listMessages(1);
    assert.deepEqual([message!.uid, message!.flags, message!.emailId], [1, ['\\Seen'], 'M1']);
    const inbox = await store.getMailboxById(1);
    assert.deepEqual([inbox!.name, inbox!.uidValidity, inbox!.messageCount], ['INBOX', 7, 1]);
    const scope = { accountId: 1, mailboxId: 1 };
    await store.setMetadata([{ scope, name: '/private/comment', value: Buffer.from('after the upgrade') }], 10);
    assert.deepEqual(await store.getMetadata(scope, ['/private/comment'], false), [{ name: '/private/comment', value: Buffer.from('after the upgrade') }]);
  } finally {
    await store.close();
  }
  const tables = new Database(path, { readonly: true });
  try {
    const names = tables.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('metadata', 'mailbox_acl') ORDER BY name").all();
    assert.deepEqual(names, [{ name: 'mailbox_acl' }, { name: 'metadata' }]);
  } finally {
    tables.close();
  }
});

/**
 * A database as the release before schema 10 leaves it (migrations up to 7,
 * bodies in files): everything stays readable, and a new small body rides in
 * its commit (pending_bodies) and ends in its file like the others.
 */
it('brings a schema 7 database forward: bodies in files stay, new small bodies pass through pending_bodies', async () => {
  const path = join(dir, 'v7-bodies.db');
  const db = new Database(path);
  db.exec(`CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL, description TEXT NOT NULL)`);
  for (const migration of MIGRATIONS.filter((m) => m.version <= 7)) {
    db.exec(migration.sql);
    db.prepare('INSERT INTO schema_version VALUES (?, 0, ?)').run(migration.version, migration.description);
  }
  const old = Buffer.from('Subject: old\r\n\r\nstored by the previous release\r\n');
  const oldId = createHash('sha256').update(old).digest('hex');
  mkdirSync(join(`${path}.blobs`, oldId.slice(0, 2), oldId.slice(2, 4)), { recursive: true });
  writeFileSync(join(`${path}.blobs`, oldId.slice(0, 2), oldId.slice(2, 4), oldId), old);
  db.prepare("INSERT INTO accounts (address, password_hash, quota_bytes, used_bytes, created_at) VALUES ('a@example.com', 'h', NULL, ?, 0)").run(old.length);
  db.prepare("INSERT INTO mailboxes (account_id, name, uidvalidity, uidnext, highest_modseq, object_id, message_count, unseen_count, size_bytes) VALUES (1, 'INBOX', 7, 2, 2, 'Finbox000000000000000000', 1, 1, ?)").run(old.length);
  db.prepare('INSERT INTO blobs (id, size, refcount) VALUES (?, ?, 1)').run(oldId, old.length);
  db.prepare("INSERT INTO messages (mailbox_id, uid, blob_id, size, internal_date, flags, modseq, uidl, email_id, pop3_size) VALUES (1, 1, ?, ?, 0, '', 2, 'u1', 'M1', ?)").run(oldId, old.length, old.length);
  db.close();

  const store = await openSqliteStore(path);
  const fresh = Buffer.from('Subject: new\r\n\r\nafter the upgrade\r\n');
  try {
    const [meta] = await store.getMessages(1, [1]);
    assert.deepEqual(await store.readBlob(meta.blobId), old);
    const [added] = await store.appendMessages(1, [{ content: fresh }]);
    const [addedMeta] = await store.getMessages(1, [added.uid]);
    assert.deepEqual(await store.readBlob(addedMeta.blobId), fresh);
  } finally {
    await store.close();
  }
  const after = new Database(path, { readonly: true });
  try {
    assert.equal(after.prepare('SELECT count(*) FROM pending_bodies').pluck().get(), 0, 'moved to its file before the close');
    assert.equal(after.prepare('SELECT max(version) FROM schema_version').pluck().get(), SCHEMA_VERSION);
  } finally {
    after.close();
  }
  const freshId = createHash('sha256').update(fresh).digest('hex');
  assert.deepEqual(readFileSync(join(`${path}.blobs`, freshId.slice(0, 2), freshId.slice(2, 4), freshId)), fresh);
});
