/**
 * The SQLite store off the main thread (issue 11: never block the event loop
 * on storage). Design:
 *
 * - A writer thread (store-worker.ts) owns this process's writing SQLite
 *   connection and runs SqliteMailStore there, unchanged. This class
 *   forwards each MailStore call as a message; results come back structured-
 *   cloned (Dates and Maps survive), errors as { name, code, message } and are
 *   rebuilt here, so a StoreError keeps its code across the boundary.
 * - Group commit: calls that arrive while the worker is inside a commit's
 *   fsync (or waiting for another process's lock) queue in its port; the next
 *   turn runs them all in one transaction, each write in its own SAVEPOINT
 *   (one failing request, e.g. over quota, rolls back alone), with ONE commit.
 *   Every caller is answered only after that commit: nothing is acknowledged
 *   before it is durable. Bodies to remove and the "…-committed" crash points
 *   wait for the commit too (SqliteDb.afterCommit).
 * - Reads go to a second thread (the same module, role 'reader') with its
 *   own query_only connection: WAL lets it read the last commit while the
 *   writer is inside a commit's fsync or waits for another process's lock,
 *   so a read never waits for a write. Read-your-writes holds: a write is
 *   answered only after its COMMIT, so a read posted after that starts a read
 *   transaction that sees it. Calls posted before an earlier write resolved
 *   are concurrent with it and may or may not see it (as with any pool).
 * - The reader starts on demand (issue 12: each thread is a V8 isolate of
 *   ~13 MB): until a read arrives while a write is in flight, reads go to
 *   the writer, which answers them in order (a server at rest, or one that
 *   only reads, never starts it). Reads posted while it starts still go to
 *   the writer; a reader that cannot start leaves them there.
 * - The writer never busy-waits: BEGIN IMMEDIATE is tried without waiting
 *   and retried on a timer while another process holds the lock (up to
 *   busy_timeout, then STORE_UNAVAILABLE, as before).
 * - UID order is call order: appends are posted in call order and the
 *   writer never reorders writes.
 * - Bodies stay on this thread: the file blob store's writers, range reads
 *   and sizes are asynchronous file I/O already, so no large body crosses
 *   the thread boundary. A writer's hold (file-blob-store.ts) lives in this
 *   thread's blob store; appendStaged lends its path to the worker's blob
 *   store so confirmSync can re-link a body another process removed.
 * - Small bodies (up to PENDING_MAX_BYTES) ride in the commit instead: the
 *   writer does not sync them, appendStaged posts their bytes and the commit
 *   stores them in `pending_bodies` with the message, so one fsync covers a
 *   whole group of deliveries and their bodies. After the release (the
 *   reply) a mover writes each to its file in the background (movePending);
 *   until then it is read from memory here, or from the database by other
 *   processes. Startup recovery moves whatever a crash left.
 * - A crash point in the worker SIGKILLs the whole process (process.kill to
 *   our own pid), exactly as on the main thread. A worker that dies fails
 *   every pending and later call with STORE_UNAVAILABLE.
 *
 * ':memory:' stays in-thread (a worker's in-memory database would be private
 * to it and its memory blob store unreachable from here).
 */
import { existsSync } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { BlobWriter, StagedBlob } from '../blob-store.js';
import { FileBlobStore } from '../blobs/file-blob-store.js';
import { syncPath } from '../blobs/fs-sync.js';
import type {
  Account,
  AccountId,
  AclEntry,
  AppendResult,
  CopyResult,
  FlagOperation,
  InitialMailbox,
  Mailbox,
  MailboxChanges,
  MailboxId,
  MailStore,
  MessageMeta,
  MetadataChange,
  MetadataEntry,
  MetadataScope,
  NewMessage,
  Pop3DeviceRecord,
  Pop3Policy,
  Pop3Update,
  RecoveryReport,
  SpecialUse,
  StagedMessage,
  StoreErrorCode,
} from '../types.js';
import { StoreError } from '../types.js';
import { BufferedAppends } from '../buffered-appends.js';
import type { SqliteOptions } from './db.js';
import type { SerializedError, WorkerInit, WorkerReply, WorkerRequest } from './worker-protocol.js';
import { READS } from './worker-protocol.js';

interface Pending {
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
  /** A write posted to the writer (what makes a read worth a thread of its own). */
  write: boolean;
}

