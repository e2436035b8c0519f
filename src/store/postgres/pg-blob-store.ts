/**
 * Message bodies in PostgreSQL, so that every node sees every body: chunks
 * of CHUNK_BYTES in `blob_chunks`, written while the body arrives under a
 * staging id and renamed to the sha256 address at commit (a cheap UPDATE:
 * the TOASTed bytes are not rewritten). A ranged read fetches one chunk at a
 * time, only those overlapping the range, as the consumer drains the stream.
 *
 * Unlike the file store, body and metadata share one database: a body whose
 * last reference goes is deleted in the same transaction as the message
 * rows (dropUnused), and a commit's hold is a row (blob_holds) owned by this
 * node, so recover() on any node can tell a live writer's body from a dead
 * node's leftovers by the owner's heartbeat.
 */
import { createHash, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import type { BlobStore, BlobWriter, StagedBlob, SweepVisitor } from '../blob-store.js';
import { Pop3SizeCounter } from '../pop3-size.js';
import { StoreError } from '../types.js';
import type { PgDb, Queryable } from './db.js';
import { CHUNK_BYTES } from './schema.js';

const SWEEP_BATCH = 256;

export class PgBlobStore implements BlobStore {
  constructor(
    private readonly db: PgDb,
    /** This store instance's row in store_nodes: owner of its staging writes and holds. */
    private readonly nodeId: string,
  ) {}

  createWriter(): BlobWriter {
    return new PgBlobWriter(this.db, this.nodeId);
  }

  async put(content: Buffer): Promise<StagedBlob> {
    const writer = this.createWriter();
    try {
      for (let at = 0; at < content.length; at += CHUNK_BYTES) await writer.write(content.subarray(at, at + CHUNK_BYTES));
      return await writer.commit();
    } catch (err) {
      await writer.abort();
      throw err;
    }
  }

  async openRange(blobId: string, start: number, end: number): Promise<Readable | null> {
    const r = await this.db.query<{ size: number; chunk_bytes: number }>('SELECT size, chunk_bytes FROM blobs WHERE id = $1', [blobId]);
    if (r.rows.length === 0) return null;
    const { size, chunk_bytes: chunkBytes } = r.rows[0];
    const from = Math.max(0, Math.min(start, size));
    const to = Math.max(from, Math.min(end, size));
    let at = from;
    let reading = false;
    const db = this.db;
    return new Readable({
      // One chunk in flight at most: the next query starts only when the consumer asks for more.
      highWaterMark: chunkBytes,
      read() {
        if (reading) return;
        if (at >= to) {
          this.push(null);
          return;
        }
        reading = true;
        const seq = Math.floor(at / chunkBytes);
        const offset = at - seq * chunkBytes;
        const length = Math.min(to - at, chunkBytes - offset);
        db.query<{ d: Buffer }>('SELECT substring(data FROM $3 FOR $4) AS d FROM blob_chunks WHERE blob_id = $1 AND seq = $2', [
          blobId,
          seq,
          offset + 1,
          length,
        ]).then(
          (res) => {
            reading = false;
            const data = res.rows[0]?.d;
            if (!data || data.length !== length) {
              this.destroy(new StoreError('STORE_UNAVAILABLE', `Message body ${blobId} is gone`));
              return;
            }
            at += length;
            this.push(data);
            if (at >= to) this.push(null);
          },
          (err: unknown) => {
            reading = false;
            this.destroy(err as Error);
          },
        );
      },
    });
  }

  async size(blobId: string): Promise<number | null> {
    const r = await this.db.query<{ size: number }>('SELECT size FROM blobs WHERE id = $1', [blobId]);
    return r.rows[0]?.size ?? null;
  }

  async read(blobId: string): Promise<Buffer | null> {
    return this.db.read(async (c) => {
      const r = await c.query<{ size: number }>('SELECT size FROM blobs WHERE id = $1', [blobId]);
      if (r.rows.length === 0) return null;
      const chunks = await c.query<{ data: Buffer }>('SELECT data FROM blob_chunks WHERE blob_id = $1 ORDER BY seq', [blobId]);
      return Buffer.concat(chunks.rows.map((row) => row.data));
    });
  }

  async delete(blobId: string): Promise<void> {
    await this.db.write(async (c) => {
      await c.query('DELETE FROM blobs WHERE id = $1', [blobId]);
      await c.query('DELETE FROM blob_chunks WHERE blob_id = $1', [blobId]);
    });
  }

  async release(staged: StagedBlob): Promise<void> {
    try {
      await this.db.write(async (c) => {
        // The blob row first: the same lock order as appends and expunges.
        const blob = await c.query('SELECT refcount FROM blobs WHERE id = $1 FOR UPDATE', [staged.blobId]);
        if (blob.rows.length === 0) return;
        await c.query(
          'DELETE FROM blob_holds WHERE id = (SELECT id FROM blob_holds WHERE blob_id = $1 AND node_id = $2 LIMIT 1)',
          [staged.blobId, this.nodeId],
        );
        await dropUnused(c, [staged.blobId]);
      });
    } catch {
      // The body stays until recover() finds it unreferenced and its hold's node gone.
    }
  }

  /**
   * Bodies no message names and no hold protects, in batches; `visit`
   * confirms each (its remove returns false for a held one). recover() on
   * the mail store does the same work in SQL; this serves the interface.
   */
  async sweep(visit: SweepVisitor): Promise<number> {
    let removed = 0;
    let after = '';
    for (;;) {
      const page = await this.db.query<{ id: string; held: boolean }>(
        `SELECT b.id, EXISTS (SELECT 1 FROM blob_holds h WHERE h.blob_id = b.id) AS held
           FROM blobs b WHERE b.id > $1 AND b.refcount <= 0 ORDER BY b.id LIMIT $2`,
        [after, SWEEP_BATCH],
      );
      if (page.rows.length === 0) return removed;
      const held = new Set(page.rows.filter((r) => r.held).map((r) => r.id));
      const chosen: string[] = [];
      await visit(
        page.rows.map((r) => r.id),
        (blobId) => {
          if (held.has(blobId)) return false;
          chosen.push(blobId);
          return true;
        },
      );
      if (chosen.length > 0) removed += (await this.db.write((c) => dropUnused(c, chosen))).length;
      after = page.rows[page.rows.length - 1].id;
    }
  }
}

/**
 * Inside the caller's transaction: deletes the listed blobs that no message
 * names and no hold protects, with their chunks. Returns their ids.
 */
export async function dropUnused(c: Queryable, blobIds: string[]): Promise<string[]> {
  if (blobIds.length === 0) return [];
  const gone = await c.query<{ id: string }>(
    `DELETE FROM blobs b WHERE b.id = ANY($1::text[]) AND b.refcount <= 0
       AND NOT EXISTS (SELECT 1 FROM blob_holds h WHERE h.blob_id = b.id) RETURNING b.id`,
    [blobIds],
  );
  const ids = gone.rows.map((r) => r.id);
  if (ids.length > 0) await c.query('DELETE FROM blob_chunks WHERE blob_id = ANY($1::text[])', [ids]);
  return ids;
}

class PgBlobWriter implements BlobWriter {
  size = 0;
  private readonly hash = createHash('sha256');
  private readonly pop3 = new Pop3SizeCounter();
  private readonly stagingId = `s:${randomUUID()}`;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private seq = 0;
  private registered = false;
  private state: 'open' | 'failed' | 'done' = 'open';

  constructor(
    private readonly db: PgDb,
    private readonly nodeId: string,
  ) {}

  async write(chunk: Buffer): Promise<void> {
    if (this.state !== 'open') throw new Error('BlobWriter: write after a failed write, commit or abort');
    try {
      this.hash.update(chunk);
      this.pop3.push(chunk);
      this.size += chunk.length;
      this.pending.push(Buffer.from(chunk));
      this.pendingBytes += chunk.length;
      // Awaiting each full chunk's INSERT is the backpressure: memory holds at most about one chunk.
      while (this.pendingBytes >= CHUNK_BYTES) await this.flush(CHUNK_BYTES);
    } catch (err) {
      this.state = 'failed';
      throw err;
    }
  }

  async commit(): Promise<StagedBlob> {
    if (this.state !== 'open') throw new Error('BlobWriter: commit after a failed write, commit or abort');
    this.state = 'done';
    try {
      while (this.pendingBytes > 0) await this.flush(Math.min(CHUNK_BYTES, this.pendingBytes));
      const blobId = this.hash.digest('hex');
      const size = this.size;
      await this.db.write(async (c) => {
        // Inserted, or locked when another writer stored identical bytes first (xmax = 0 only for a fresh row).
        const row = await c.query<{ inserted: boolean }>(
          `INSERT INTO blobs (id, size, chunk_bytes, refcount) VALUES ($1, $2, $3, 0)
             ON CONFLICT (id) DO UPDATE SET size = blobs.size RETURNING (xmax = 0) AS inserted`,
          [blobId, size, CHUNK_BYTES],
        );
        if (row.rows[0].inserted) await c.query('UPDATE blob_chunks SET blob_id = $1 WHERE blob_id = $2', [blobId, this.stagingId]);
        else await c.query('DELETE FROM blob_chunks WHERE blob_id = $1', [this.stagingId]);
        await c.query('DELETE FROM blob_staging WHERE id = $1', [this.stagingId]);
        await c.query('INSERT INTO blob_holds (blob_id, node_id) VALUES ($1, $2)', [blobId, this.nodeId]);
      });
      return { blobId, size, pop3Size: this.pop3.total() };
    } catch (err) {
      await this.discard();
      throw err;
    }
  }

  async abort(): Promise<void> {
    this.state = 'done';
    this.pending = [];
    this.pendingBytes = 0;
    await this.discard();
  }

  private async discard(): Promise<void> {
    if (!this.registered) return;
    this.registered = false;
    try {
      await this.db.write(async (c) => {
        await c.query('DELETE FROM blob_chunks WHERE blob_id = $1', [this.stagingId]);
        await c.query('DELETE FROM blob_staging WHERE id = $1', [this.stagingId]);
      });
    } catch {
      // recover() removes staging rows of nodes that are gone; this node's stay until it restarts.
    }
  }

  private async flush(bytes: number): Promise<void> {
    const all = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending);
    const data = all.subarray(0, bytes);
    const rest = all.subarray(bytes);
    this.pending = rest.length > 0 ? [rest] : [];
    this.pendingBytes = rest.length;
    if (!this.registered) {
      await this.db.query('INSERT INTO blob_staging (id, node_id) VALUES ($1, $2)', [this.stagingId, this.nodeId]);
      this.registered = true;
    }
    await this.db.query('INSERT INTO blob_chunks (blob_id, seq, data) VALUES ($1, $2, $3)', [this.stagingId, this.seq++, data]);
  }
}
