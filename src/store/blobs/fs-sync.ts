/** File system helpers of the file blob store: directory syncs, error mapping, writer liveness. */
import { closeSync, fsyncSync, openSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { StoreError } from '../types.js';

export async function fsyncDir(dir: string): Promise<void> {
  await syncPath(dir);
}

/** Syncs a file or directory by its path. */
export async function syncPath(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Directory syncs shared by concurrent writers: each new name must be synced
 * in its directory before its metadata commits, and deliveries arriving at
 * once often wait on the same directory (the blob root and shard directories
 * when a store is young, the same body's directory for copies). A caller
 * joins a sync that has not started yet; while one runs, later callers share
 * a single sync started after it (the running one may have begun before their
 * link), so no one waits on a sync older than their change.
 */
export class DirSyncs {
  private readonly running = new Map<string, Promise<void>>();
  private readonly queued = new Map<string, Promise<void>>();

  constructor(private readonly syncDir: (dir: string) => Promise<void> = fsyncDir) {}

  sync(dir: string): Promise<void> {
    const queued = this.queued.get(dir);
    if (queued) return queued;
    const running = this.running.get(dir);
    if (!running) return this.start(dir);
    const next = running
      .catch(() => {})
      .then(() => {
        this.queued.delete(dir);
        return this.start(dir);
      });
    this.queued.set(dir, next);
    return next;
  }

  private start(dir: string): Promise<void> {
    const run = this.syncDir(dir).finally(() => {
      if (this.running.get(dir) === run) this.running.delete(dir);
    });
    this.running.set(dir, run);
    return run;
  }
}

export function fsyncDirSync(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export function isAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function isMissing(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | null)?.code === 'ENOENT';
}

/** File system failures as protocol-neutral store errors: a full disk is STORE_FULL, the rest STORE_UNAVAILABLE. */
export function fileError(err: unknown): unknown {
  if (err instanceof StoreError) return err;
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') return new StoreError('STORE_FULL', `Mail store full (${code})`);
  if (typeof code === 'string') return new StoreError('STORE_UNAVAILABLE', `Mail store unavailable (${code})`);
  return err;
}
