/**
 * The SQLite store in its worker thread: the main event loop stays free while
 * the store commits or waits for another process's lock, concurrent writes
 * share commits, and errors keep their codes across the thread boundary.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { StoreError } from '../types.js';
import type { MailStore } from '../types.js';
import { openSqliteStore } from './index.js';
import { WorkerSqliteStore } from './worker-store.js';

const dir = mkdtempSync(join(tmpdir(), 'mailstead-worker-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let counter = 0;
const freshPath = () => join(dir, `store-${++counter}.db`);

const message = (i: number) => Buffer.from(`Subject: m${i}\r\n\r\nbody ${i} ${'x'.repeat(i % 97)}\r\n`);

async function withStore<T>(fn: (store: MailStore, path: string) => Promise<T>, options = {}): Promise<T> {
  const path = freshPath();
  const store = await openSqliteStore(path, options);
  try {
    return await fn(store, path);
  } finally {
    await store.close();
  }
}

/**
 * Runs `fn` and returns the longest the main event loop went without running
 * a 10 ms interval timer meanwhile, in ms (counted from the call, so a loop
 * blocked from the first moment counts too, unlike monitorEventLoopDelay).
 */
async function maxLoopDelayDuring(fn: () => Promise<void>): Promise<number> {
  let last = performance.now();
  let max = 0;
  const tick = () => {
    const now = performance.now();
    max = Math.max(max, now - last);
    last = now;
  };
  const timer = setInterval(tick, 10);
  try {
    await fn();
    // The gap that ends when fn resolves is measured by one more tick.
    await new Promise((resolve) => setTimeout(resolve, 20));
  } finally {
    clearInterval(timer);
  }
  tick();
  return max;
}

/** Another process holding the write lock: resolves once it holds it; `released` when it let go. */
function holdWriteLock(path: string, ms: number): Promise<{ released: Promise<void> }> {
  const script = `
    const Database = require('better-sqlite3');
    const db = new Database(process.argv[1]);
    db.prepare('BEGIN IMMEDIATE').run();
    process.stdout.write('locked\\n');
    setTimeout(() => { db.prepare('COMMIT').run(); db.close(); }, Number(process.argv[2]));
  `;
  const child = spawn(process.execPath, ['-e', script, path, String(ms)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const released = new Promise<void>((resolve, reject) => {
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`lock holder exited with ${code}`))));
  });
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('locked')) resolve({ released });
    });
    child.on('error', reject);
    released.catch(reject);
  });
}

/** Another process holding the write lock until `release` is called (no timer). */
async function holdWriteLockUntilReleased(path: string): Promise<{ release: () => Promise<void> }> {
  const script = `
    const Database = require('better-sqlite3');
    const db = new Database(process.argv[1]);
    db.prepare('BEGIN IMMEDIATE').run();
    process.stdout.write('locked\\n');
    process.stdin.on('data', () => {});
    process.stdin.on('end', () => { db.prepare('COMMIT').run(); db.close(); });
  `;
  const child = spawn(process.execPath, ['-e', script, path], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve, reject) => {
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`lock holder exited with ${code}`))));
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('locked')) resolve();
    });
    child.on('error', reject);
    exited.catch(reject);
  });
  return {
    release: async () => {
      child.stdin.end();
      await exited;
    },
  };
}

