/**
 * The blob store: message bodies by content address (sha256 hex of the
 * bytes), kept apart from the metadata so that a body is written while it
 * arrives and read as a byte range, never joined into one Buffer.
 *
 * Order for crash safety, whatever the backend: a body is durable
 * (`BlobWriter.commit`) before the metadata naming it is committed; a crash
 * between the two leaves an unreferenced body that `sweep` removes at the
 * next start. A body whose last reference goes is removed after the metadata
 * commit (a crash there again leaves an orphan for the sweep).
 *
 * The interface fits chunked rows as well as files: a writer can append one
 * row per chunk under a staging id and give it its content address at
 * commit; `openRange` reads only the chunks overlapping the range.
 */
import type { Readable } from 'node:stream';

/** A body written and durable, not yet named by any message. */
export interface StagedBlob {
  /** sha256 of the bytes, lower-case hex. */
  readonly blobId: string;
  readonly size: number;
  /** RFC 1939 octets (CRLF line ends, before byte-stuffing), counted as the bytes went by (pop3-size.ts). */
  readonly pop3Size: number;
  /**
   * Set instead of a durable file for a small body when the store defers
   * (the SQLite worker store's file blob store): the bytes, which the
   * metadata commit naming the body stores in the same transaction, so one
   * sync covers body and metadata; the body goes to its file after that
   * commit. A backend that does not defer never sets it.
   */
  readonly pending?: Uint8Array;
}

/** Receives one body as it arrives; the hash and the size are computed on the way. */
export interface BlobWriter {
  /** Octets written so far. */
  readonly size: number;
  /** Writes a chunk; resolves once the chunk is handed on, so awaiting it is the backpressure. */
  write(chunk: Buffer): Promise<void>;
  /**
   * Makes the body durable (data and name synced) and returns its address,
   * or, for a small body of a deferring store, returns its bytes with it
   * (`StagedBlob.pending`) for the metadata commit to make durable.
   * Identical content is stored once. The body stays protected from sweeps
   * until `BlobStore.release` (called by the store after the metadata commit).
   */
  commit(): Promise<StagedBlob>;
  /** Removes whatever was written; nothing is left behind. Safe to call twice or after a failed write. */
  abort(): Promise<void>;
}

/**
 * Called by `sweep` with a batch of stored blob ids. The visitor decides, in
 * the metadata store's own transaction (so that no append can name a body in
 * between), which of them no message names, and calls `removeUnreferenced`
 * for each; it returns false when a writer still holds the body.
 */
export type SweepVisitor = (blobIds: string[], removeUnreferenced: (blobId: string) => boolean) => Promise<void> | void;

export interface BlobStore {
  createWriter(): BlobWriter;
  /** A whole Buffer through a writer, for callers that have one. */
  put(content: Buffer): Promise<StagedBlob>;
  /**
   * Bytes [start, end) of the blob (end exclusive, clamped to its size) as a
   * stream that reads as the consumer drains it; null when the blob is gone.
   */
  openRange(blobId: string, start: number, end: number): Promise<Readable | null>;
  /** Size in octets, or null when the blob is gone. */
  size(blobId: string): Promise<number | null>;
  /** The whole body, or null when the blob is gone (for callers that still need a Buffer). */
  read(blobId: string): Promise<Buffer | null>;
  /** Removes the blob unconditionally (the caller knows nothing names it). */
  delete(blobId: string): Promise<void>;
  /** Ends the protection a writer's commit gave the body (after the metadata commit, or when it was not used). Never throws. */
  release(staged: StagedBlob): Promise<void>;
  /**
   * Startup recovery: drops what crashed writers left (partial bodies, stale
   * protections), then hands every stored blob id to `visit` in batches of
   * bounded size. Returns how many blobs `visit` removed.
   */
  sweep(visit: SweepVisitor): Promise<number>;
}

/**
 * A blob store on this node's disk, coordinated with a metadata store that
 * holds a write lock across processes (SQLite's). These two calls are made
 * inside that lock, synchronously, so that a sweep or a delete cannot remove
 * a body between an append checking it and committing its reference.
 */
export interface LocalBlobStore extends BlobStore {
  /** Makes sure a staged body is in place (a concurrent delete may have removed its name while the writer held it). */
  confirmSync(staged: StagedBlob): void;
  /** Removes the body unless a writer holds it; true when it was removed (or already gone). */
  removeUnreferencedSync(blobId: string): boolean;
  /** Stores a body synchronously when it is not already stored (the schema migration, before any client). */
  importSync(blobId: string, content: Buffer): void;
  /** True when a body of that id is stored. */
  hasSync(blobId: string): boolean;
  /** Syncs the names importSync created; called before committing the metadata that drops the old copies. */
  flushImportsSync(): void;
  /**
   * Gives a pending body (StagedBlob.pending) its content address from the
   * writer's synced temporary file (which is used up); returns the
   * directories whose syncs make the name durable. Inside the write lock.
   */
  linkPendingSync(blobId: string, tmp: string): string[];
  /**
   * Recovery of a pending body from its committed bytes: stores them under
   * their content address, durable with flushImportsSync, replacing a file of
   * that name whose bytes differ (one whose writer's sync never completed).
   */
  adoptSync(blobId: string, content: Buffer): void;
}