/**
 * Bodies up to this size ride in the metadata commit (StagedBlob.pending):
 * one fsync for a whole group of deliveries instead of a body sync, a
 * directory sync and the commit in a row. Bounds the bytes a writer keeps in
 * memory and posts to the store thread.
 */
const PENDING_MAX_BYTES = 128 * 1024;
/** Pending bodies moved to their files per round of the mover. */
const MOVE_BATCH = 256;
/** Released pending bodies waiting for the mover beyond which a release waits for it (bounds memory and temporary files). */
const MOVE_BACKLOG = 1024;

/** What the worker counts, for tests and benchmarks. */
export interface StoreWorkerStats {
  /** Write transactions committed: with group commit, fewer than the writes. */
  commits: number;
}

export class WorkerSqliteStore implements MailStore {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private failure: StoreError | null = null;
  private closing = false;
  /** Writes posted to the writer and not answered yet. */
  private writesInFlight = 0;
  /** The read thread, once started (see the design above); null until then. */
  private reader: Worker | null = null;
  private readerStart: Promise<void> | null = null;
  /** Released pending bodies waiting for their move to their files: [blob id, temporary file]. */
  private readonly moveQueue: Array<[string, string]> = [];
  private mover: Promise<void> | null = null;
  /** Settles once the latest appendMessages has posted its metadata (UID order = call order). */
  private readonly bufferedAppends = new BufferedAppends(
    { put: (content) => this.blobs.put(content) },
    (staged) => this.releaseStaged(staged),
    true,
  );

  private constructor(
    private readonly writer: Worker,
    private readonly blobs: FileBlobStore,
    private readonly readerInit: WorkerInit,
  ) {
    this.watch(writer);
  }

  /** Opens and migrates the database on the writer thread; resolves once it is ready (the reader comes later, on demand). */
  static async open(path: string, options: SqliteOptions = {}): Promise<WorkerSqliteStore> {
    const writer = await startReady({ path, options, role: 'writer' });
    // The database opened: now the body directory may be created (as the in-thread store does).
    return new WorkerSqliteStore(writer, new FileBlobStore(options.blobDir ?? `${path}.blobs`, { deferUpTo: PENDING_MAX_BYTES }), { path, options, role: 'reader' });
  }

  /** Store threads running once any reader start under way has settled (tests: the reader starts on demand). */
  async threads(): Promise<number> {
    await this.readerStart;
    return this.reader ? 2 : 1;
  }

  private watch(worker: Worker): void {
    worker.on('message', (reply: WorkerReply) => this.settle(reply));
    worker.on('error', (err) => this.fail(`The mail store stopped: ${err.message}`));
    worker.on('exit', () => {
      if (!this.closing) this.fail('The mail store is closed');
    });
    worker.unref();
  }

  /** Where a read goes: the reader when it runs; else the writer, starting the reader when a write is in flight. */
  private readTarget(): Worker {
    if (this.reader) return this.reader;
    if (this.writesInFlight > 0) this.startReader();
    return this.writer;
  }

  private startReader(): void {
    if (this.readerStart || this.closing || this.failure) return;
    this.readerStart = startReady(this.readerInit).then(
      (reader) => {
        if (this.closing || this.failure) {
          void reader.terminate();
          return;
        }
        this.watch(reader);
        if (this.pending.size > 0) reader.ref();
        this.reader = reader;
      },
      () => {
        // Reads stay on the writer, which answers them as before: slower under writes, never wrong.
      },
    );
  }

  private get workers(): Worker[] {
    return this.reader ? [this.writer, this.reader] : [this.writer];
  }

  /** Resolves once the pending bodies released so far are in their files (tests; close waits for it too). */
  async settled(): Promise<void> {
    while (this.mover) await this.mover;
  }

  /** Counters of the store thread (tests: group commit). */
  stats(): Promise<StoreWorkerStats> {
    return this.call('stats', []);
  }

  // ------------------------------------------------------------------ accounts

  createAccount(address: string, passwordHash: string, quotaBytes: number | null): Promise<Account> {
    return this.call('createAccount', [address, passwordHash, quotaBytes]);
  }

  createAccountWithMailboxes(
    address: string,
    passwordHash: string,
    quotaBytes: number | null,
    mailboxes: InitialMailbox[],
  ): Promise<Account> {
    return this.call('createAccountWithMailboxes', [address, passwordHash, quotaBytes, mailboxes]);
  }

