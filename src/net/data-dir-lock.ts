/**
 * One data directory, one server. `mailstead serve` holds an exclusive lock on
 * `DATA_DIR/server.lock` for as long as it runs; a second server on the same
 * directory is refused and told who holds it. `deliver` and `user` never take
 * this lock: they share the store with the running server through SQLite.
 *
 * The lock is a POSIX advisory (fcntl) lock, taken through SQLite because that
 * is the one way to reach fcntl locks from Node without a native addon of our
 * own (better-sqlite3 is already our store). Why this and not a pid file:
 * - atomic: the kernel grants it to exactly one of two servers started at the same instant;
 * - never stale: the kernel drops it when the holder exits for any reason, kill -9 included,
 *   so there is no liveness check to get wrong and pid reuse does not matter;
 * - it follows the file, not a path or a network namespace, so bind mounts and
 *   containers sharing the volume see the same lock.
 * The holder's pid and host name are written beside it (`server.lock.holder`) after the
 * lock is taken; they only inform the message of a refused server.
 */
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';

export interface LockHolder {
  pid: number;
  hostname: string;
  startedAt: string;
}

/** Another server holds the data directory. */
export class DataDirLocked extends Error {
  constructor(
    readonly dataDir: string,
    /** Null when the holder has not written its name yet (it is starting) or the file is unreadable. */
    readonly holder: LockHolder | null,
  ) {
    const who = holder ? `pid ${holder.pid} on host ${holder.hostname}, running since ${holder.startedAt}` : 'a server that is still starting';
    super(`data directory ${dataDir} is in use by another mailstead server (${who}); stop it first or use another --data-dir`);
    this.name = 'DataDirLocked';
  }
}

export interface DataDirLock {
  /** Gives the directory up (clean shutdown). Safe to call twice. */
  release(): void;
}

export function lockFilePath(dataDir: string): string {
  return join(dataDir, 'server.lock');
}

export function lockHolderPath(dataDir: string): string {
  return join(dataDir, 'server.lock.holder');
}

/** Takes the data directory for this process, or throws DataDirLocked. Synchronous and immediate: it never waits. */
export function lockDataDir(dataDir: string): DataDirLock {
  mkdirSync(dataDir, { recursive: true, mode: 0o750 });
  // timeout 0: a held lock is reported at once (SQLITE_BUSY) instead of being waited for.
  const db = new Database(lockFilePath(dataDir), { timeout: 0 });
  try {
    // The lock file holds no data: a journal in memory leaves no `-journal` file beside it.
    db.pragma('journal_mode = MEMORY');
    // An EXCLUSIVE transaction that is never committed: the fcntl write lock on the file is
    // held until this connection closes, i.e. until release() or the end of the process.
    db.exec('BEGIN EXCLUSIVE');
  } catch (err) {
    db.close();
    const code = (err as { code?: unknown }).code;
    if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') throw new DataDirLocked(dataDir, readHolder(dataDir));
    throw err;
  }
  writeHolder(dataDir, { pid: process.pid, hostname: hostname(), startedAt: new Date().toISOString() });
  let held = true;
  return {
    release() {
      if (!held) return;
      held = false;
      // The holder file goes first, while we still hold the lock: a server that takes the
      // lock next never finds our name in it.
      rmSync(lockHolderPath(dataDir), { force: true });
      db.close();
    },
  };
}

/** Whoever holds the lock, as it wrote itself down; null when unknown. */
export function readHolder(dataDir: string): LockHolder | null {
  try {
    const v = JSON.parse(readFileSync(lockHolderPath(dataDir), 'utf8')) as Partial<LockHolder>;
    if (!Number.isSafeInteger(v.pid) || typeof v.hostname !== 'string' || typeof v.startedAt !== 'string') return null;
    return { pid: v.pid as number, hostname: v.hostname.slice(0, 255), startedAt: v.startedAt.slice(0, 64) };
  } catch {
    return null;
  }
}

function writeHolder(dataDir: string, holder: LockHolder): void {
  // Written whole, then renamed over: a reader sees the old holder or the new one, never half of one.
  const tmp = `${lockHolderPath(dataDir)}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(holder)}\n`, { mode: 0o644 });
  renameSync(tmp, lockHolderPath(dataDir));
}
