/**
 * The SQLite store's own thread (see worker-store.ts for the design): it
 * opens the database (migrations included), then runs the MailStore calls the
 * main thread posts, in arrival order, with group commit. Calls that arrive
 * while a commit (and its fsync) runs wait in the port; the next turn takes
 * them all, up to MAX_BATCH, into one BEGIN IMMEDIATE … COMMIT, each write in
 * its own SAVEPOINT, and answers every one of them only after that COMMIT.
 * Crash points fire here as on the main thread: they SIGKILL the process.
 * The same module runs as the reader thread (role 'reader'): a second,
 * query_only connection that answers reads, never waiting for a commit.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { LocalBlobStore } from '../blob-store.js';
import { FileBlobStore } from '../blobs/file-blob-store.js';
import { StoreError } from '../types.js';
import { defaultBlobStore, SqliteDb } from './db.js';
import { OpenMarks } from './open-marks.js';
import { SqliteMailStore } from './sqlite-store.js';
import type { CallReply, WorkerInit, WorkerReply, WorkerRequest } from './worker-protocol.js';
import { ALONE, READS, serializeError, WRITES } from './worker-protocol.js';

/** Requests in one transaction at most: bounds the time a batch holds the write lock. */
const MAX_BATCH = 128;

const port = parentPort;
if (!port) throw new Error('store-worker.ts runs as a worker thread');
const init = workerData as WorkerInit;

let blobs: LocalBlobStore | null = null;
const bodies = (): LocalBlobStore => (blobs ??= defaultBlobStore(init.path, init.options));
let sql: SqliteDb;
let store: SqliteMailStore;
try {
  sql = init.role === 'reader' ? SqliteDb.openReader(init.path, init.options) : SqliteDb.open(init.path, init.options, bodies);
  // Only the writer holds an open mark: a reader leaves nothing half-done.
  const writes = init.role === 'writer' && init.path !== ':memory:' && init.path !== '';
  store = new SqliteMailStore(sql, bodies(), writes ? OpenMarks.take(init.path) : null);
  port.postMessage({ id: 0, ready: true } satisfies WorkerReply);
} catch (err) {
  port.postMessage({ id: 0, ready: false, error: serializeError(err) } satisfies WorkerReply);
  port.close();
}

const queue: WorkerRequest[] = [];
let scheduled = false;
let running = false;
let closed = false;
/** Set while the writes in front of the queue wait for another process's write lock. */
let lockWait: { since: number; attempts: number; timer: NodeJS.Timeout | null } | null = null;

port.on('message', (request: WorkerRequest) => {
  queue.push(request);
  // A read that arrives while writes wait for the lock is answered at once (the next turn serves it).
  schedule();
});

/** One turn per batch: between turns the event loop delivers what arrived meanwhile, so it joins the next batch. */
function schedule(): void {
  if (scheduled || running || closed || queue.length === 0) return;
  scheduled = true;
  setImmediate(() => {
    scheduled = false;
    running = true;
    turn()
      .catch((err: unknown) => {
        // A bug, not a store failure: let the main thread see the worker die rather than hang.
        setImmediate(() => {
          throw err;
        });
      })
      .finally(() => {
        running = false;
        // While waiting for the lock, the retry timer (or a new message) starts the next turn.
        if (lockWait === null) schedule();
      });
  });
}