  getAccount(address: string): Promise<Account | null> {
    return this.call('getAccount', [address]);
  }

  getAccountById(id: AccountId): Promise<Account | null> {
    return this.call('getAccountById', [id]);
  }

  listAccounts(): Promise<Account[]> {
    return this.call('listAccounts', []);
  }

  deleteAccount(id: AccountId): Promise<void> {
    return this.call('deleteAccount', [id]);
  }

  setPasswordHash(id: AccountId, passwordHash: string): Promise<void> {
    return this.call('setPasswordHash', [id, passwordHash]);
  }

  setQuota(id: AccountId, quotaBytes: number | null): Promise<void> {
    return this.call('setQuota', [id, quotaBytes]);
  }

  // ----------------------------------------------------------------- mailboxes

  listMailboxes(accountId: AccountId): Promise<Mailbox[]> {
    return this.call('listMailboxes', [accountId]);
  }

  getMailbox(accountId: AccountId, name: string): Promise<Mailbox | null> {
    return this.call('getMailbox', [accountId, name]);
  }

  getMailboxById(id: MailboxId): Promise<Mailbox | null> {
    return this.call('getMailboxById', [id]);
  }

  createMailbox(accountId: AccountId, name: string, specialUse: SpecialUse | null = null): Promise<Mailbox> {
    return this.call('createMailbox', [accountId, name, specialUse]);
  }

  deleteMailbox(id: MailboxId): Promise<void> {
    return this.call('deleteMailbox', [id]);
  }

  renameMailbox(id: MailboxId, newName: string): Promise<void> {
    return this.call('renameMailbox', [id, newName]);
  }

  setSubscribed(accountId: AccountId, name: string, subscribed: boolean): Promise<void> {
    return this.call('setSubscribed', [accountId, name, subscribed]);
  }

  listSubscriptions(accountId: AccountId): Promise<string[]> {
    return this.call('listSubscriptions', [accountId]);
  }

  // ------------------------------------------------------------------ messages

  async appendMessage(mailboxId: MailboxId, message: NewMessage): Promise<AppendResult> {
    return (await this.appendMessages(mailboxId, [message]))[0];
  }

  /** Bodies to the blob store first, then the metadata as a staged append, in call order (buffered-appends.ts). */
  async appendMessages(mailboxId: MailboxId, messages: NewMessage[]): Promise<AppendResult[]> {
    return this.bufferedAppends.run(messages, (staged) => this.appendStaged(mailboxId, staged));
  }

  createBlobWriter(): BlobWriter {
    return this.blobs.createWriter();
  }

  appendStaged(mailboxId: MailboxId, messages: StagedMessage[]): Promise<AppendResult[]> {
    const holds: Array<[string, string]> = [];
    for (const m of messages) {
      const hold = this.blobs.holdOf(m.staged.blobId);
      if (hold !== undefined) holds.push([m.staged.blobId, hold]);
    }
    return this.call('appendStaged', [mailboxId, messages], holds);
  }

  /**
   * The holds are this thread's; the bodies nobody names are removed by the worker, inside the write lock.
   * A body a message names (the common case: released after its append) needs nothing more, and the
   * reader says so without queueing behind the writer's next commit and its fsync: our hold is gone
   * before the read starts, so a transaction dropping the last reference after that read removes the
   * body itself, and one before it is seen by the read.
   */
  async releaseStaged(staged: StagedBlob[]): Promise<void> {
    const files: StagedBlob[] = [];
    for (const s of staged) {
      if (s.pending === undefined) files.push(s);
      else this.movePending(s.blobId);
    }
    // Deliveries faster than the moves for long: they slow to the mover's pace.
    while (this.mover && this.moveQueue.length > MOVE_BACKLOG) await this.mover;
    if (files.length === 0) return;
    for (const s of files) await this.blobs.release(s);
    await this.removeUnnamed(files.map((s) => s.blobId));
  }

  /** Bodies whose holds are gone: a body a message names needs nothing more (see releaseStaged). */
  private async removeUnnamed(blobIds: string[]): Promise<void> {
    const ids = [...new Set(blobIds)];
    if (await this.call<boolean>('blobsNamed', [ids])) return;
    await this.call('releaseStaged', [ids.map((blobId) => ({ blobId, size: 0, pop3Size: 0 }))]);
  }

