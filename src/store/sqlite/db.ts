/**
 * The SQLite connection: pragmas, a prepared-statement cache, transactions,
 * and the one place where SQLite errors become protocol-neutral StoreErrors.
 * better-sqlite3 is synchronous; the store's async methods call into it and
 * return, so a statement never interleaves with another on this connection.
 */
import Database from 'better-sqlite3';
import type { LocalBlobStore } from '../blob-store.js';
import { FileBlobStore } from '../blobs/file-blob-store.js';
import { MemoryBlobStore } from '../blobs/memory-blob-store.js';
import { StoreError } from '../types.js';
import { migrate } from './schema.js';

export interface SqliteOptions {
  /** How long a write waits for another process's lock before STORE_UNAVAILABLE. */
  busyTimeoutMs?: number;
  /** Where message bodies are stored; by default `<path>.blobs` beside the database (in memory for ':memory:'). */
  blobDir?: string;
  /**
   * Where the SQLite calls run: 'worker' (the default for a file; see
   * worker-store.ts) or 'main', this thread (always for ':memory:').
   */
  thread?: 'worker' | 'main';
}

/** Default wait for a lock held by another process (e.g. the deliver CLI) before giving up. */
export const DEFAULT_BUSY_TIMEOUT_MS = 5000;

/** WAL is truncated back to this size after a checkpoint, so one 50 MB append does not leave a 50 MB WAL. */
const JOURNAL_SIZE_LIMIT_BYTES = 64 * 1024 * 1024;

export class SqliteDb {
  private readonly statements = new Map<string, Database.Statement>();
  /** Work to run once the enclosing batch has committed (see `batch`). */
  private deferred: Array<() => void> | null = null;
  /** Transactions that changed rows and committed (so synced): group commit makes this smaller than the writes (tests read it). */
  commits = 0;

  private constructor(
    readonly db: Database.Database,
    /** How long a write waits for another process's lock (busy_timeout). */
    readonly busyTimeoutMs: number,
  ) {}

  /** `bodies` is called once the database file is open (so a bad path fails here, not by creating directories). */
  static open(path: string, options: SqliteOptions = {}, bodies = () => defaultBlobStore(path, options)): SqliteDb {
    const busyTimeoutMs = Math.max(0, Math.floor(options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS));
    let db: Database.Database;
    try {
      db = new Database(path);
    } catch (err) {
      // better-sqlite3 reports a missing directory as a TypeError, not an SqliteError.
      const mapped = toStoreError(err);
      if (mapped instanceof StoreError) throw mapped;
      throw new StoreError('STORE_UNAVAILABLE', `Cannot open the mail store at ${path}: ${(err as Error).message}`);
    }
    try {
      db.pragma(`busy_timeout = ${busyTimeoutMs}`);
      // WAL: readers never block the writer. synchronous=FULL: every commit is
      // fsynced, so an acknowledged message survives power loss, not just a crash.
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      db.pragma('foreign_keys = ON');
      db.pragma(`journal_size_limit = ${JOURNAL_SIZE_LIMIT_BYTES}`);
      migrate(db, { bodies: bodies() });
    } catch (err) {
      db.close();
      throw toStoreError(err);
    }
    return new SqliteDb(db, busyTimeoutMs);
  }

  /**
   * A second connection for reads only (query_only), beside a writer that
   * opened and migrated the database: WAL lets it read the last commit while
   * the writer commits.
   */
  static openReader(path: string, options: SqliteOptions = {}): SqliteDb {
    const busyTimeoutMs = Math.max(0, Math.floor(options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS));
    let db: Database.Database;
    try {
      db = new Database(path, { fileMustExist: true });
    } catch (err) {
      throw new StoreError('STORE_UNAVAILABLE', `Cannot open the mail store at ${path}: ${(err as Error).message}`);
    }
    try {
      db.pragma(`busy_timeout = ${busyTimeoutMs}`);
      db.pragma('foreign_keys = ON');
      db.pragma('query_only = ON');
    } catch (err) {
      db.close();
      throw toStoreError(err);
    }
    return new SqliteDb(db, busyTimeoutMs);
  }

  /** A cached prepared statement. */
  stmt<R = unknown>(sql: string): Database.Statement<unknown[], R> {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement as Database.Statement<unknown[], R>;
  }

  /**
   * Runs `fn` in a write transaction (BEGIN IMMEDIATE, so that two processes
   * never deadlock upgrading read locks). Commit, and with synchronous=FULL
   * the fsync, happen before this returns.
   */
  write<T>(fn: () => T): T {
    const outermost = !this.db.inTransaction;
    const changesBefore = outermost ? this.totalChanges() : 0;
    const result = this.guard(() => this.db.transaction(fn).immediate());
    if (outermost && this.totalChanges() !== changesBefore) this.commits++;
    return result;
  }

