/**
 * The writer of one body into the file blob store: a temporary file in
 * `blobs/tmp/`, hashed on the way; commit syncs it, gives it its content
 * address with a hard link, syncs the directory, and keeps the temporary name
 * as the writer's hold (see file-blob-store.ts).
 */
import { createHash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { link, mkdir, open, unlink } from 'node:fs/promises';
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

  /** `knownId`: the caller hashed the whole body already (put), so the writer does not hash it again. */
  constructor(
    private readonly store: FileBlobStore,
    private readonly tmp: string,
    private readonly knownId?: string,
  ) {}

  write(chunk: Buffer): Promise<void> {
    if (this.state !== 'open') return Promise.reject(new Error('BlobWriter: write after commit or abort'));
    const next = this.queue.then(async () => {
      const handle = await this.file();
      if (this.knownId === undefined) this.hash.update(chunk);
      else if (!Buffer.isBuffer(chunk)) throw new TypeError('BlobWriter: chunks are Buffers');
      this.size += chunk.length;
      this.pop3.push(chunk);
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
      await handle.sync();
      await handle.close();
      this.handle = null;
      const blobId = this.knownId ?? this.hash.digest('hex');
      const hold = await this.linkFinal(blobId);
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
   * Gives the synced temporary file its content address and returns the path
   * of the writer's hold. When the body is already stored, the existing file
   * is held instead (identical bytes) and ours goes.
   */
  private async linkFinal(blobId: string): Promise<string> {
    const path = this.store.requirePath(blobId);
    const dir = dirname(path);
    const created = await mkdir(dir, { recursive: true, mode: 0o750 });
    for (let attempt = 0; ; attempt++) {
      try {
        await link(this.tmp, path);
        // All synced before the commit returns; in which order does not matter, so at once (shared with
        // concurrent writers: see DirSyncs).
        const syncs = this.store.dirSyncs;
        await Promise.all(created === undefined ? [syncs.sync(dir)] : [syncs.sync(dir), syncs.sync(dirname(dir)), syncs.sync(this.store.root)]);
        return this.tmp;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const hold = this.store.tmpPath();
      try {
        await link(path, hold);
      } catch (err) {
        // Removed between our two links: try again to store ours.
        if (isMissing(err) && attempt < 3) continue;
        throw err;
      }
      await unlink(this.tmp);
      // The existing name may come from a writer that died before syncing the directory.
      await this.store.dirSyncs.sync(dir);
      return hold;
    }
  }
}