  /**
   * A released pending body goes to its file after the reply, in the
   * background: its temporary file is synced, renamed to its content address
   * inside the write lock (unless its message went meanwhile), the
   * directories synced, and only then its committed bytes dropped; reads
   * meanwhile find the file or the committed bytes. A failure leaves the
   * bytes in the database, which the next start's recovery moves.
   */
  private movePending(blobId: string): void {
    const tmp = this.blobs.claimPending(blobId);
    if (tmp === undefined) return;
    this.moveQueue.push([blobId, tmp]);
    this.startMover();
  }

  private startMover(): void {
    if (this.mover) return;
    this.mover = this.runMover().finally(() => {
      this.mover = null;
      // Queued between the last round and here.
      if (this.moveQueue.length > 0) this.startMover();
    });
  }

  private async runMover(): Promise<void> {
    while (this.moveQueue.length > 0) {
      const batch = this.moveQueue.splice(0, MOVE_BATCH);
      try {
        await Promise.all(batch.map(([, tmp]) => syncPath(tmp)));
        const { ids, dirs } = await this.call<{ ids: string[]; dirs: string[] }>('settlePending', [batch]);
        await Promise.all(dirs.map((dir) => this.blobs.dirSyncs.sync(dir)));
        if (ids.length > 0) await this.call('dropPending', [ids]);
      } catch {
        // The bytes stay committed in the database: readable there, moved by the next start's recovery.
      }
      for (const [blobId, tmp] of batch) {
        await unlink(tmp).catch(() => {});
        this.blobs.endPending(blobId);
      }
      // A body whose message went (or never came: a refused append) while our temporary name held it.
      await this.removeUnnamed(batch.map(([blobId]) => blobId)).catch(() => {});
    }
  }

  async openBlobRange(blobId: string, start: number, end: number): Promise<Readable | null> {
    const stream = await this.blobs.openRange(blobId, start, end);
    if (stream) return stream;
    const pending = await this.pendingBody(blobId);
    // Moved between our two looks: in its file now.
    if (!pending) return this.blobs.openRange(blobId, start, end);
    const from = Math.max(0, Math.min(start, pending.length));
    return Readable.from([pending.subarray(from, Math.max(from, Math.min(end, pending.length)))], { objectMode: false });
  }

  async blobSize(blobId: string): Promise<number | null> {
    return (await this.blobs.size(blobId)) ?? (await this.pendingBody(blobId))?.length ?? this.blobs.size(blobId);
  }

