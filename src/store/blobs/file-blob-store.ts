/**
 * The embedded blob store: one file per body under `<data-dir>/blobs`, named
 * by its sha256 (`blobs/ab/cd/<sha256>`), so identical content is stored once.
 *
 * A writer fills a temporary file in `blobs/tmp/` (same filesystem), hashing
 * on the way; commit fsyncs it, links it under its final name and fsyncs the
 * directory. The temporary name stays as a second hard link, the writer's
 * hold: while it exists the body's link count is above one, and removal
 * (inside the metadata store's write lock) leaves such a body alone. That is
 * what keeps a body that another process is about to reference from being
 * swept or deleted between its commit and the metadata commit. Holds and
 * partial files are named `<pid>-<instance>-<random>`, so recovery removes
 * only those of processes that are gone: another pid that no longer runs, or
 * our own pid with another instance and a name older than this process (a
 * server restarted in a container gets the same pid every time).
 */
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, linkSync, mkdirSync, openSync, readFile as readFileCallback, statSync, unlinkSync, writeSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { link, open, opendir, stat, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import type { BlobWriter, LocalBlobStore, StagedBlob, SweepVisitor } from '../blob-store.js';
import { pop3SizeOf } from '../pop3-size.js';
import { StoreError } from '../types.js';
import { FileBlobWriter } from './file-blob-writer.js';
import { DirSyncs, fileError, fsyncDirSync, isAlive, isMissing } from './fs-sync.js';

export { fileError } from './fs-sync.js';

const TMP_DIR = 'tmp';
/** Ids handed to `visit` at once: bounds the memory of a sweep over any number of bodies. */
const SWEEP_BATCH = 256;
/** Reads of a range go out in chunks of this size, each only when the consumer wants more. */
const READ_CHUNK_BYTES = 64 * 1024;
/** Blob ids are sha256 hex; older stores may hold other ids, but never a path separator or a dot. */
const BLOB_ID = /^[A-Za-z0-9]{1,128}$/;
/** This process among those that had the same pid before it. */
const INSTANCE = randomBytes(4).toString('hex');
const PROCESS_STARTED_MS = Date.now() - process.uptime() * 1000;

export class FileBlobStore implements LocalBlobStore {
  /** Holds of this process's committed writers, by blob id (a body written twice has two). */
  private readonly holds = new Map<string, string[]>();
  /** Directory syncs of this store's writers, shared when they coincide. */
  readonly dirSyncs = new DirSyncs();
  /** Directories given new names by importSync, synced together by flushImportsSync. */
  private readonly unsyncedDirs = new Set<string>();

  /** `startedAtMs`: when this process started (tests move it to stand for a restart under the same pid). */
  constructor(
    readonly root: string,
    private readonly options: { startedAtMs?: number } = {},
  ) {
    mkdirSync(join(root, TMP_DIR), { recursive: true, mode: 0o750 });
  }

  createWriter(): BlobWriter {
    return new FileBlobWriter(this, this.tmpPath());
  }

  /** When the body is stored already (another recipient, a copy), holds it without writing it again. */
  async put(content: Buffer): Promise<StagedBlob> {
    const blobId = createHash('sha256').update(content).digest('hex');
    const path = this.requirePath(blobId);
    const hold = this.tmpPath();
    try {
      await link(path, hold);
      this.addHold(blobId, hold);
      // The name may come from a writer that died before syncing its directory.
      await this.dirSyncs.sync(dirname(path));
      return { blobId, size: content.length, pop3Size: pop3SizeOf(content) };
    } catch (err) {
      if (!isMissing(err)) throw fileError(err);
    }
    const writer = new FileBlobWriter(this, this.tmpPath(), blobId);
    try {
      await writer.write(content);
      return await writer.commit();
    } catch (err) {
      await writer.abort();
      throw err;
    }
  }

  async openRange(blobId: string, start: number, end: number): Promise<Readable | null> {
    const handle = await this.openFile(blobId);
    if (!handle) return null;
    try {
      const { size } = await handle.stat();
      const from = Math.max(0, Math.min(start, size));
      const to = Math.max(from, Math.min(end, size));
      if (from === to) {
        await handle.close();
        return Readable.from([]);
      }
      // `end` of createReadStream is inclusive; ours is exclusive, as Buffer.subarray's.
      return handle.createReadStream({ start: from, end: to - 1, highWaterMark: READ_CHUNK_BYTES, autoClose: true });
    } catch (err) {
      await handle.close();
      throw fileError(err);
    }
  }

  async size(blobId: string): Promise<number | null> {
    const path = this.pathOf(blobId);
    if (!path) return null;
    try {
      return (await stat(path)).size;
    } catch (err) {
      if (isMissing(err)) return null;
      throw fileError(err);
    }
  }

  async read(blobId: string): Promise<Buffer | null> {
    const path = this.pathOf(blobId);
    if (!path) return null;
    try {
      return await readWhole(path);
    } catch (err) {
      if (isMissing(err)) return null;
      throw fileError(err);
    }
  }

  async delete(blobId: string): Promise<void> {
    const path = this.pathOf(blobId);
    if (!path) return;
    try {
      await unlink(path);
    } catch (err) {
      if (!isMissing(err)) throw fileError(err);
    }
  }

  async release(staged: StagedBlob): Promise<void> {
    const held = this.holds.get(staged.blobId);
    const hold = held?.pop();
    if (held && held.length === 0) this.holds.delete(staged.blobId);
    if (hold === undefined) return;
    try {
      await unlink(hold);
    } catch {
      // Never fatal (the metadata may be committed already): a hold left behind only keeps the body until
      // the next start's sweep, which removes holds of processes that are gone.
    }
  }

  async sweep(visit: SweepVisitor): Promise<number> {
    await this.removeDeadWriters();
    let removed = 0;
    const removeUnreferenced = (blobId: string): boolean => {
      const path = this.pathOf(blobId);
      if (!path) return true;
      const existed = statSync(path, { throwIfNoEntry: false }) !== undefined;
      const gone = this.removeUnreferencedSync(blobId);
      if (gone && existed) removed++;
      return gone;
    };
    let batch: string[] = [];
    for await (const blobId of this.storedIds()) {
      batch.push(blobId);
      if (batch.length >= SWEEP_BATCH) {
        await visit(batch, removeUnreferenced);
        batch = [];
      }
    }
    if (batch.length > 0) await visit(batch, removeUnreferenced);
    return removed;
  }

  confirmSync(staged: StagedBlob): void {
    const path = this.requirePath(staged.blobId);
    if (statSync(path, { throwIfNoEntry: false })) return;
    // Removed by a sweep or delete of another process after our commit: our hold still has the bytes.
    const hold = this.holds.get(staged.blobId)?.[0];
    if (hold === undefined) throw new StoreError('STORE_UNAVAILABLE', `Message body ${staged.blobId} is gone`);
    try {
      mkdirSync(dirname(path), { recursive: true, mode: 0o750 });
      linkSync(hold, path);
      fsyncDirSync(dirname(path));
    } catch (err) {
      throw fileError(err);
    }
  }

  removeUnreferencedSync(blobId: string): boolean {
    const path = this.pathOf(blobId);
    if (!path) return true;
    try {
      const found = statSync(path, { throwIfNoEntry: false });
      if (!found) return true;
      if (found.nlink > 1) return false; // a writer holds it: its append will reference it or release it
      unlinkSync(path);
      return true;
    } catch (err) {
      if (isMissing(err)) return true;
      throw fileError(err);
    }
  }

  hasSync(blobId: string): boolean {
    const path = this.pathOf(blobId);
    return path !== null && statSync(path, { throwIfNoEntry: false }) !== undefined;
  }

  importSync(blobId: string, content: Buffer): void {
    const path = this.requirePath(blobId);
    if (statSync(path, { throwIfNoEntry: false })) return;
    const tmp = this.tmpPath();
    try {
      const fd = openSync(tmp, 'wx', 0o640);
      try {
        for (let at = 0; at < content.length; ) at += writeSync(fd, content, at);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      mkdirSync(dirname(path), { recursive: true, mode: 0o750 });
      try {
        linkSync(tmp, path);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      this.unsyncedDirs.add(dirname(path));
      this.unsyncedDirs.add(dirname(dirname(path)));
    } catch (err) {
      throw fileError(err);
    } finally {
      try {
        unlinkSync(tmp);
      } catch {
        // Never created, or already gone: nothing to clean.
      }
    }
  }

  /** Syncs the directories importSync added names to; call before committing what refers to them. */
  flushImportsSync(): void {
    for (const dir of this.unsyncedDirs) fsyncDirSync(dir);
    if (this.unsyncedDirs.size > 0) fsyncDirSync(this.root);
    this.unsyncedDirs.clear();
  }

  // ------------------------------------------------------------ for the writer

  /** The final path of a blob id, or null for an id that cannot name a file here. */
  pathOf(blobId: string): string | null {
    if (!BLOB_ID.test(blobId)) return null;
    const shard = (blobId + '____').toLowerCase();
    return join(this.root, shard.slice(0, 2), shard.slice(2, 4), blobId);
  }

  requirePath(blobId: string): string {
    const path = this.pathOf(blobId);
    if (!path) throw new StoreError('STORE_UNAVAILABLE', 'Invalid blob id');
    return path;
  }

  tmpPath(): string {
    return join(this.root, TMP_DIR, `${process.pid}-${INSTANCE}-${randomBytes(8).toString('hex')}`);
  }

  /** A hold of this store's writers on the body (the path a store in another thread is lent for confirmSync). */
  holdOf(blobId: string): string | undefined {
    return this.holds.get(blobId)?.[0];
  }

  /** Ends a lent hold's entry without removing the file: the thread that wrote the body releases it. */
  forgetHold(blobId: string, hold: string): void {
    const held = this.holds.get(blobId);
    const at = held?.indexOf(hold) ?? -1;
    if (!held || at < 0) return;
    held.splice(at, 1);
    if (held.length === 0) this.holds.delete(blobId);
  }

  addHold(blobId: string, hold: string): void {
    const held = this.holds.get(blobId);
    if (held) held.push(hold);
    else this.holds.set(blobId, [hold]);
  }

  // ------------------------------------------------------------------ private

  private async openFile(blobId: string): Promise<FileHandle | null> {
    const path = this.pathOf(blobId);
    if (!path) return null;
    try {
      return await open(path, 'r');
    } catch (err) {
      if (isMissing(err)) return null;
      throw fileError(err);
    }
  }

  /** Partial bodies and holds of writers whose process is gone (a crash, a kill). */
  private async removeDeadWriters(): Promise<void> {
    const dir = await opendir(join(this.root, TMP_DIR));
    for await (const entry of dir) {
      const path = join(this.root, TMP_DIR, entry.name);
      const [pidText, instance] = entry.name.split('-');
      const pid = Number(pidText);
      try {
        if (instance === INSTANCE) continue; // ours: a writer of this process may be running
        // Same pid, other instance: a process before us, if the name (its ctime: link and write update it) is older than we are.
        if (pid === process.pid ? (await stat(path)).ctimeMs >= (this.options.startedAtMs ?? PROCESS_STARTED_MS) : isAlive(pid)) continue;
        await unlink(path);
      } catch (err) {
        if (!isMissing(err)) throw fileError(err);
      }
    }
  }

  /** Every stored blob id, one shard directory at a time (never the whole listing in memory). */
  private async *storedIds(): AsyncGenerator<string> {
    for await (const top of await opendir(this.root)) {
      if (!top.isDirectory() || top.name === TMP_DIR) continue;
      for await (const mid of await opendir(join(this.root, top.name))) {
        if (!mid.isDirectory()) continue;
        for await (const file of await opendir(join(this.root, top.name, mid.name))) {
          if (file.isFile() && BLOB_ID.test(file.name)) yield file.name;
        }
      }
    }
  }
}

/**
 * A whole file through the callback API: for the many small reads of a full
 * download (FETCH BODY[], POP3 RETR), fs/promises' readFile spends several
 * times the main-thread CPU (a FileHandle per read, promise hops per step).
 */
function readWhole(path: string): Promise<Buffer> {
  return new Promise((resolve, reject) => readFileCallback(path, (err, data) => (err ? reject(err) : resolve(data))));
}
