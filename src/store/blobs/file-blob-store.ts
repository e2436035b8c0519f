/**
 * The embedded blob store: one file per body under `<data-dir>/blobs`, named
 * by its sha256 (`blobs/ab/cd/<sha256>`), so identical content is stored once.
 *
 * A writer fills a temporary file in `blobs/tmp/` (same filesystem), hashing
 * on the way; commit links it under its final name, then fsyncs the file and
 * the directory at once (one sync's wait per body instead of two in a row).
 * So a name may exist before its bytes are durable: nobody trusts a name
 * before a sync of its bytes has completed after they were written. A writer
 * or `put` that finds its content stored already holds that file and syncs it
 * and its directory itself before it returns (its writer, here or in another
 * process, may still be syncing, or may have died before it could); after a
 * power cut, a name whose bytes were never synced is unreferenced (no commit
 * named it) and the recovery sweep removes it.
 *
 * With `deferUpTo` (the SQLite worker store), a small body is not synced nor
 * named by its writer: its bytes go with the metadata commit
 * (`StagedBlob.pending`), and the store moves it to its file afterwards
 * (`linkPendingSync` from the synced temporary file; `adoptSync` at recovery).
 *
 * The temporary name stays as a second hard link, the writer's
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
import { closeSync, fsyncSync, linkSync, mkdirSync, openSync, readFile as readFileCallback, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
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

export interface FileBlobStoreOptions {
  /** When this process started (tests move it to stand for a restart under the same pid). */
  startedAtMs?: number;
  /** Syncs an open body file (tests observe the order of syncs). */
  syncFile?: (handle: FileHandle) => Promise<void>;
  /** Syncs a directory (tests, as above); concurrent callers share syncs through DirSyncs. */
  syncDir?: (dir: string) => Promise<void>;
  /**
   * Bodies up to this many octets are not synced by their writer's commit but
   * handed on as `StagedBlob.pending` (0: never). Only for a metadata store
   * that commits pending bytes and moves them to their file afterwards (the
   * SQLite worker store).
   */
  deferUpTo?: number;
}

export class FileBlobStore implements LocalBlobStore {
  /** Holds of this process's committed writers, by blob id (a body written twice has two). */
  private readonly holds = new Map<string, string[]>();
  /** Directory syncs of this store's writers, shared when they coincide. */
  readonly dirSyncs: DirSyncs;
  /** Directories given new names by importSync, synced together by flushImportsSync. */
  private readonly unsyncedDirs = new Set<string>();
  /**
   * Pending bodies of this store's writers (StagedBlob.pending), readable
   * here until their file is in place: the bytes, and the temporary files
   * of the commits that produced them, not yet claimed by a move.
   */
  private readonly pendings = new Map<string, { bytes: Buffer; unclaimed: string[]; open: number }>();

  constructor(
    readonly root: string,
    private readonly options: FileBlobStoreOptions = {},
  ) {
    mkdirSync(join(root, TMP_DIR), { recursive: true, mode: 0o750 });
    this.dirSyncs = new DirSyncs(options.syncDir);
  }

  createWriter(): BlobWriter {
    return new FileBlobWriter(this, this.tmpPath());
  }