  /** A body committed by another process (or whose move failed), not yet in its file. */
  private async pendingBody(blobId: string): Promise<Buffer | null> {
    const bytes = await this.call<Uint8Array | null>('pendingBody', [blobId]);
    return bytes ? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) : null;
  }

  listMessages(mailboxId: MailboxId): Promise<MessageMeta[]> {
    return this.call('listMessages', [mailboxId]);
  }

  getMessages(mailboxId: MailboxId, uids: number[]): Promise<MessageMeta[]> {
    return this.call('getMessages', [mailboxId, uids]);
  }

  getChanges(mailboxId: MailboxId, sinceModSeq: number): Promise<MailboxChanges> {
    return this.call('getChanges', [mailboxId, sinceModSeq]);
  }

  listMessagesPage(mailboxId: MailboxId, offset: number, limit: number, newestFirst: boolean): Promise<MessageMeta[]> {
    return this.call('listMessagesPage', [mailboxId, offset, limit, newestFirst]);
  }

  findByEmailIds(accountId: AccountId, emailIds: string[]): Promise<Array<{ mailboxId: MailboxId; message: MessageMeta }>> {
    return this.call('findByEmailIds', [accountId, emailIds]);
  }

  claimRecent(mailboxId: MailboxId, upToUid: number): Promise<number> {
    return this.call('claimRecent', [mailboxId, upToUid]);
  }

  countRecent(mailboxId: MailboxId): Promise<number> {
    return this.call('countRecent', [mailboxId]);
  }

  async readBlob(blobId: string): Promise<Buffer | null> {
    return (await this.blobs.read(blobId)) ?? (await this.pendingBody(blobId)) ?? this.blobs.read(blobId);
  }

  readSummaries(blobIds: string[]): Promise<Map<string, string>> {
    return this.call('readSummaries', [blobIds]);
  }

  saveSummary(blobId: string, summary: string): Promise<void> {
    return this.call('saveSummary', [blobId, summary]);
  }

  updateFlags(mailboxId: MailboxId, uids: number[], op: FlagOperation, flags: string[]): Promise<MessageMeta[]> {
    return this.call('updateFlags', [mailboxId, uids, op, flags]);
  }

  updateFlagsUnchangedSince(
    mailboxId: MailboxId,
    uids: number[],
    op: FlagOperation,
    flags: string[],
    unchangedSince: number,
  ): Promise<{ changed: MessageMeta[]; modified: number[] }> {
    return this.call('updateFlagsUnchangedSince', [mailboxId, uids, op, flags, unchangedSince]);
  }

  copyMessages(fromMailboxId: MailboxId, uids: number[], toMailboxId: MailboxId): Promise<CopyResult> {
    return this.call('copyMessages', [fromMailboxId, uids, toMailboxId]);
  }

  moveMessages(fromMailboxId: MailboxId, uids: number[], toMailboxId: MailboxId): Promise<CopyResult> {
    return this.call('moveMessages', [fromMailboxId, uids, toMailboxId]);
  }

  moveAllToNewMailbox(fromMailboxId: MailboxId, names: string[]): Promise<{ created: Mailbox[]; moved: CopyResult }> {
    return this.call('moveAllToNewMailbox', [fromMailboxId, names]);
  }

  expungeMessages(mailboxId: MailboxId, uids: number[]): Promise<number[]> {
    return this.call('expungeMessages', [mailboxId, uids]);
  }

  expungeFlagged(mailboxId: MailboxId, flag: string, uids: number[] | null): Promise<number[]> {
    return this.call('expungeFlagged', [mailboxId, flag, uids]);
  }

  // ------------------------------------------------ POP3 policy and device state

  getPop3Policy(accountId: AccountId): Promise<Pop3Policy | null> {
    return this.call('getPop3Policy', [accountId]);
  }

  setPop3Policy(accountId: AccountId, policy: Pop3Policy): Promise<void> {
    return this.call('setPop3Policy', [accountId, policy]);
  }

  recordPop3Session(
    accountId: AccountId,
    device: string,
    session: { retrieved: string[]; deleted: string[] },
    at: Date,
  ): Promise<void> {
    return this.call('recordPop3Session', [accountId, device, session, at]);
  }

  commitPop3Update(update: Pop3Update): Promise<MailboxId[]> {
    return this.call('commitPop3Update', [update]);
  }

  listPop3Deleted(accountId: AccountId, devices: string[]): Promise<string[]> {
    return this.call('listPop3Deleted', [accountId, devices]);
  }

  listPop3Downloads(accountId: AccountId): Promise<Array<{ uidl: string; firstDownloadedAt: Date }>> {
    return this.call('listPop3Downloads', [accountId]);
  }

  listPop3DeviceState(accountId: AccountId): Promise<Pop3DeviceRecord[]> {
    return this.call('listPop3DeviceState', [accountId]);
  }

  prunePop3State(accountId: AccountId, keepUidls: string[]): Promise<number> {
    return this.call('prunePop3State', [accountId, keepUidls]);
  }

  async getMetadata(scope: MetadataScope, names: string[], descendants: boolean): Promise<MetadataEntry[]> {
    const entries = await this.call<MetadataEntry[]>('getMetadata', [scope, names, descendants]);
    // Structured clone turns a Buffer into a plain Uint8Array: make it a Buffer again (no copy).
    return entries.map((e) => ({ name: e.name, value: Buffer.from(e.value.buffer, e.value.byteOffset, e.value.byteLength) }));
  }

  setMetadata(changes: MetadataChange[], maxEntries: number): Promise<void> {
    return this.call('setMetadata', [changes, maxEntries]);
  }

  getAcl(mailboxId: MailboxId): Promise<AclEntry[]> {
    return this.call('getAcl', [mailboxId]);
  }

  setAcl(mailboxId: MailboxId, entry: AclEntry): Promise<void> {
    return this.call('setAcl', [mailboxId, entry]);
  }

  listSharedWith(accountId: AccountId): Promise<Array<{ mailbox: Mailbox; entry: AclEntry }>> {
    return this.call('listSharedWith', [accountId]);
  }

  recover(): Promise<RecoveryReport> {
    return this.call('recover', []);
  }

  async close(): Promise<void> {
    if (this.failure) {
      // A thread died (or an earlier close ran): the other one, if any, goes too.
      await Promise.all(this.workers.map((w) => w.terminate()));
      return;
    }
    // Pending bodies released before the close go to their files first.
    await this.settled();
    this.closing = true;
    try {
      await this.readerStart;
      // The writer last: it finishes the writes posted before.
      if (this.reader) await this.call('close', [], undefined, this.reader);
      await this.call('close', []);
    } finally {
      this.fail('The mail store is closed');
      await Promise.all(this.workers.map((w) => w.terminate()));
    }
  }

  // ------------------------------------------------------------------- helpers

  /** Posts now (callers rely on posting order) and resolves with the worker's answer. */
  private call<T>(
    method: string,
    args: unknown[],
    holds?: Array<[string, string]>,
    target?: Worker,
  ): Promise<T> {
    if (this.failure) return Promise.reject(this.failure);
    const worker = target ?? (READS.has(method) ? this.readTarget() : this.writer);
    const write = worker === this.writer && !READS.has(method);
    const id = this.nextId++;
    const request: WorkerRequest = { id, method, args, ...(holds && holds.length > 0 ? { holds } : {}) };
    return new Promise<T>((resolve, reject) => {
      try {
        worker.postMessage(request);
      } catch (err) {
        // Something not cloneable: a caller's bug, reported as such.
        reject(err instanceof Error ? err : new Error(String(err)));
        return;
      }
      if (this.pending.size === 0) for (const w of this.workers) w.ref();
      if (write) this.writesInFlight++;
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject, write });
    });
  }

  private settle(reply: WorkerReply): void {
    if (!('ok' in reply)) return;
    const pending = this.pending.get(reply.id);
    if (!pending) return;
    this.pending.delete(reply.id);
    if (pending.write) this.writesInFlight--;
    if (this.pending.size === 0) for (const w of this.workers) w.unref();
    if (reply.ok) pending.resolve(reply.value);
    else pending.reject(revive(reply.error));
  }

  private fail(message: string): void {
    this.failure ??= new StoreError('STORE_UNAVAILABLE', message);
    for (const pending of this.pending.values()) pending.reject(this.failure);
    this.pending.clear();
    this.writesInFlight = 0;
  }
}