async function turn(): Promise<void> {
  const first = queue[0];
  if (ALONE.has(first.method)) {
    queue.shift();
    port!.postMessage(await invoke(first));
    if (first.method === 'close') {
      closed = true;
      if (lockWait?.timer) clearTimeout(lockWait.timer);
      port!.close();
    }
    return;
  }
  let n = 0;
  while (n < queue.length && n < MAX_BATCH && !ALONE.has(queue[n].method)) n++;
  const batch = queue.splice(0, n);
  if (!batch.some((r) => WRITES.has(r.method))) {
    for (const request of batch) port!.postMessage(await invoke(request));
    return;
  }
  let begun: boolean;
  try {
    begun = sql.tryBeginBatch();
  } catch (err) {
    for (const request of batch) port!.postMessage({ id: request.id, ok: false, error: serializeError(err) } satisfies CallReply);
    return;
  }
  if (!begun) {
    // Another process (`mailstead deliver`, `user`, an import) holds the write lock. Instead of SQLite's
    // busy wait, which would stop this thread, the writes wait in front of the queue and the reads are
    // answered now, from the last commit (no write they could miss was acknowledged).
    lockWait ??= { since: Date.now(), attempts: 0, timer: null };
    const writes = batch.filter((r) => !READS.has(r.method));
    const reads = batch.filter((r) => READS.has(r.method));
    if (Date.now() - lockWait.since < sql.busyTimeoutMs) {
      queue.unshift(...writes);
      for (const request of reads) port!.postMessage(await invoke(request));
      if (lockWait.timer === null) {
        const delay = Math.min(50, 2 ** lockWait.attempts++);
        lockWait.timer = setTimeout(() => {
          if (lockWait) lockWait.timer = null;
          schedule();
        }, delay);
      }
      return;
    }
    // Waited busy_timeout: the writes fail as SQLite's own busy wait would have failed them.
    lockWait = null;
    const error = serializeError(new StoreError('STORE_UNAVAILABLE', 'Mail store unavailable: another process holds the write lock'));
    for (const request of batch) {
      port!.postMessage(READS.has(request.method) ? await invoke(request) : ({ id: request.id, ok: false, error } satisfies CallReply));
    }
    return;
  }
  if (lockWait?.timer) clearTimeout(lockWait.timer);
  lockWait = null;
  await runBatch(batch);
}

/** SQLite rolled the whole transaction back on its own (SQLITE_FULL, IOERR) in the middle of a batch. */
class BatchRolledBack extends Error {}

async function runBatch(batch: WorkerRequest[]): Promise<void> {
  const replies: CallReply[] = [];
  const lent: Array<[string, string]> = [];
  try {
    await sql.batch(async () => {
      for (const request of batch) {
        if (request.holds && blobs instanceof FileBlobStore) {
          for (const [blobId, hold] of request.holds) {
            blobs.addHold(blobId, hold);
            lent.push([blobId, hold]);
          }
        }
        replies.push(await invoke(request));
        if (!sql.db.inTransaction) throw new BatchRolledBack();
      }
    });
  } catch (err) {
    // Nothing of the batch is durable, and no request may be told otherwise.
    let error = serializeError(err);
    if (err instanceof BatchRolledBack) {
      // The request that failed carries the cause; the requests after it never ran and wait for the next batch.
      const cause = replies[replies.length - 1];
      error = !cause.ok ? cause.error : { name: 'StoreError', message: 'Mail store unavailable', code: 'STORE_UNAVAILABLE' };
      queue.unshift(...batch.slice(replies.length));
    } else {
      // BEGIN (another process held the lock past busy_timeout) or COMMIT failed: every request fails with it.
      for (const request of batch.slice(replies.length)) replies.push({ id: request.id, ok: false, error });
    }
    for (let i = 0; i < replies.length; i++) {
      if (replies[i].ok) replies[i] = { id: replies[i].id, ok: false, error };
    }
  } finally {
    if (blobs instanceof FileBlobStore) for (const [blobId, hold] of lent) blobs.forgetHold(blobId, hold);
  }
  for (const reply of replies) port!.postMessage(reply);
}

async function invoke(request: WorkerRequest): Promise<CallReply> {
  try {
    let value: unknown;
    if (request.method === 'stats') value = { commits: sql.commits };
    else if (READS.has(request.method) || WRITES.has(request.method) || ALONE.has(request.method)) {
      const method = (store as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>)[request.method];
      value = await method.apply(store, request.args);
    } else throw new Error(`store worker: unknown method ${request.method}`);
    return { id: request.id, ok: true, value };
  } catch (err) {
    return { id: request.id, ok: false, error: serializeError(err) };
  }
}
