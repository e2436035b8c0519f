/** The SQLite backend: the shared contract on a temporary file, plus durability and SQLite specifics. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { openSqliteStore, SCHEMA_VERSION } from '../../src/store/index.js';
import { SqliteDb } from '../../src/store/sqlite/db.js';
import { StoreError } from '../../src/store/types.js';
import { runMailStoreContract } from './mail-store.contract.js';

const dir = mkdtempSync(join(tmpdir(), 'mailstead-sqlite-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let counter = 0;
const freshPath = () => join(dir, `store-${process.pid}-${++counter}.db`);

runMailStoreContract('sqlite (temporary file)', () => openSqliteStore(freshPath()));
runMailStoreContract('sqlite (:memory:)', () => openSqliteStore(':memory:'));

/** A second, independent connection for looking at what is on disk. */
function inspect<T>(path: string, fn: (db: Database.Database) => T): T {
  const db = new Database(path, { readonly: true });
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

describe('sqlite store specifics', () => {
  it('opens with WAL, synchronous=FULL, foreign keys and the current schema version', () => {
    const path = freshPath();
    const sql = SqliteDb.open(path);
    try {
      assert.equal(sql.db.pragma('journal_mode', { simple: true }), 'wal');
      assert.equal(sql.db.pragma('synchronous', { simple: true }), 2);
      assert.equal(sql.db.pragma('foreign_keys', { simple: true }), 1);
      assert.equal(sql.db.pragma('busy_timeout', { simple: true }), 5000);
    } finally {
      sql.close();
    }
    const versions = inspect(path, (db) => db.prepare('SELECT version FROM schema_version ORDER BY version').all());
    assert.deepEqual(versions.at(-1), { version: SCHEMA_VERSION }); // every migration is recorded, the newest last
  });

  it('keeps accounts, UIDVALIDITY, UIDs, flags and bytes across close and reopen', async () => {
    const path = freshPath();
    let store = await openSqliteStore(path);
    const account = await store.createAccount('alice@example.com', 'h', 10_000);
    const inbox = await store.createMailbox(account.id, 'INBOX');
    await store.appendMessage(inbox.id, { content: Buffer.from('one\r\n'), flags: ['\\Seen'] });
    await store.appendMessage(inbox.id, { content: Buffer.from('two\r\n') });
    await store.expungeMessages(inbox.id, [2]);
    await store.updateFlags(inbox.id, [1], 'add', ['$Important']);
    const before = await store.listMessages(inbox.id);
    const mailboxBefore = await store.getMailboxById(inbox.id);
    await store.close();

    store = await openSqliteStore(path); // migrations must be a no-op on reopen
    try {
      assert.deepEqual(await store.getMailboxById(inbox.id), mailboxBefore);
      assert.deepEqual(await store.listMessages(inbox.id), before);
      assert.deepEqual(before[0].flags, ['\\Seen', '$Important']);
      assert.deepEqual(await store.readBlob(before[0].blobId), Buffer.from('one\r\n'));
      assert.equal((await store.getAccountById(account.id))?.usedBytes, 5);
      const next = await store.appendMessage(inbox.id, { content: Buffer.from('three\r\n') });
      assert.equal(next.uid, 3, 'UIDNEXT survives a restart; expunged UID 2 is not reused');
      assert.deepEqual((await store.getChanges(inbox.id, 0)).expunged, [2]);
      // The UIDVALIDITY counter survives too: a new mailbox still gets a fresh, larger value.
      const other = await store.createMailbox(account.id, 'Other');
      assert.ok(other.uidValidity > inbox.uidValidity);
    } finally {
      await store.close();
    }
  });

  it('stores identical bytes once and counts references', async () => {
    const path = freshPath();
    const store = await openSqliteStore(path);
    try {
      const account = await store.createAccount('alice@example.com', 'h', null);
      const inbox = await store.createMailbox(account.id, 'INBOX');
      const other = await store.createMailbox(account.id, 'Other');
      await store.appendMessage(inbox.id, { content: Buffer.from('same\r\n') });
      await store.appendMessage(inbox.id, { content: Buffer.from('same\r\n') });
      await store.copyMessages(inbox.id, [1, 2], other.id);
      const blobs = () => inspect(path, (db) => db.prepare('SELECT size, refcount FROM blobs').all());
      assert.deepEqual(blobs(), [{ size: 6, refcount: 4 }]);
      await store.moveMessages(inbox.id, [1], other.id);
      assert.deepEqual(blobs(), [{ size: 6, refcount: 4 }]);
      await store.expungeMessages(other.id, [1, 2, 3]);
      assert.deepEqual(blobs(), [{ size: 6, refcount: 1 }]);
      await store.deleteMailbox(inbox.id);
      assert.deepEqual(blobs(), []);
      assert.equal((await store.getAccountById(account.id))?.usedBytes, 0);
    } finally {
      await store.close();
    }
  });

  it('reads mailbox counts from the mailbox row and POP3 sizes from the message row, counting nothing', async () => {
    const path = freshPath();
    let store = await openSqliteStore(path);
    const account = await store.createAccount('alice@example.com', 'h', null);
    const inbox = await store.createMailbox(account.id, 'INBOX');
    await store.appendMessage(inbox.id, { content: Buffer.from('one\r\n') });
    await store.close();
    // Counters are kept, not computed: a value written behind the store's back is what it reports.
    const db = new Database(path);
    db.prepare('UPDATE mailboxes SET message_count = 42, unseen_count = 41, size_bytes = 40000 WHERE id = ?').run(inbox.id);
    db.prepare('UPDATE messages SET pop3_size = 77 WHERE mailbox_id = ?').run(inbox.id);
    db.close();
    store = await openSqliteStore(path);
    try {
      const mailbox = (await store.getMailboxById(inbox.id))!;
      assert.deepEqual([mailbox.messageCount, mailbox.unseenCount, mailbox.sizeBytes], [42, 41, 40000]);
      assert.equal((await store.listMessages(inbox.id))[0].pop3Size, 77);
    } finally {
      await store.close();
    }
  });

  it('appends and reads back a 50 MB message', async () => {
    const store = await openSqliteStore(freshPath());
    try {
      const account = await store.createAccount('alice@example.com', 'h', null);
      const inbox = await store.createMailbox(account.id, 'INBOX');
      const content = Buffer.alloc(50 * 1024 * 1024, 'x');
      content.write('Subject: big\r\n\r\n', 0);
      const result = await store.appendMessage(inbox.id, { content });
      const [meta] = await store.getMessages(inbox.id, [result.uid]);
      assert.equal(meta.size, content.length);
      const read = await store.readBlob(meta.blobId);
      assert.ok(read && read.equals(content));
    } finally {
      await store.close();
    }
  });

  it('keeps an acknowledged message when the process is killed with SIGKILL right after', async () => {
    const path = freshPath();
    let store = await openSqliteStore(path);
    const account = await store.createAccount('alice@example.com', 'h', null);
    const inbox = await store.createMailbox(account.id, 'INBOX');
    await store.close();

    const script = fileURLToPath(new URL('./append-and-die.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', script, path, String(inbox.id), 'survivor'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const acknowledged = await new Promise<{ uid: number; uidValidity: number }>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const newline = out.indexOf('\n');
        if (newline >= 0) {
          child.kill('SIGKILL'); // no close(), no checkpoint: the WAL alone must hold it
          resolve(JSON.parse(out.slice(0, newline)));
        }
      });
      child.on('exit', (code) => reject(new Error(`child exited (${code}) before acknowledging`)));
    });
    const signal = await new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve(child.signalCode);
      else child.on('exit', (_code, sig) => resolve(sig));
    });
    assert.equal(signal, 'SIGKILL');

    store = await openSqliteStore(path);
    try {
      assert.equal(acknowledged.uidValidity, inbox.uidValidity);
      const [meta] = await store.getMessages(inbox.id, [acknowledged.uid]);
      assert.ok(meta, 'the acknowledged message is there after the kill');
      assert.deepEqual(meta.flags, ['\\Flagged']);
      assert.deepEqual(await store.readBlob(meta.blobId), Buffer.from('Subject: survivor\r\n\r\nsurvivor\r\n'));
    } finally {
      await store.close();
    }
  });

  it('reports a lock held by another process as STORE_UNAVAILABLE', async () => {
    const path = freshPath();
    const store = await openSqliteStore(path, { busyTimeoutMs: 50 });
    const account = await store.createAccount('alice@example.com', 'h', null);
    const inbox = await store.createMailbox(account.id, 'INBOX');
    const other = new Database(path);
    try {
      other.exec('BEGIN IMMEDIATE'); // holds the write lock
      await assert.rejects(
        store.appendMessage(inbox.id, { content: Buffer.from('x\r\n') }),
        (err: unknown) => err instanceof StoreError && err.code === 'STORE_UNAVAILABLE',
      );
      other.exec('ROLLBACK');
      const ok = await store.appendMessage(inbox.id, { content: Buffer.from('x\r\n') });
      assert.equal(ok.uid, 1, 'the failed append used no UID');
    } finally {
      other.close();
      await store.close();
    }
  });

  it('reports a database that cannot be opened as STORE_UNAVAILABLE', async () => {
    await assert.rejects(
      openSqliteStore(join(dir, 'no-such-dir', 'x.db')),
      (err: unknown) => err instanceof StoreError && err.code === 'STORE_UNAVAILABLE',
    );
  });

  it('refuses a database written by a newer schema version, and leaves it alone', async () => {
    const path = freshPath();
    await (await openSqliteStore(path)).close();
    const db = new Database(path);
    db.prepare("INSERT INTO schema_version (version, applied_at, description) VALUES (?, 0, 'future')").run(SCHEMA_VERSION + 1);
    db.close();
    await assert.rejects(openSqliteStore(path), /newer than this Mailstead/);
    const versions = inspect(path, (d) => d.prepare('SELECT max(version) AS v FROM schema_version').get());
    assert.deepEqual(versions, { v: SCHEMA_VERSION + 1 }); // the future row is still there, nothing was undone
  });

  it('reports use after close as STORE_UNAVAILABLE and refuses unstorable flags', async () => {
    const store = await openSqliteStore(':memory:');
    const account = await store.createAccount('alice@example.com', 'h', null);
    const inbox = await store.createMailbox(account.id, 'INBOX');
    await assert.rejects(
      store.appendMessage(inbox.id, { content: Buffer.from('x'), flags: ['two words'] }),
      (err: unknown) => err instanceof StoreError && err.code === 'STORE_INVALID_NAME',
    );
    assert.deepEqual(await store.listMessages(inbox.id), []);
    await store.close();
    await assert.rejects(
      store.listAccounts(),
      (err: unknown) => err instanceof StoreError && err.code === 'STORE_UNAVAILABLE',
    );
  });
});