/** A StoreError keeps its class and code; other errors keep name, message and code. */
function revive(error: SerializedError): Error {
  if (error.name === 'StoreError' && error.code !== undefined) return new StoreError(error.code as StoreErrorCode, error.message);
  const revived = error.name === 'TypeError' ? new TypeError(error.message) : new Error(error.message);
  revived.name = error.name;
  if (error.code !== undefined) (revived as NodeJS.ErrnoException).code = error.code;
  return revived;
}

/** Starts a store thread and waits for it to open the database. */
async function startReady(init: WorkerInit): Promise<Worker> {
  const worker = startWorker(init);
  try {
    await new Promise<void>((resolve, reject) => {
      const onMessage = (reply: WorkerReply) => {
        if (!('ready' in reply)) return;
        cleanup();
        if (reply.ready) resolve();
        else reject(revive(reply.error));
      };
      const onError = (err: Error) => {
        cleanup();
        reject(new StoreError('STORE_UNAVAILABLE', `Cannot open the mail store at ${init.path}: ${err.message}`));
      };
      const onExit = () => onError(new Error('the store thread exited'));
      const cleanup = () => {
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
      };
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', onExit);
    });
  } catch (err) {
    await worker.terminate();
    throw err;
  }
  return worker;
}

/** store-worker.js beside this module in dist/, or store-worker.ts under tsx (tests). */
function startWorker(init: WorkerInit): Worker {
  const js = new URL('./store-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(js))) return new Worker(js, { workerData: init });
  // On Node 20 the parent's `--import tsx` does not reach a worker thread: register it first.
  const entry = new URL('./store-worker.ts', import.meta.url);
  const tsx = import.meta.resolve('tsx/esm/api');
  const boot = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry.href)}); });`;
  return new Worker(boot, { eval: true, workerData: init });
}
