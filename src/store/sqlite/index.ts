/** The embedded store: one SQLite file (e.g. `<data-dir>/mailstead.db`), or ':memory:' for tests. */
import type { MailStore } from '../types.js';
import type { SqliteOptions } from './db.js';
import { defaultBlobStore, SqliteDb } from './db.js';
import { SqliteMailStore } from './sqlite-store.js';
import type { LocalBlobStore } from '../blob-store.js';
import { WorkerSqliteStore } from './worker-store.js';
import { OpenMarks } from './open-marks.js';

export type { SqliteOptions } from './db.js';
export { DEFAULT_BUSY_TIMEOUT_MS } from './db.js';
export { SCHEMA_VERSION } from './schema.js';
export { applyFlagOperation, canonicalFlags, SYSTEM_FLAGS } from './flags.js';
export { generateUidl } from './messages.js';
export { WorkerSqliteStore } from './worker-store.js';
export type { StoreWorkerStats } from './worker-store.js';

/**
 * Opens (creating and migrating when needed) the database at `path`, with its
 * bodies under `options.blobDir` (default `<path>.blobs`; in memory for an
 * in-memory database). A file database runs in its own worker thread unless
 * `options.thread` is 'main' (worker-store.ts); an in-memory one in this thread.
 * The server and the `user`/`deliver`/`import`/`expire` commands alike use the
 * worker: one code path, and a command's lock waits never block its own loop.
 */
export async function openSqliteStore(path: string, options: SqliteOptions = {}): Promise<MailStore> {
  const inMemory = path === ':memory:' || path === '';
  if (!inMemory && (options.thread ?? 'worker') === 'worker') return WorkerSqliteStore.open(path, options);
  let blobs: LocalBlobStore | null = null;
  const bodies = () => {
    blobs ??= defaultBlobStore(path, options);
    return blobs;
  };
  const sql = SqliteDb.open(path, options, bodies);
  return new SqliteMailStore(sql, bodies(), inMemory ? null : OpenMarks.take(path));
}