  /**
   * When the body is stored already (another recipient, a copy), holds it without writing it again; a
   * small body of a deferring store is written and handed on pending either way (see deferUpTo).
   */
  async put(content: Buffer): Promise<StagedBlob> {
    const blobId = createHash('sha256').update(content).digest('hex');
    if (content.length > this.deferUpTo) {
      const found = await this.holdStored(blobId, content);
      if (found) return found;
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

  /** Octets up to which a writer defers its sync (FileBlobStoreOptions.deferUpTo). */
  get deferUpTo(): number {
    return this.options.deferUpTo ?? 0;
  }

  private async holdStored(blobId: string, content: Buffer): Promise<StagedBlob | null> {
    const path = this.requirePath(blobId);
    const hold = this.tmpPath();
    try {
      await link(path, hold);
    } catch (err) {
      if (isMissing(err)) return null;
      throw fileError(err);
    }
    try {
      await this.syncHeld(hold, dirname(path));
    } catch (err) {
      await unlink(hold).catch(() => {});
      throw fileError(err);
    }
    this.addHold(blobId, hold);
    return { blobId, size: content.length, pop3Size: pop3SizeOf(content) };
  }

  async openRange(blobId: string, start: number, end: number): Promise<Readable | null> {
    const pending = this.unreleased(blobId);
    if (pending) return rangeOf(pending, start, end);
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
    const pending = this.unreleased(blobId);
    if (pending) return pending.length;
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
    const pending = this.unreleased(blobId);
    if (pending) return Buffer.from(pending);
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
      this.writeSyncedSync(tmp, content);
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

  /**
   * Names a pending body by renaming the writer's synced temporary file to
   * its content address (LocalBlobStore.linkPendingSync): no second name is
   * left to keep it from a later removal. A file already there has the same
   * bytes and is replaced by synced ones.
   */
  linkPendingSync(blobId: string, tmp: string): string[] {
    const path = this.requirePath(blobId);
    const dir = dirname(path);
    try {
      const created = mkdirSync(dir, { recursive: true, mode: 0o750 });
      renameSync(tmp, path);
      return created === undefined ? [dir] : [dir, dirname(dir), this.root];
    } catch (err) {
      throw fileError(err);
    }
  }

  adoptSync(blobId: string, content: Buffer): void {
    const path = this.requirePath(blobId);
    let same = false;
    try {
      same = readFileSync(path).equals(content);
    } catch (err) {
      if (!isMissing(err)) throw fileError(err);
    }
    if (same) {
      // Its writer's sync may not have completed before the crash: ours makes it durable.
      const fd = openSync(path, 'r');
      try {
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      this.unsyncedDirs.add(dirname(path));
      return;
    }
    const tmp = this.tmpPath();
    try {
      this.writeSyncedSync(tmp, content);
      mkdirSync(dirname(path), { recursive: true, mode: 0o750 });
      renameSync(tmp, path);
      this.unsyncedDirs.add(dirname(path));
      this.unsyncedDirs.add(dirname(dirname(path)));
    } catch (err) {
      try {
        unlinkSync(tmp);
      } catch {
        // Never created, or renamed.
      }
      throw fileError(err);
    }
  }

  // ------------------------------------------------------------ for the writer

  /** A writer's commit handed its body on pending: readable here until its move ends (endPending). */
  addPending(blobId: string, tmp: string, bytes: Buffer): void {
    const entry = this.pendings.get(blobId);
    if (entry) {
      entry.unclaimed.push(tmp);
      entry.open++;
    } else {
      this.pendings.set(blobId, { bytes, unclaimed: [tmp], open: 1 });
    }
  }

  /**
   * The bytes of a pending body while a commit of it is not released yet (its
   * summary is computed, its append runs). Once released, reads go to the
   * file or the committed bytes, which follow removals.
   */
  private unreleased(blobId: string): Buffer | null {
    const entry = this.pendings.get(blobId);
    return entry && entry.unclaimed.length > 0 ? entry.bytes : null;
  }

  /** The temporary file of one commit of that pending body, for its move (once per commit). */
  claimPending(blobId: string): string | undefined {
    return this.pendings.get(blobId)?.unclaimed.pop();
  }

  /** The move of one claimed commit ended (its file is in place, or its bytes stay in the database). */
  endPending(blobId: string): void {
    const entry = this.pendings.get(blobId);
    if (entry && --entry.open <= 0) this.pendings.delete(blobId);
  }

  /** Syncs a body file open for writing. */
  syncFile(handle: FileHandle): Promise<void> {
    return this.options.syncFile ? this.options.syncFile(handle) : handle.sync();
  }

  /**
   * Makes a body found under its content address durable before it is
   * trusted: its bytes (through our hold, the same file) and its name. Its
   * writer may still be syncing it, or may have died before it could.
   */
  async syncHeld(hold: string, dir: string): Promise<void> {
    const syncBytes = async () => {
      const handle = await open(hold, 'r');
      try {
        await this.syncFile(handle);
      } finally {
        await handle.close();
      }
    };
    await Promise.all([syncBytes(), this.dirSyncs.sync(dir)]);
  }

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

  /** A new file with these bytes, synced (importSync, adoptSync). */
  private writeSyncedSync(path: string, content: Buffer): void {
    const fd = openSync(path, 'wx', 0o640);
    try {
      for (let at = 0; at < content.length; ) at += writeSync(fd, content, at);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }

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

/** Bytes [start, end) of a body held in memory, clamped, as a byte stream. */
function rangeOf(bytes: Buffer, start: number, end: number): Readable {
  const from = Math.max(0, Math.min(start, bytes.length));
  const to = Math.max(from, Math.min(end, bytes.length));
  return Readable.from(from === to ? [] : [bytes.subarray(from, to)], { objectMode: false });
}

/**
 * A whole file through the callback API: for the many small reads of a full
 * download (FETCH BODY[], POP3 RETR), fs/promises' readFile spends several
 * times the main-thread CPU (a FileHandle per read, promise hops per step).
 */
function readWhole(path: string): Promise<Buffer> {
  return new Promise((resolve, reject) => readFileCallback(path, (err, data) => (err ? reject(err) : resolve(data))));
}