  /**
   * Group commit: runs `fn` inside one BEGIN IMMEDIATE ... COMMIT. Every
   * `write` made meanwhile becomes a SAVEPOINT (better-sqlite3 nests them), so
   * one failing request rolls back alone; `afterCommit` work waits for the
   * one COMMIT (and its fsync). When the COMMIT fails, nothing of the batch
   * stays and the error is thrown.
   */
  async batch<T>(fn: () => Promise<T>): Promise<T> {
    if (this.deferred) throw new Error('SqliteDb.batch: batches do not nest');
    // Begun by tryBeginBatch, or begun here, waiting up to busy_timeout for another process's lock.
    if (!this.db.inTransaction) this.guard(() => this.db.prepare('BEGIN IMMEDIATE').run());
    this.deferred = [];
    const changesBefore = this.totalChanges();
    let result: T;
    let changed: boolean;
    try {
      result = await fn();
      changed = this.totalChanges() !== changesBefore;
      this.guard(() => this.db.prepare('COMMIT').run());
    } catch (err) {
      this.deferred = null;
      if (this.db.open && this.db.inTransaction) this.db.prepare('ROLLBACK').run();
      throw toStoreError(err);
    }
    if (changed) this.commits++;
    const deferred = this.deferred;
    this.deferred = null;
    for (const work of deferred) work();
    return result;
  }

  /**
   * BEGIN IMMEDIATE without waiting: false when another connection holds the
   * write lock, so the caller can answer reads meanwhile and try again; true
   * when the transaction is open for `batch`.
   */
  tryBeginBatch(): boolean {
    if (!this.db.open) throw new StoreError('STORE_UNAVAILABLE', 'The mail store is closed');
    this.db.pragma('busy_timeout = 0');
    try {
      this.db.prepare('BEGIN IMMEDIATE').run();
      return true;
    } catch (err) {
      if (err instanceof Database.SqliteError && err.code.startsWith('SQLITE_BUSY')) return false;
      throw toStoreError(err);
    } finally {
      this.db.pragma(`busy_timeout = ${this.busyTimeoutMs}`);
    }
  }

  /** Runs `work` now, or, inside a batch, once the batch has committed (bodies to remove, crash points "…-committed"). */
  afterCommit(work: () => void): void {
    if (this.deferred) this.deferred.push(work);
    else work();
  }

  /** Runs `fn` in a read transaction: one consistent snapshot across several SELECTs. */
  read<T>(fn: () => T): T {
    return this.guard(() => this.db.transaction(fn).deferred());
  }

  /** Rows changed since the connection opened: a transaction that changed none commits without a sync. */
  private totalChanges(): number {
    return this.guard(() => this.stmt<{ n: number }>('SELECT total_changes() AS n').get()!.n);
  }

  close(): void {
    if (this.db.open) {
      try {
        this.db.pragma('optimize');
      } catch {
        // Best effort: statistics are an optimisation, closing matters more.
      }
      this.db.close();
    }
    this.statements.clear();
  }

  private guard<T>(fn: () => T): T {
    if (!this.db.open) throw new StoreError('STORE_UNAVAILABLE', 'The mail store is closed');
    try {
      return fn();
    } catch (err) {
      throw toStoreError(err);
    }
  }
}

/** The blob store of a database: files under `blobDir` (default `<path>.blobs`), or memory for ':memory:'. */
export function defaultBlobStore(path: string, options: SqliteOptions): LocalBlobStore {
  if (path === ':memory:' || path === '') return new MemoryBlobStore();
  return new FileBlobStore(options.blobDir ?? `${path}.blobs`);
}

/** Maps SQLite failures to StoreError codes; anything else passes through unchanged. */
export function toStoreError(err: unknown): unknown {
  if (err instanceof StoreError) return err;
  if (err instanceof Database.SqliteError) {
    const { code, message } = err;
    if (code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
      if (message.includes('accounts.')) return new StoreError('STORE_ACCOUNT_EXISTS', 'Account already exists');
      if (message.includes('mailboxes.')) return new StoreError('STORE_MAILBOX_EXISTS', 'Mailbox already exists');
    }
    // SQLite reports ENOSPC on the database, its WAL or its journal as SQLITE_FULL, after rolling
    // the statement (or the whole transaction) back: nothing half-written stays.
    if (code === 'SQLITE_FULL' || code.startsWith('SQLITE_FULL_')) {
      return new StoreError('STORE_FULL', `Mail store full (${code}): ${message}`);
    }
    if (/^SQLITE_(BUSY|LOCKED|IOERR|CANTOPEN|READONLY|CORRUPT|NOTADB|NOMEM|PROTOCOL|PERM)/.test(code)) {
      return new StoreError('STORE_UNAVAILABLE', `Mail store unavailable (${code}): ${message}`);
    }
  }
  return err;
}