describe('SQLite store in a worker thread', () => {
  it('opens a file store in a worker, an in-memory one in-thread', async () => {
    await withStore(async (store) => assert.ok(store instanceof WorkerSqliteStore));
    const memory = await openSqliteStore(':memory:');
    assert.ok(!(memory instanceof WorkerSqliteStore));
    await memory.close();
  });

  it('keeps the event loop responsive while 200 concurrent appends commit', async () => {
    await withStore(async (store) => {
      const account = await store.createAccount('loop@example.com', 'x', null);
      const inbox = await store.createMailbox(account.id, 'INBOX');
      let results: Array<{ uid: number }> = [];
      const max = await maxLoopDelayDuring(async () => {
        results = await Promise.all(Array.from({ length: 200 }, (_, i) => store.appendMessage(inbox.id, { content: message(i) })));
      });
      assert.equal(results.length, 200);
      // Generous: a loaded machine; the point is that 200 fsyncs are not on this thread.
      assert.ok(max < 1500, `event loop stalled ${max.toFixed(0)} ms`);
    });
  });

  it('keeps the event loop responsive while another process holds the write lock for 2 s', async () => {
    await withStore(async (store, path) => {
      const account = await store.createAccount('lock@example.com', 'x', null);
      const { released } = await holdWriteLock(path, 2000);
      let created = false;
      const max = await maxLoopDelayDuring(async () => {
        // Waits in the worker (busy_timeout) for the other process, then commits.
        await store.createMailbox(account.id, 'Waited');
        created = true;
      });
      await released;
      assert.ok(created);
      assert.ok(max < 1000, `event loop stalled ${max.toFixed(0)} ms while another process held the lock`);
      assert.ok(await store.getMailbox(account.id, 'Waited'));
    });
  });

  it('answers reads while a write waits for another process\'s lock, and runs the write once the lock is free', async () => {
    await withStore(async (store, path) => {
      const account = await store.createAccount('reader@example.com', 'x', null);
      await store.createMailbox(account.id, 'INBOX');
      const { released } = await holdWriteLock(path, 1500);
      const order: string[] = [];
      const write = store.createMailbox(account.id, 'Waiting').then(() => order.push('write'));
      const names = await store.listMailboxes(account.id).then((boxes) => {
        order.push('read');
        return boxes.map((b) => b.name);
      });
      await write;
      await released;
      assert.deepEqual(order, ['read', 'write']);
      assert.deepEqual(names, ['INBOX'], 'the read saw the last commit, not the waiting write');
      assert.deepEqual(
        (await store.listMailboxes(account.id)).map((b) => b.name),
        ['INBOX', 'Waiting'],
      );
    });
  });

  it('releases a staged body that a message names without waiting for the writer', async () => {
    await withStore(async (store, path) => {
      const account = await store.createAccount('release@example.com', 'x', null);
      const inbox = await store.createMailbox(account.id, 'INBOX');
      // Over the size of bodies that ride in the commit (pending): this one is a file with a hold.
      const body = Buffer.concat([message(1), Buffer.alloc(200 * 1024, 'x')]);
      const writer = store.createBlobWriter();
      await writer.write(body);
      const staged = await writer.commit();
      assert.equal(staged.pending, undefined);
      await store.appendStaged(inbox.id, [{ staged }]);
      // The writer cannot commit while another process holds the lock (as while it syncs a group commit):
      // the release of a named body (the end of every delivery) must not wait for it.
      const lock = await holdWriteLockUntilReleased(path);
      try {
        await store.releaseStaged([staged]);
      } finally {
        await lock.release();
      }
      assert.deepEqual(readdirSync(join(`${path}.blobs`, 'tmp')), [], 'the hold is gone');
      assert.deepEqual(await store.readBlob(staged.blobId), body, 'the named body stays');
    }, { busyTimeoutMs: 60_000 });
  });

  it('commits concurrent appends together (group commit), in call order', async () => {
    await withStore(async (raw) => {
      const store = raw as WorkerSqliteStore;
      const account = await store.createAccount('group@example.com', 'x', null);
      const inbox = await store.createMailbox(account.id, 'INBOX');
      const before = (await store.stats()).commits;
      const n = 50;
      const results = await Promise.all(Array.from({ length: n }, (_, i) => store.appendMessage(inbox.id, { content: message(i) })));
      const commits = (await store.stats()).commits - before;
      assert.ok(commits < n, `${n} appends took ${commits} commits`);
      assert.ok(commits >= 1);
      // UID order is call order.
      assert.deepEqual(
        results.map((r) => r.uid),
        Array.from({ length: n }, (_, i) => i + 1),
      );
      const listed = await store.listMessages(inbox.id);
      assert.equal(listed.length, n);
      const box = await store.getMailboxById(inbox.id);
      assert.equal(box?.messageCount, n);
    });
  });

  it('rolls back one failing request alone inside a batch, and keeps StoreError codes across the thread', async () => {
    await withStore(async (raw) => {
      const store = raw as WorkerSqliteStore;
      const small = await store.createAccount('small@example.com', 'x', 100);
      const big = await store.createAccount('big@example.com', 'x', null);
      const smallBox = await store.createMailbox(small.id, 'INBOX');
      const bigBox = await store.createMailbox(big.id, 'INBOX');
      const settled = await Promise.allSettled([
        store.appendMessage(bigBox.id, { content: message(1) }),
        store.appendMessage(smallBox.id, { content: Buffer.alloc(200, 0x61) }),
        store.appendMessage(999_999, { content: message(2) }),
        store.createMailbox(big.id, 'INBOX'),
        store.appendMessage(bigBox.id, { content: message(3) }),
      ]);
      const codes = settled.map((s) => (s.status === 'rejected' ? (s.reason as StoreError).code : 'ok'));
      assert.deepEqual(codes, ['ok', 'STORE_OVER_QUOTA', 'STORE_NO_SUCH_MAILBOX', 'STORE_MAILBOX_EXISTS', 'ok']);
      for (const s of settled) if (s.status === 'rejected') assert.ok(s.reason instanceof StoreError);
      assert.equal((await store.listMessages(bigBox.id)).length, 2);
      assert.equal((await store.listMessages(smallBox.id)).length, 0);
      assert.equal((await store.getAccountById(small.id))?.usedBytes, 0);
    });
  });

  it('tells no request of a batch that SQLite rolled back whole that it succeeded; the rest run in the next batch', async () => {
    await withStore(async (store, path) => {
      const account = await store.createAccount('rollback@example.com', 'x', null);
      // RAISE(ROLLBACK) ends the whole transaction, not only the request's savepoint (as SQLITE_FULL may).
      const db = new Database(path);
      db.exec(`CREATE TRIGGER boom BEFORE INSERT ON mailboxes WHEN NEW.name = 'Boom' BEGIN SELECT RAISE(ROLLBACK, 'boom'); END`);
      db.close();
      // While another process holds the lock, the writes wait in the queue and go into one batch once it is free.
      const { released } = await holdWriteLock(path, 500);
      const first = store.setSubscribed(account.id, 'First', true).then(
        () => true,
        () => false,
      );
      await new Promise((resolve) => setTimeout(resolve, 200));
      const settled = await Promise.allSettled([
        store.createMailbox(account.id, 'A'),
        store.createMailbox(account.id, 'Boom'),
        store.createMailbox(account.id, 'C'),
      ]);
      await released;
      const firstDone = await first;
      assert.deepEqual(
        settled.map((s) => s.status),
        ['rejected', 'rejected', 'fulfilled'],
      );
      const names = (await store.listMailboxes(account.id)).map((m) => m.name);
      assert.deepEqual(names, ['C']);
      assert.equal((await store.listSubscriptions(account.id)).includes('First'), firstDone);
    });
  });

  it('reads its own writes: a read issued after a write resolved sees it', async () => {
    await withStore(async (store) => {
      const account = await store.createAccount('ryw@example.com', 'x', null);
      const inbox = await store.createMailbox(account.id, 'INBOX');
      for (let i = 0; i < 20; i++) {
        const { uid } = await store.appendMessage(inbox.id, { content: message(i) });
        const [meta] = await store.getMessages(inbox.id, [uid]);
        assert.equal(meta?.uid, uid);
        await store.updateFlags(inbox.id, [uid], 'add', ['\\Seen']);
        assert.equal((await store.getMailboxById(inbox.id))?.unseenCount, 0);
      }
    });
  });

  it('starts one thread; the read thread only when a read meets a write in flight, answering the reads sent meanwhile', async () => {
    await withStore(async (raw) => {
      const store = raw as WorkerSqliteStore;
      const account = await store.createAccount('lazy@example.com', 'x', null);
      const inbox = await store.createMailbox(account.id, 'INBOX');
      // Reads and writes one after the other: the writer answers both, no second thread.
      await store.appendMessage(inbox.id, { content: message(1) });
      assert.equal((await store.listMessages(inbox.id)).length, 1);
      assert.equal(await store.threads(), 1);
      // Reads that arrive while writes are in flight, before the reader is up: all answered.
      const writes = Array.from({ length: 20 }, (_, i) => store.createMailbox(account.id, `Box${i}`));
      const reads = Array.from({ length: 20 }, () => store.getMailboxById(inbox.id));
      const [boxes] = await Promise.all([Promise.all(reads), Promise.all(writes)]);
      for (const box of boxes) assert.equal(box?.messageCount, 1);
      assert.equal(await store.threads(), 2);
      // Read-your-writes holds on the new thread too.
      const { uid } = await store.appendMessage(inbox.id, { content: message(99) });
      assert.equal((await store.getMessages(inbox.id, [uid]))[0]?.uid, uid);
      assert.equal((await store.listMailboxes(account.id)).length, 21);
    });
  });

  it('fails every call with STORE_UNAVAILABLE once a store thread dies, the read thread started on demand included', async () => {
    for (const which of ['writer', 'reader'] as const) {
      const store = await openSqliteStore(freshPath());
      try {
        const account = await store.createAccount(`${which}@example.com`, 'x', null);
        if (which === 'reader') {
          await Promise.all([store.createMailbox(account.id, 'A'), store.listMailboxes(account.id)]);
          assert.equal(await (store as WorkerSqliteStore).threads(), 2);
        }
        const thread = (store as unknown as Record<string, { terminate(): Promise<number> }>)[which];
        await thread.terminate();
        await assert.rejects(store.listAccounts(), (err: unknown) => err instanceof StoreError && err.code === 'STORE_UNAVAILABLE');
        await assert.rejects(store.createMailbox(account.id, 'B'), (err: unknown) => err instanceof StoreError && err.code === 'STORE_UNAVAILABLE');
      } finally {
        await store.close();
      }
    }
  });

  it('reports a closed store as STORE_UNAVAILABLE', async () => {
    const store = await openSqliteStore(freshPath());
    await store.close();
    await assert.rejects(store.listAccounts(), (err: unknown) => err instanceof StoreError && err.code === 'STORE_UNAVAILABLE');
  });
});
