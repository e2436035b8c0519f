/**
 * Blobs in memory, for stores that live in memory (`:memory:` SQLite in
 * tests): the same contract as the file store, with holds counted.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { BlobWriter, LocalBlobStore, StagedBlob, SweepVisitor } from '../blob-store.js';
import { Pop3SizeCounter } from '../pop3-size.js';
import { StoreError } from '../types.js';

const READ_CHUNK_BYTES = 64 * 1024;
const SWEEP_BATCH = 256;

export class MemoryBlobStore implements LocalBlobStore {
  private readonly bodies = new Map<string, Buffer>();
  private readonly holds = new Map<string, number>();

  createWriter(): BlobWriter {
    const chunks: Buffer[] = [];
    const hash = createHash('sha256');
    const pop3 = new Pop3SizeCounter();
    let state: 'open' | 'failed' | 'done' = 'open';
    const writer = {
      size: 0,
      write: async (chunk: Buffer): Promise<void> => {
        if (state !== 'open') throw new Error('BlobWriter: write after commit or abort');
        try {
          hash.update(chunk);
        } catch (err) {
          state = 'failed';
          throw err;
        }
        chunks.push(Buffer.from(chunk));
        writer.size += chunk.length;
        pop3.push(chunk);
      },
      commit: async (): Promise<StagedBlob> => {
        if (state !== 'open') throw new Error('BlobWriter: commit after a failed write, commit or abort');
        state = 'done';
        const blobId = hash.digest('hex');
        if (!this.bodies.has(blobId)) this.bodies.set(blobId, Buffer.concat(chunks));
        this.holds.set(blobId, (this.holds.get(blobId) ?? 0) + 1);
        return { blobId, size: writer.size, pop3Size: pop3.total() };
      },
      abort: async (): Promise<void> => {
        state = 'done';
        chunks.length = 0;
      },
    };
    return writer;
  }

  async put(content: Buffer): Promise<StagedBlob> {
    const writer = this.createWriter();
    await writer.write(content);
    return writer.commit();
  }

  async openRange(blobId: string, start: number, end: number): Promise<Readable | null> {
    const body = this.bodies.get(blobId);
    if (!body) return null;
    const from = Math.max(0, Math.min(start, body.length));
    const to = Math.max(from, Math.min(end, body.length));
    function* chunks(): Generator<Buffer> {
      for (let at = from; at < to; at += READ_CHUNK_BYTES) yield body!.subarray(at, Math.min(to, at + READ_CHUNK_BYTES));
    }
    return Readable.from(chunks(), { objectMode: false });
  }

  async size(blobId: string): Promise<number | null> {
    return this.bodies.get(blobId)?.length ?? null;
  }

  async read(blobId: string): Promise<Buffer | null> {
    return this.bodies.get(blobId) ?? null;
  }

  async delete(blobId: string): Promise<void> {
    this.bodies.delete(blobId);
  }

  async release(staged: StagedBlob): Promise<void> {
    const held = (this.holds.get(staged.blobId) ?? 0) - 1;
    if (held > 0) this.holds.set(staged.blobId, held);
    else this.holds.delete(staged.blobId);
  }

  async sweep(visit: SweepVisitor): Promise<number> {
    let removed = 0;
    const ids = [...this.bodies.keys()];
    const remove = (blobId: string): boolean => {
      if (this.holds.has(blobId)) return false;
      if (this.bodies.delete(blobId)) removed++;
      return true;
    };
    for (let i = 0; i < ids.length; i += SWEEP_BATCH) await visit(ids.slice(i, i + SWEEP_BATCH), remove);
    return removed;
  }

  confirmSync(staged: StagedBlob): void {
    if (!this.bodies.has(staged.blobId)) throw new StoreError('STORE_UNAVAILABLE', `Message body ${staged.blobId} is gone`);
  }

  removeUnreferencedSync(blobId: string): boolean {
    if (this.holds.has(blobId)) return false;
    this.bodies.delete(blobId);
    return true;
  }

  hasSync(blobId: string): boolean {
    return this.bodies.has(blobId);
  }

  importSync(blobId: string, content: Buffer): void {
    if (!this.bodies.has(blobId)) this.bodies.set(blobId, Buffer.from(content));
  }

  flushImportsSync(): void {}

  linkPendingSync(): string[] {
    return [];
  }

  adoptSync(blobId: string, content: Buffer): void {
    this.bodies.set(blobId, Buffer.from(content));
  }
}
