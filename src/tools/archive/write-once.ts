/**
 * Write-once Maildir storage. A message is written to tmp/ with O_EXCL and
 * mode 0444 (the file is never writable, even while being written through
 * the one descriptor that created it), fsynced, then hard-linked into cur/ —
 * link(2) fails with EEXIST instead of replacing, so an archived file can
 * never be overwritten — and cur/ is fsynced before tmp/ is cleaned.
 * Only then is the message durable and may the caller record it and delete
 * it on the server.
 */
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { link, mkdir, open, readFile, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';

export function sha256(content: Buffer): string {
  return createHash('sha256').update(content).digest('hex');
}

/** fsync a directory, so that the names created or removed in it survive a crash. */
export async function fsyncDir(dir: string): Promise<void> {
  const fd = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await fd.sync();
  } finally {
    await fd.close();
  }
}

/** Creates DIR/tmp, DIR/new and DIR/cur (and DIR itself), fsyncing each new name into its parent. */
export async function ensureMaildir(dir: string): Promise<void> {
  for (const sub of ['', 'tmp', 'new', 'cur']) {
    const path = sub ? join(dir, sub) : dir;
    const made = await mkdir(path, { recursive: true });
    if (made !== undefined) await fsyncDir(dirname(path));
  }
}

export type StoreOutcome = 'stored' | 'already-there';

/**
 * Stores `content` as cur/NAME of the Maildir `dir`. When cur/NAME already
 * exists with the same bytes (a crash after the link, before the manifest
 * line), reports 'already-there'; with other bytes it refuses, never replacing.
 */
export async function storeOnce(dir: string, name: string, content: Buffer, mtime: Date): Promise<StoreOutcome> {
  const tmpPath = join(dir, 'tmp', name);
  const finalPath = join(dir, 'cur', name);
  // A leftover from a killed run with the same name is a torn write: it was never linked.
  await unlink(tmpPath).catch(() => undefined);
  const fd = await open(tmpPath, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o444);
  try {
    await fd.writeFile(content);
    await fd.utimes(mtime, mtime);
    await fd.sync();
  } finally {
    await fd.close();
  }
  try {
    await link(tmpPath, finalPath);
  } catch (err) {
    await unlink(tmpPath).catch(() => undefined);
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const existing = await readFile(finalPath);
    if (sha256(existing) !== sha256(content)) {
      throw new Error(`${finalPath} exists with other content; refusing to overwrite an archived file`);
    }
    return 'already-there';
  }
  await fsyncDir(join(dir, 'cur'));
  await unlink(tmpPath);
  return 'stored';
}
