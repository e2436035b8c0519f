/**
 * The writer of one body into the file blob store: a temporary file in
 * `blobs/tmp/`, hashed on the way; commit gives it its content address with a
 * hard link and syncs the file and the directory at once, and keeps the
 * temporary name as the writer's hold (see file-blob-store.ts for why a name
 * may precede its synced bytes).
 */
import { createHash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { link, mkdir, open, stat, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { crashPoint } from '../../observability/fault.js';
import type { BlobWriter, StagedBlob } from '../blob-store.js';
import { Pop3SizeCounter } from '../pop3-size.js';
import type { FileBlobStore } from './file-blob-store.js';
import { fileError, isMissing } from './fs-sync.js';

export class FileBlobWriter implements BlobWriter {
  size = 0;
  private readonly hash = createHash('sha256');
  private readonly pop3 = new Pop3SizeCounter();
  private handle: Promise<FileHandle> | null = null;
  private state: 'open' | 'committing' | 'done' = 'open';
  /** Writes run one after another, in call order. */
  private queue: Promise<void> = Promise.resolve();
  /** The first failed write: a commit after it must not name a partial body. */
  private failure: unknown = null;
  /** Copies of the chunks while the body is small enough to be handed on pending (deferUpTo); null past it. */
  private kept: Buffer[] | null;

  /** `knownId`: the caller hashed the whole body already (put), so the writer does not hash it again. */
  constructor(
    private readonly store: FileBlobStore,
    private readonly tmp: string,
    private readonly knownId?: string,
  ) {
    this.kept = store.deferUpTo > 0 ? [] : null;
  }

  write(chunk: Buffer): Promise<void> {
    if (this.state !== 'open') return Promise.reject(new Error('BlobWriter: write after commit or abort'));
    const next = this.queue.then(async () => {
      const handle = await this.file();
      if (this.knownId === undefined) this.hash.update(chunk);
      else if (!Buffer.isBuffer(chunk)) throw new TypeError('BlobWriter: chunks are Buffers');
      this.size += chunk.length;
      this.pop3.push(chunk);
      if (this.kept) {
        if (this.size <= this.store.deferUpTo) this.kept.push(Buffer.from(chunk));
        else this.kept = null;
      }
      for (let at = 0; at < chunk.length; ) at += (await handle.write(chunk, at, chunk.length - at)).bytesWritten;
    });
    this.queue = next.catch((err: unknown) => {
      this.failure ??= err;
    });
    return next.catch(async (err) => {
      await this.abort();
      throw fileError(err);
    });
  }

  async commit(): Promise<StagedBlob> {
    if (this.state !== 'open') throw new Error('BlobWriter: commit after commit or abort');
    this.state = 'committing';
    try {
      await this.queue;
      if (this.failure !== null) throw this.failure;
      const handle = await this.file();
      crashPoint('store.append.body-written');
      const blobId = this.knownId ?? this.hash.digest('hex');
      if (this.kept) {
        // Small: the metadata commit stores the bytes (one sync for both); the file is synced and named after it.
        const bytes = Buffer.concat(this.kept);
        this.kept = null;
        this.handle = null;
        await handle.close();
        this.store.addPending(blobId, this.tmp, bytes);
        this.state = 'done';
        crashPoint('store.append.body-fsynced');
        return { blobId, size: this.size, pop3Size: this.pop3.total(), pending: bytes };
      }
      const hold = await this.linkFinal(blobId, handle);
      this.handle = null;
      await handle.close();
      this.store.addHold(blobId, hold);
      this.state = 'done';
      crashPoint('store.append.body-fsynced');
      return { blobId, size: this.size, pop3Size: this.pop3.total() };
    } catch (err) {
      this.state = 'open';
      await this.abort();
      throw fileError(err);
    }
  }

  async abort(): Promise<void> {
    if (this.state === 'done') return;
    this.state = 'done';
    await this.queue;
    if (this.handle) {
      const handle = await this.handle.catch(() => null);
      this.handle = null;
      await handle?.close().catch(() => {});
    }
    try {
      await unlink(this.tmp);
    } catch {
      // Never created, or already removed.
    }
  }

  private file(): Promise<FileHandle> {
    this.handle ??= open(this.tmp, 'wx', 0o640);
    return this.handle;
  }

  /**
   * Gives the written temporary file its content address, syncs it and the
   * name, and returns the path of the writer's hold. When the body is already
   * stored, the existing file is held instead (identical bytes), synced as
   * well (see file-blob-store.ts), and ours goes.
   */
  private async linkFinal(blobId: string, handle: FileHandle): Promise<string> {
    const path = this.store.requirePath(blobId);
    const dir = dirname(path);
    const created = await mkdir(dir, { recursive: true, mode: 0o750 });
    for (let attempt = 0; ; attempt++) {
      let linked = false;
      try {
        await link(this.tmp, path);
        linked = true;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      if (linked) {
        // Bytes and names synced before the commit returns, all at once; directory syncs are shared with
        // concurrent writers (DirSyncs).
        const syncs = this.store.dirSyncs;
        const dirs = created === undefined ? [dir] : [dir, dirname(dir), this.store.root];
        try {
          await Promise.all([this.store.syncFile(handle), ...dirs.map((d) => syncs.sync(d))]);
        } catch (err) {
          await this.unlinkUnsynced(path);
          throw err;
        }
        return this.tmp;
      }
      const hold = this.store.tmpPath();
      try {
        await link(path, hold);
      } catch (err) {
        // Removed between our two links: try again to store ours.
        if (isMissing(err) && attempt < 3) continue;
        throw err;
      }
      try {
        await this.store.syncHeld(hold, dir);
      } catch (err) {
        await unlink(hold).catch(() => {});
        throw err;
      }
      await unlink(this.tmp);
      return hold;
    }
  }

  /**
   * A failed sync after our link: the name must not stay behind for a later
   * writer to trust, unless someone else holds it already (then that holder
   * syncs it itself before trusting it). Best effort: the sweep after a crash
   * removes a name no commit refers to.
   */
  private async unlinkUnsynced(path: string): Promise<void> {
    try {
      if ((await stat(path)).nlink <= 2) await unlink(path);
    } catch {
      // Gone already, or the disk refuses: left to the sweep.
    }
  }
}
