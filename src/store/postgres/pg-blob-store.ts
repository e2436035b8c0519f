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
 *
 * Round trips: a body smaller than one chunk (most mail) is never staged: it
 * is in memory when committed, so one statement writes its row, its chunk
 * and the hold, and this node keeps its bytes until release (the summary
 * and an early FETCH read them from memory). Releasing is one statement
 * when a message names the body (the usual case).
 */
import { createHash, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import type { BlobStore, BlobWriter, StagedBlob, SweepVisitor } from '../blob-store.js';
import { Pop3SizeCounter } from '../pop3-size.js';
import { StoreError } from '../types.js';
import { type PgDb, prepared, type Queryable } from './db.js';
import { CHUNK_BYTES } from './schema.js';

const SWEEP_BATCH = 256;
/** Bytes of held small bodies this node keeps in memory at most (beyond that, reads go to the database). */
const HELD_BYTES_MAX = 16 * 1024 * 1024;

/**
 * Body writes commit without waiting for their WAL flush (synchronous_commit
 * off for that transaction only, set by this CTE, which each statement joins
 * so that it runs). Nothing is lost by it: WAL is one sequence, so the
 * synchronous COMMIT of the message that names a body (appendStaged, after
 * this commit returned) flushes the body's records with its own, and a body
 * lost in a database crash before that was never named by an acknowledged
 * message. It saves a WAL flush per delivery, and one per 256 KiB chunk.
 */
const NO_FLUSH = `nosync AS (SELECT set_config('synchronous_commit', 'off', true) AS off)`;

/**
 * Inserted, or locked when another writer stored identical bytes first
 * (xmax = 0 only for a fresh row). Shared by both commit paths.
 */
const UPSERT_BLOB = `INSERT INTO blobs (id, size, chunk_bytes, refcount) VALUES ($1, $2, $3, 0)
  ON CONFLICT (id) DO UPDATE SET size = blobs.size RETURNING (xmax = 0) AS inserted`;

/** A body in memory: its row, its one chunk (when new and not empty) and this node's hold, in one statement. */
const COMMIT_WHOLE = prepared(
  'blob_commit_whole',
  `WITH ${NO_FLUSH}, b AS (${UPSERT_BLOB}),
    k AS (INSERT INTO blob_chunks (blob_id, seq, data) SELECT $1, 0, $4::bytea FROM b WHERE b.inserted AND $2::bigint > 0)
  INSERT INTO blob_holds (blob_id, node_id) SELECT $1, $5 FROM b, nosync RETURNING id`,
);

/**
 * A staged body: its chunks renamed to the address (or dropped when the bytes
 * were there already), the staging row gone, this node's hold added. `moved`
 * tells the caller whether every chunk was still there.
 */
const COMMIT_STAGED = `WITH ${NO_FLUSH}, b AS (${UPSERT_BLOB}),
  st AS (DELETE FROM blob_staging WHERE id = $4),
  mv AS (UPDATE blob_chunks SET blob_id = $1 WHERE blob_id = $4 AND (SELECT inserted FROM b) RETURNING seq),
  dl AS (DELETE FROM blob_chunks WHERE blob_id = $4 AND NOT (SELECT inserted FROM b)),
  h AS (INSERT INTO blob_holds (blob_id, node_id) SELECT $1, $5 FROM b RETURNING id)
  SELECT (SELECT inserted FROM b) AS inserted, (SELECT count(*) FROM mv)::int AS moved, (SELECT id FROM h) AS hold
  FROM nosync`;

/** The first chunk of a staged body with the staging row that tells recover() whose it is. */
const STAGE_FIRST_CHUNK = prepared(
  'blob_stage_first',
  `WITH ${NO_FLUSH}, st AS (INSERT INTO blob_staging (id, node_id) SELECT $1, $4 FROM nosync)
  INSERT INTO blob_chunks (blob_id, seq, data) SELECT $1, $2, $3 FROM nosync`,
);
const STAGE_CHUNK = prepared('blob_stage_chunk', `WITH ${NO_FLUSH} INSERT INTO blob_chunks (blob_id, seq, data) SELECT $1, $2, $3 FROM nosync`);

/**
 * Ends one hold of a body that a message names, in one statement: the blob
 * row is locked first (the lock order of appends and expunges) and the hold
 * goes only if the count, as locked, is above zero, so an expunge dropping the
 * last reference later sees the hold gone and drops the body itself. No row:
 * the body is gone; `released` 0: nothing names it, see release(). (Not
 * flushed either: a hold that a database crash brings back goes with this node.)
 */
const RELEASE_REFERENCED = prepared(
  'blob_release_referenced',
  `WITH ${NO_FLUSH}, b AS (SELECT refcount FROM blobs WHERE id = $1 FOR UPDATE),
    h AS (DELETE FROM blob_holds WHERE id = $2 AND (SELECT refcount FROM b) > 0 RETURNING id)
  SELECT (SELECT count(*) FROM h)::int AS released FROM b, nosync`,
);

/** Bodies no message names and no hold protects, with their chunks, in one statement (so never one without the other). */
const DROP_UNUSED = `WITH gone AS (
    DELETE FROM blobs b WHERE b.id = ANY($1::text[]) AND b.refcount <= 0
      AND NOT EXISTS (SELECT 1 FROM blob_holds h WHERE h.blob_id = b.id) RETURNING b.id
  ), k AS (DELETE FROM blob_chunks WHERE blob_id IN (SELECT id FROM gone))
  SELECT id FROM gone`;

/** What this node holds of one blob: its hold rows, and the bytes when small enough to keep. */
interface Held {
  holds: number[];
  data: Buffer | null;
}

export class PgBlobStore implements BlobStore {
  /** This node's holds by blob id (from commit to release). */
  private readonly held = new Map<string, Held>();
  private heldBytes = 0;

  constructor(
    private readonly db: PgDb,
    /** This store instance's row in store_nodes: owner of its staging writes and holds. */
    private readonly nodeId: string,
  ) {}

  createWriter(): BlobWriter {
    return new PgBlobWriter(this.db, this.nodeId, (blobId, holdId, data) => this.hold(blobId, holdId, data));
  }

  private hold(blobId: string, holdId: number, data: Buffer | null): void {
    let entry = this.held.get(blobId);
    if (!entry) this.held.set(blobId, (entry = { holds: [], data: null }));
    entry.holds.push(holdId);
    if (entry.data === null && data !== null && this.heldBytes + data.length <= HELD_BYTES_MAX) {
      entry.data = data;
      this.heldBytes += data.length;
    }
  }

  /** The bytes of a body this node holds in memory, if any: immutable (content-addressed) and alive while held. */
  private heldData(blobId: string): Buffer | null {
    return this.held.get(blobId)?.data ?? null;
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
    const data = this.heldData(blobId);
    if (data) return bytesStream(data.subarray(Math.max(0, Math.min(start, data.length)), Math.max(0, Math.min(end, data.length))));
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
    const data = this.heldData(blobId);
    if (data) return data.length;
    const r = await this.db.query<{ size: number }>('SELECT size FROM blobs WHERE id = $1', [blobId]);
    return r.rows[0]?.size ?? null;
  }

  async read(blobId: string): Promise<Buffer | null> {
    const data = this.heldData(blobId);
    if (data) return Buffer.from(data);
    // One statement: one snapshot for the row and its chunks.
    const r = await this.db.query<{ data: Buffer | null }>(
      'SELECT k.data FROM blobs b LEFT JOIN blob_chunks k ON k.blob_id = b.id WHERE b.id = $1 ORDER BY k.seq',
      [blobId],
    );
    if (r.rows.length === 0) return null;
    return Buffer.concat(r.rows.flatMap((row) => (row.data ? [row.data] : [])));
  }

  async delete(blobId: string): Promise<void> {
    await this.db.query(
      'WITH gone AS (DELETE FROM blobs WHERE id = $1 RETURNING id) DELETE FROM blob_chunks WHERE blob_id IN (SELECT id FROM gone)',
      [blobId],
    );
  }

  async release(staged: StagedBlob): Promise<void> {
    const entry = this.held.get(staged.blobId);
    const holdId = entry?.holds.pop();
    if (entry && entry.holds.length === 0) {
      this.held.delete(staged.blobId);
      if (entry.data) this.heldBytes -= entry.data.length;
    }
    // Released already (each commit is released once), or never committed here: nothing to end.
    if (holdId === undefined) return;
    try {
      const r = await this.db.query<{ released: number }>(RELEASE_REFERENCED, [staged.blobId, holdId]);
      if (r.rows.length === 0 || r.rows[0].released > 0) return;
      // Nothing names it: the hold and the body go together, so that no body is ever left with
      // neither a reference nor a hold (recover() looks only at holds of dead nodes).
      await this.db.write(async (c) => {
        const blob = await c.query('SELECT refcount FROM blobs WHERE id = $1 FOR UPDATE', [staged.blobId]);
        if (blob.rows.length === 0) return;
        await c.query('DELETE FROM blob_holds WHERE id = $1', [holdId]);
        await dropUnused(c, [staged.blobId]);
      });
    } catch {
      // The body stays until recover() finds its hold's node gone.
    }
  }

  /**
   * Bodies no message names and no hold protects, in batches; `visit`
   * confirms each (its remove returns false for a held one). This serves the
   * interface; recover() on the mail store needs no such walk (see there).
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
  const gone = await c.query<{ id: string }>(DROP_UNUSED, [blobIds]);
  return gone.rows.map((r) => r.id);
}

/** A byte stream (not object mode, as the database's) of bytes in memory. */
function bytesStream(bytes: Buffer): Readable {
  return new Readable({
    read() {
      if (bytes.length > 0) this.push(bytes);
      this.push(null);
    },
  });
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
    /** Told of each commit: the hold row this node now has, and the bytes when the body was in memory whole. */
    private readonly onHold: (blobId: string, holdId: number, data: Buffer | null) => void,
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
      const blobId = this.registered ? await this.commitStaged() : await this.commitWhole();
      return { blobId, size: this.size, pop3Size: this.pop3.total() };
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

  /** Less than one chunk, all in memory: nothing was staged, one statement stores it (autocommit). */
  private async commitWhole(): Promise<string> {
    const data = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending);
    this.pending = [];
    this.pendingBytes = 0;
    const blobId = this.hash.digest('hex');
    const r = await this.db.query<{ id: number }>(COMMIT_WHOLE, [blobId, this.size, CHUNK_BYTES, data, this.nodeId]);
    this.onHold(blobId, r.rows[0].id, data);
    return blobId;
  }

  /** Chunks written under the staging id: the last one, then the rename, in one transaction. */
  private async commitStaged(): Promise<string> {
    while (this.pendingBytes > 0) await this.flush(Math.min(CHUNK_BYTES, this.pendingBytes));
    const blobId = this.hash.digest('hex');
    const hold = await this.db.write(async (c) => {
      const r = await c.query<{ inserted: boolean; moved: number; hold: number }>(COMMIT_STAGED, [
        blobId,
        this.size,
        CHUNK_BYTES,
        this.stagingId,
        this.nodeId,
      ]);
      const { inserted, moved } = r.rows[0];
      // Another node's recover() took this node for dead and removed what it had staged:
      // storing the row without its bytes would lose the message, so the commit fails (and rolls back).
      if (inserted && moved !== this.seq) {
        throw new StoreError('STORE_UNAVAILABLE', `Message body ${blobId} lost ${this.seq - moved} of ${this.seq} chunks while being written`);
      }
      return r.rows[0].hold;
    });
    this.registered = false; // nothing staged is left to discard
    this.onHold(blobId, hold, null);
    return blobId;
  }

  private async discard(): Promise<void> {
    if (!this.registered) return;
    this.registered = false;
    try {
      await this.db.query('WITH st AS (DELETE FROM blob_staging WHERE id = $1) DELETE FROM blob_chunks WHERE blob_id = $1', [
        this.stagingId,
      ]);
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
      this.registered = true;
      await this.db.query(STAGE_FIRST_CHUNK, [this.stagingId, this.seq++, data, this.nodeId]);
      return;
    }
    await this.db.query(STAGE_CHUNK, [this.stagingId, this.seq++, data]);
  }
}
