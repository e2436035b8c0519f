/**
 * Message operations of the SQLite store: append, flags, copy, move, expunge
 * and the change log. Every write runs in one transaction that also keeps
 * the mailbox counters (UIDNEXT, HIGHESTMODSEQ, messages, unseen, deleted, size), blob
 * reference counts and the account's used bytes in step, so a crash leaves
 * either all or none of it.
 */
import { createHash, randomBytes } from 'node:crypto';
import type {
  AccountId,
  AppendResult,
  CopyResult,
  FlagOperation,
  MailboxChanges,
  MailboxId,
  MessageMeta,
  RecoveryReport,
  StagedMessage,
} from '../types.js';
import { StoreError } from '../types.js';
import { crashPoint } from '../../observability/fault.js';
import type { LocalBlobStore } from '../blob-store.js';
import type { SqliteDb } from './db.js';
import { tally, type Tally } from '../counters.js';
import { canonicalFlags, hasFlagIn, planFlagChanges, serializeFlags } from './flags.js';
import type { AccountRow, MailboxRow, MessageRow } from './rows.js';
import { MAILBOX_COLUMNS, MESSAGE_COLUMNS, messageRowOf, toMessageMeta } from './rows.js';

/**
 * The POP3 UIDL generated for a new message: UIDVALIDITY and UID in hex.
 * UIDVALIDITY is unique in the store and a UID is never reused in a mailbox,
 * so no two appended or copied messages ever get the same one. A MOVE keeps
 * the UIDL (the message is the same; a POP3 client that saw it in INBOX
 * before it went to Trash and back must not download it twice), and since
 * the source row goes away in the same transaction it stays unique.
 */
export function generateUidl(uidValidity: number, uid: number): string {
  return uidValidity.toString(16).padStart(8, '0') + uid.toString(16).padStart(8, '0');
}

/** RFC 8474 §5.1 EMAILID: an objectid (letters and digits), random so it reveals nothing and never repeats. */
export function newEmailId(): string {
  return 'M' + randomBytes(12).toString('hex');
}

/** RFC 8474 §4 MAILBOXID: an objectid, random like EMAILID ("F" for folder). */
export function newMailboxObjectId(): string {
  return 'F' + randomBytes(12).toString('hex');
}

export function blobIdOf(content: Buffer): string {
  return createHash('sha256').update(content).digest('hex');
}

const INSERT_MESSAGE = `INSERT INTO messages
  (mailbox_id, uid, blob_id, size, internal_date, flags, modseq, uidl, email_id, save_date, pop3_size)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;
const COUNT = `UPDATE mailboxes SET message_count = message_count + ?, unseen_count = unseen_count + ?,
  size_bytes = size_bytes + ?, deleted_count = deleted_count + ?, deleted_bytes = deleted_bytes + ? WHERE id = ?`;
const SAVE_SUMMARY = 'INSERT OR REPLACE INTO message_summaries (blob_id, summary) VALUES (?, ?)';
const SELECT_ALL = `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE mailbox_id = ? ORDER BY uid`;
// The inner query reads only the messages_by_arrival index (migration 9), which holds every column it
// needs, so OFFSET skips index entries without touching a row; then only the page's rows are read.
// CROSS JOIN keeps the page outside, so each of its UIDs is one primary-key lookup.
const pageQuery = (dir: string) => `SELECT ${MESSAGE_COLUMNS.split(', ')
  .map((c) => `m.${c} AS ${c}`)
  .join(', ')}
  FROM (SELECT uid, internal_date FROM messages WHERE mailbox_id = ? ORDER BY internal_date ${dir}, uid ${dir} LIMIT ? OFFSET ?) page
  CROSS JOIN messages m ON m.mailbox_id = ? AND m.uid = page.uid
  ORDER BY page.internal_date ${dir}, page.uid ${dir}`;
const SELECT_PAGE_OLDEST = pageQuery('ASC');
const SELECT_PAGE_NEWEST = pageQuery('DESC');
// json_each drives the join (CROSS JOIN keeps it outside), so each id is one lookup in messages_by_email_id (migration 9).
const SELECT_BY_EMAIL_IDS = `SELECT m.mailbox_id AS mailbox_id, ${MESSAGE_COLUMNS.split(', ')
  .map((c) => `m.${c} AS ${c}`)
  .join(', ')}
  FROM json_each(?) j CROSS JOIN messages m ON m.email_id = j.value
  WHERE m.mailbox_id IN (SELECT id FROM mailboxes WHERE account_id = ?)
  ORDER BY m.mailbox_id, m.uid`;
/** Messages carrying a flag, the parameter being ' flag ' in lower case (flags are stored space-separated). */
const SELECT_FLAGGED = `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE mailbox_id = ? AND instr(' ' || lower(flags) || ' ', ?) > 0 ORDER BY uid`;
const SELECT_UIDS = `SELECT ${MESSAGE_COLUMNS} FROM messages
  WHERE mailbox_id = ? AND uid IN (SELECT value FROM json_each(?)) ORDER BY uid`;
const SELECT_UID_RANGE = `SELECT ${MESSAGE_COLUMNS} FROM messages
  WHERE mailbox_id = ? AND uid BETWEEN ? AND ? ORDER BY uid`;

export class MessageRepo {
  /** A body removal failed after its commit: the store must not be taken for cleanly closed (open-marks.ts). */
  leftOrphans = false;

  constructor(
    private readonly sql: SqliteDb,
    private readonly blobs: LocalBlobStore,
  ) {}

  /**
   * One transaction for the whole batch (RFC 3502 §3: all or none): the quota
   * is charged for the sum, UIDs are consecutive and share one MODSEQ. The
   * bodies are already durable in the blob store (written, hashed and synced
   * before the write lock is taken); each is confirmed inside the lock, so a
   * concurrent sweep or delete cannot take it away before the commit.
   */
  appendStaged(mailboxId: MailboxId, messages: StagedMessage[]): AppendResult[] {
    if (messages.length === 0) return [];
    const prepared = messages.map((message) => ({
      message,
      blobId: message.staged.blobId,
      size: message.staged.size,
      pop3Size: message.staged.pop3Size,
      flags: serializeFlags(canonicalFlags(message.flags ?? [])),
      internalDate: (message.internalDate ?? new Date()).getTime(),
    }));
    const results = this.sql.write(() => {
      const mailbox = this.requireMailbox(mailboxId);
      this.charge(mailbox.account_id, sum(prepared.map((p) => p.size)));
      const { firstUid, modSeq } = this.allocate(mailbox, prepared.length);
      const savedAt = Date.now();
      this.count(mailbox.id, tally(prepared.map((p) => ({ flags: p.flags, size: p.size }))));
      return prepared.map((p, i) => {
        const uid = firstUid + i;
        const pending = p.message.staged.pending;
        if (pending === undefined) this.blobs.confirmSync(p.message.staged);
        // A pending body no message names yet commits its bytes here; one a committed message names is durable already.
        if (this.addBlobReference(p.blobId, p.size) && pending !== undefined) {
          this.sql.stmt('INSERT OR REPLACE INTO pending_bodies (id, body) VALUES (?, ?)').run(p.blobId, asBuffer(pending));
        }
        const generated = generateUidl(mailbox.uidvalidity, uid);
        const uidl = p.message.uidl !== undefined ? this.uidlFor(mailboxId, p.message.uidl, generated) : generated;
        this.sql
          .stmt(INSERT_MESSAGE)
          .run(mailboxId, uid, p.blobId, p.size, p.internalDate, p.flags, modSeq, uidl, newEmailId(), savedAt, p.pop3Size);
        if (p.message.summary !== undefined) this.sql.stmt(SAVE_SUMMARY).run(p.blobId, p.message.summary);
        return { uidValidity: mailbox.uidvalidity, uid, modSeq };
      });
    });
    this.sql.afterCommit(() => crashPoint('store.append.metadata-committed'));
    return results;
  }

  list(mailboxId: MailboxId): MessageMeta[] {
    return this.sql.read(() => {
      this.requireMailbox(mailboxId);
      return this.messageRows(SELECT_ALL, mailboxId).map(toMessageMeta);
    });
  }

  get(mailboxId: MailboxId, uids: number[]): MessageMeta[] {
    return this.sql.read(() => {
      this.requireMailbox(mailboxId);
      return this.rowsByUid(mailboxId, uids).map(toMessageMeta);
    });
  }

  page(mailboxId: MailboxId, offset: number, limit: number, newestFirst: boolean): MessageMeta[] {
    return this.sql.read(() => {
      this.requireMailbox(mailboxId);
      return this.sql
        .stmt<MessageRow>(newestFirst ? SELECT_PAGE_NEWEST : SELECT_PAGE_OLDEST)
        .all(mailboxId, limit, offset, mailboxId)
        .map(toMessageMeta);
    });
  }

  byEmailIds(accountId: AccountId, emailIds: string[]): Array<{ mailboxId: MailboxId; message: MessageMeta }> {
    if (emailIds.length === 0) return [];
    return this.sql.read(() =>
      this.sql
        .stmt<MessageRow & { mailbox_id: number }>(SELECT_BY_EMAIL_IDS)
        .all(JSON.stringify(emailIds), accountId)
        .map((row) => ({ mailboxId: row.mailbox_id, message: toMessageMeta(row) })),
    );
  }

  changes(mailboxId: MailboxId, sinceModSeq: number): MailboxChanges {
    return this.sql.read(() => {
      const mailbox = this.requireMailbox(mailboxId);
      const changed = this.sql
        .stmt<MessageRow>(`SELECT ${MESSAGE_COLUMNS} FROM messages WHERE mailbox_id = ? AND modseq > ? ORDER BY uid`)
        .all(mailboxId, sinceModSeq);
      const expunged = this.sql
        .stmt<{ uid: number }>('SELECT uid FROM expunged WHERE mailbox_id = ? AND modseq > ? ORDER BY uid')
        .all(mailboxId, sinceModSeq);
      return {
        changed: changed.map(toMessageMeta),
        expunged: expunged.map((r) => r.uid),
        highestModSeq: mailbox.highest_modseq,
      };
    });
  }

  readSummaries(blobIds: string[]): Map<string, string> {
    if (blobIds.length === 0) return new Map();
    const rows = this.sql.read(() =>
      this.sql
        .stmt<{ blob_id: string; summary: string }>(
          'SELECT blob_id, summary FROM message_summaries WHERE blob_id IN (SELECT value FROM json_each(?))',
        )
        .all(JSON.stringify([...new Set(blobIds)])),
    );
    return new Map(rows.map((r) => [r.blob_id, r.summary]));
  }

  saveSummary(blobId: string, summary: string): void {
    this.sql.write(() => {
      // Only for a blob that still exists (the foreign key would refuse it otherwise).
      if (this.sql.stmt('SELECT 1 FROM blobs WHERE id = ?').get(blobId)) this.sql.stmt(SAVE_SUMMARY).run(blobId, summary);
    });
  }

  updateFlags(mailboxId: MailboxId, uids: number[], op: FlagOperation, flags: string[]): MessageMeta[] {
    return this.updateFlagsIf(mailboxId, uids, op, flags, null).changed;
  }

  /**
   * Flag changes, optionally conditional (RFC 7162 §3.1.3 UNCHANGEDSINCE): a
   * message whose MODSEQ is above `unchangedSince` is left alone and listed in
   * `modified`. The test and the change are one transaction, so two clients
   * racing on the same message cannot both win.
   */
  updateFlagsIf(
    mailboxId: MailboxId,
    uids: number[],
    op: FlagOperation,
    flags: string[],
    unchangedSince: number | null,
  ): { changed: MessageMeta[]; modified: number[] } {
    canonicalFlags(flags); // refuse unstorable names before touching anything
    const result = this.sql.write(() => {
      const mailbox = this.requireMailbox(mailboxId);
      const { updates, before, modified } = planFlagChanges(this.rowsByUid(mailboxId, uids), op, flags, unchangedSince);
      if (updates.length === 0) return { changed: [], modified };
      // RFC 7162 §3.1: one MODSEQ for the whole STORE; unchanged messages keep theirs.
      const modSeq = this.bumpModSeq(mailbox);
      const update = this.sql.stmt('UPDATE messages SET flags = ?, modseq = ? WHERE mailbox_id = ? AND uid = ?');
      for (const row of updates) update.run(row.flags, modSeq, mailboxId, row.uid);
      this.count(mailboxId, tally(updates), tally(before, -1));
      crashPoint('store.flags.metadata-written');
      return { changed: updates.map((row) => toMessageMeta({ ...row, modseq: modSeq })), modified };
    });
    if (result.changed.length > 0) this.sql.afterCommit(() => crashPoint('store.flags.metadata-committed'));
    return result;
  }

  copy(fromMailboxId: MailboxId, uids: number[], toMailboxId: MailboxId): CopyResult {
    const result = this.sql.write(() => {
      const copied = this.transfer(fromMailboxId, uids, toMailboxId, false);
      if (copied.uidMap.length > 0) crashPoint('store.copy.metadata-written');
      return copied;
    });
    if (result.uidMap.length > 0) this.sql.afterCommit(() => crashPoint('store.copy.metadata-committed'));
    return result;
  }

  move(fromMailboxId: MailboxId, uids: number[], toMailboxId: MailboxId): CopyResult {
    const result = this.sql.write(() => {
      const moved = this.transfer(fromMailboxId, uids, toMailboxId, true);
      if (moved.uidMap.length > 0) crashPoint('store.move.metadata-written');
      return moved;
    });
    if (result.uidMap.length > 0) this.sql.afterCommit(() => crashPoint('store.move.metadata-committed'));
    return result;
  }

  /**
   * Returns the UIDs removed and the blobs no message names any more (their
   * bodies go after the commit). With `flag`, only messages carrying it now
   * go, chosen inside the transaction; `uids` null then means every one.
   */
  expunge(mailboxId: MailboxId, uids: number[] | null, flag?: string): { removed: number[]; unreferenced: string[] } {
    const wanted = flag === undefined ? null : canonicalFlags([flag])[0].toLowerCase();
    const result = this.sql.write(() => {
      const mailbox = this.requireMailbox(mailboxId);
      let rows: MessageRow[];
      if (uids !== null) rows = this.rowsByUid(mailboxId, uids);
      else if (wanted !== null) rows = this.messageRows(SELECT_FLAGGED, mailboxId, ` ${wanted} `);
      else rows = this.messageRows(SELECT_ALL, mailboxId);
      if (wanted !== null) rows = rows.filter((r) => hasFlagIn(r.flags, wanted));
      if (rows.length === 0) return { removed: [], unreferenced: [] };
      this.removeRows(mailbox, rows);
      const unreferenced = this.dropBlobReferences(rows.map((r) => r.blob_id));
      this.release(mailbox.account_id, sum(rows.map((r) => r.size)));
      crashPoint('store.expunge.metadata-written');
      return { removed: rows.map((r) => r.uid), unreferenced };
    });
    if (result.removed.length > 0) this.sql.afterCommit(() => crashPoint('store.expunge.metadata-committed'));
    return result;
  }

  /**
   * Startup recovery: deletes blobs that no message names (a crash between
   * writing a body and committing its message, once bodies live outside this
   * transaction) and sets every reference count to the number of messages
   * naming the blob, so an expunge never deletes a body still in use. One
   * pass over the blobs, each checked through the messages_by_blob index.
   */
  sweepBlobs(): RecoveryReport & { unreferenced: string[] } {
    return this.sql.write(() => {
      const wrong = this.sql
        .stmt<{ id: string; refs: number }>(
          `SELECT id, refs FROM (SELECT b.id, b.refcount,
             (SELECT count(*) FROM messages m WHERE m.blob_id = b.id) AS refs FROM blobs b)
           WHERE refs <> refcount`,
        )
        .all();
      const remove = this.sql.stmt('DELETE FROM blobs WHERE id = ?');
      const recount = this.sql.stmt('UPDATE blobs SET refcount = ? WHERE id = ?');
      const unreferenced: string[] = [];
      for (const blob of wrong) {
        if (blob.refs === 0) {
          remove.run(blob.id); // its summary goes with it (ON DELETE CASCADE)
          unreferenced.push(blob.id);
        } else {
          recount.run(blob.refs, blob.id);
        }
      }
      return { orphanBlobs: unreferenced.length, repairedReferenceCounts: wrong.length - unreferenced.length, unreferenced };
    });
  }

  // ------------------------------------------------------------ helpers (inside a transaction)

  requireMailbox(mailboxId: MailboxId): MailboxRow {
    const row = this.sql.stmt<MailboxRow>(`SELECT ${MAILBOX_COLUMNS} FROM mailboxes WHERE id = ?`).get(mailboxId);
    if (!row) throw new StoreError('STORE_NO_SUCH_MAILBOX', `No such mailbox: ${mailboxId}`);
    return row;
  }

  /**
   * Decrements blob reference counts (one per listed id) and deletes the rows
   * of blobs nobody references; returns their ids, whose bodies the caller
   * removes after the commit (removeBodies).
   */
  dropBlobReferences(blobIds: string[]): string[] {
    const counts = new Map<string, number>();
    for (const id of blobIds) counts.set(id, (counts.get(id) ?? 0) + 1);
    const decrement = this.sql.stmt('UPDATE blobs SET refcount = refcount - ? WHERE id = ?');
    const removeUnused = this.sql.stmt('DELETE FROM blobs WHERE id = ? AND refcount <= 0');
    const unreferenced: string[] = [];
    for (const [id, count] of counts) {
      decrement.run(count, id);
      if (removeUnused.run(id).changes > 0) unreferenced.push(id);
    }
    return unreferenced;
  }

  /**
   * Removes the bodies of blobs that have no row, after the commit that
   * dropped their last reference. Inside a write transaction, so that no
   * append (of this or another process) can reference one in between; a
   * failure leaves an orphan that the next startup sweep removes.
   */
  removeBodies(blobIds: string[]): void {
    if (blobIds.length === 0) return;
    // Inside a group commit, only once the batch that dropped the references is durable.
    this.sql.afterCommit(() => this.removeBodiesNow(blobIds));
  }

  /**
   * Moves of pending bodies, step 1, inside the write lock: each body whose
   * bytes are still committed here gets its name from the writer's synced
   * temporary file (a body whose last message went meanwhile is not named
   * again, so nothing is left for a sweep). Returns those ids and the
   * directories to sync before step 2.
   */
  settlePending(items: Array<[string, string]>): { ids: string[]; dirs: string[] } {
    return this.sql.write(() => {
      const pending = this.sql.stmt('SELECT 1 FROM pending_bodies WHERE id = ?');
      const ids: string[] = [];
      const dirs = new Set<string>();
      for (const [blobId, tmp] of items) {
        if (!pending.get(blobId)) continue;
        for (const dir of this.blobs.linkPendingSync(blobId, tmp)) dirs.add(dir);
        ids.push(blobId);
      }
      return { ids, dirs: [...dirs] };
    });
  }

  /** Step 2: the files are durable; their committed bytes go. */
  dropPending(blobIds: string[]): void {
    this.sql.write(() => {
      const drop = this.sql.stmt('DELETE FROM pending_bodies WHERE id = ?');
      for (const id of blobIds) drop.run(id);
    });
  }

  /** The committed bytes of a body not yet in its file (another process's delivery), or null. */
  pendingBody(blobId: string): Buffer | null {
    const row = this.sql.read(() => this.sql.stmt<{ body: Buffer }>('SELECT body FROM pending_bodies WHERE id = ?').get(blobId));
    return row?.body ?? null;
  }

  /**
   * Startup: every pending body a crash left (committed, its move not done)
   * goes to its file, synced, and its row goes, in batches inside the write
   * lock (so no removal interleaves). Returns how many were moved.
   */
  adoptPending(): number {
    let moved = 0;
    for (;;) {
      const done = this.sql.write(() => {
        const rows = this.sql.stmt<{ id: string; body: Buffer }>('SELECT id, body FROM pending_bodies ORDER BY id LIMIT 64').all();
        for (const row of rows) this.blobs.adoptSync(row.id, row.body);
        this.blobs.flushImportsSync();
        const drop = this.sql.stmt('DELETE FROM pending_bodies WHERE id = ?');
        for (const row of rows) drop.run(row.id);
        return rows.length;
      });
      moved += done;
      if (done < 64) return moved;
    }
  }

  /** True when every one of the bodies has a reference (a blob row), in one read snapshot. */
  blobsNamed(blobIds: string[]): boolean {
    const exists = this.sql.stmt('SELECT 1 FROM blobs WHERE id = ?');
    return this.sql.read(() => blobIds.every((id) => exists.get(id) !== undefined));
  }

  private removeBodiesNow(blobIds: string[]): void {
    try {
      // A body still named by a row (the common case: a staged body released after its append) needs no write lock;
      // whoever drops its last reference later removes it.
      if (!this.sql.db.inTransaction && this.blobsNamed(blobIds)) return;
      this.sql.write(() => {
        const exists = this.sql.stmt('SELECT 1 FROM blobs WHERE id = ?');
        for (const id of blobIds) if (!exists.get(id)) this.blobs.removeUnreferencedSync(id);
      });
    } catch {
      // The metadata is committed; an orphan body is harmless until the sweep, which the next start then runs.
      this.leftOrphans = true;
    }
  }

  /** For the startup sweep: removes, inside the write lock, the listed bodies that no blob row names. */
  removeUnreferencedBodies(blobIds: string[], remove: (blobId: string) => boolean): void {
    this.sql.write(() => {
      const referenced = new Set(
        this.sql
          .stmt<{ id: string }>('SELECT id FROM blobs WHERE id IN (SELECT value FROM json_each(?))')
          .all(JSON.stringify(blobIds))
          .map((r) => r.id),
      );
      for (const id of blobIds) if (!referenced.has(id)) remove(id);
    });
  }

  release(accountId: number, bytes: number): void {
    if (bytes === 0) return;
    this.sql.stmt('UPDATE accounts SET used_bytes = max(0, used_bytes - ?) WHERE id = ?').run(bytes, accountId);
  }

  /**
   * Copy or move: new UIDs (and one new MODSEQ) in the destination. A copy
   * adds blob references and usage; a move within one account changes
   * neither, and expunges the sources in the same transaction (RFC 6851 §3.3).
   */
  private transfer(fromMailboxId: MailboxId, uids: number[], toMailboxId: MailboxId, move: boolean): CopyResult {
    const source = this.requireMailbox(fromMailboxId);
    const rows = this.rowsByUid(fromMailboxId, uids);
    let target = this.requireMailbox(toMailboxId);
    if (rows.length === 0) return { uidValidity: target.uidvalidity, uidMap: [] };
    const bytes = sum(rows.map((r) => r.size));
    const crossAccount = source.account_id !== target.account_id;
    if (!move || crossAccount) this.charge(target.account_id, bytes);

    let expungeModSeq: number | undefined;
    if (move) {
      // Expunge first so that the kept UIDLs are free in the destination even when it is the source.
      expungeModSeq = this.removeRows(source, rows);
      if (crossAccount) this.release(source.account_id, bytes);
      target = this.requireMailbox(toMailboxId);
    }
    const { firstUid, modSeq } = this.allocate(target, rows.length);
    const insert = this.sql.stmt(INSERT_MESSAGE);
    const addReference = this.sql.stmt('UPDATE blobs SET refcount = refcount + 1 WHERE id = ?');
    const uidMap: Array<[number, number]> = [];
    const savedAt = Date.now();
    rows.forEach((row, i) => {
      const uid = firstUid + i;
      const generated = generateUidl(target.uidvalidity, uid);
      const uidl = move ? this.uidlFor(toMailboxId, row.uidl, generated) : generated;
      if (!move) addReference.run(row.blob_id);
      // RFC 8474 §5.1: a copy or a moved message keeps its EMAILID; RFC 8514: SAVEDATE is when it arrived here.
      insert.run(toMailboxId, uid, row.blob_id, row.size, row.internal_date, row.flags, modSeq, uidl, row.email_id, savedAt, row.pop3_size);
      uidMap.push([row.uid, uid]);
    });
    this.count(toMailboxId, tally(rows));
    return expungeModSeq === undefined
      ? { uidValidity: target.uidvalidity, uidMap }
      : { uidValidity: target.uidvalidity, uidMap, expungeModSeq };
  }

  /** Deletes message rows and logs them as expunged at one new MODSEQ; blobs and usage are the caller's. */
  private removeRows(mailbox: MailboxRow, rows: MessageRow[]): number {
    const modSeq = this.bumpModSeq(mailbox);
    this.count(mailbox.id, tally(rows, -1));
    const uids = JSON.stringify(rows.map((r) => r.uid));
    this.sql.stmt('DELETE FROM messages WHERE mailbox_id = ? AND uid IN (SELECT value FROM json_each(?))').run(
      mailbox.id,
      uids,
    );
    this.sql
      .stmt('INSERT INTO expunged (mailbox_id, uid, modseq) SELECT ?, value, ? FROM json_each(?)')
      .run(mailbox.id, modSeq, uids);
    return modSeq;
  }

  private rowsByUid(mailboxId: MailboxId, uids: number[]): MessageRow[] {
    if (uids.length === 0) return [];
    // FETCH 1:* and the like ask for runs of UIDs: a range scan of the primary key, filtered here when the run
    // has a few holes, skips building and reading a JSON list. Sparse lists still go through json_each.
    let low = uids[0];
    let high = uids[0];
    let consecutive = true;
    for (let i = 0; i < uids.length; i++) {
      const uid = uids[i];
      if (uid !== uids[0] + i) consecutive = false;
      if (uid < low) low = uid;
      else if (uid > high) high = uid;
    }
    if (high - low < 2 * uids.length) {
      const rows = this.messageRows(SELECT_UID_RANGE, mailboxId, low, high);
      if (consecutive) return rows;
      const wanted = new Set(uids);
      return rows.filter((row) => wanted.has(row.uid));
    }
    return this.messageRows(SELECT_UIDS, mailboxId, JSON.stringify(uids));
  }

  /** Rows of a `SELECT ${MESSAGE_COLUMNS}` query, read raw (see messageRowOf); the statement is used for nothing else. */
  private messageRows(sql: string, ...params: unknown[]): MessageRow[] {
    const rows = this.sql.stmt(sql).raw(true).all(...params) as unknown[][];
    return rows.map(messageRowOf);
  }

  /** Reserves `count` UIDs and one MODSEQ in the mailbox. */
  private allocate(mailbox: MailboxRow, count: number): { firstUid: number; modSeq: number } {
    const firstUid = mailbox.uidnext;
    const modSeq = mailbox.highest_modseq + 1;
    // RFC 9051 §2.3.1.1: UIDs are 32-bit; past that the mailbox needs a new UIDVALIDITY (not automated).
    if (firstUid + count - 1 > 0xffffffff) {
      throw new StoreError('STORE_UNAVAILABLE', `Mailbox ${mailbox.name} has run out of UIDs`);
    }
    this.sql
      .stmt('UPDATE mailboxes SET uidnext = ?, highest_modseq = ? WHERE id = ?')
      .run(firstUid + count, modSeq, mailbox.id);
    return { firstUid, modSeq };
  }

  /** Moves the mailbox's counters by the sum of the tallies (one UPDATE, skipped when nothing moves). */
  private count(mailboxId: MailboxId, ...tallies: Tally[]): void {
    const t = { messages: 0, unseen: 0, bytes: 0, deleted: 0, deletedBytes: 0 };
    for (const x of tallies) {
      t.messages += x.messages;
      t.unseen += x.unseen;
      t.bytes += x.bytes;
      t.deleted += x.deleted;
      t.deletedBytes += x.deletedBytes;
    }
    if (t.messages === 0 && t.unseen === 0 && t.bytes === 0 && t.deleted === 0 && t.deletedBytes === 0) return;
    this.sql.stmt(COUNT).run(t.messages, t.unseen, t.bytes, t.deleted, t.deletedBytes, mailboxId);
  }

  private bumpModSeq(mailbox: MailboxRow): number {
    const modSeq = mailbox.highest_modseq + 1;
    this.sql.stmt('UPDATE mailboxes SET highest_modseq = ? WHERE id = ?').run(modSeq, mailbox.id);
    return modSeq;
  }

  /** Adds `bytes` to the account's usage, refusing when that passes the quota. */
  private charge(accountId: number, bytes: number): void {
    const account = this.sql
      .stmt<Pick<AccountRow, 'quota_bytes' | 'used_bytes'>>('SELECT quota_bytes, used_bytes FROM accounts WHERE id = ?')
      .get(accountId);
    if (!account) throw new StoreError('STORE_NO_SUCH_ACCOUNT', `No such account: ${accountId}`);
    if (account.quota_bytes !== null && account.used_bytes + bytes > account.quota_bytes) {
      throw new StoreError(
        'STORE_OVER_QUOTA',
        `Quota exceeded: ${account.used_bytes} + ${bytes} bytes > ${account.quota_bytes} bytes`,
      );
    }
    this.sql.stmt('UPDATE accounts SET used_bytes = used_bytes + ? WHERE id = ?').run(bytes, accountId);
  }

  /** One more reference to the blob; its row is created when no message had it yet (true then). */
  private addBlobReference(blobId: string, size: number): boolean {
    const bumped = this.sql.stmt('UPDATE blobs SET refcount = refcount + 1 WHERE id = ?').run(blobId);
    if (bumped.changes > 0) return false;
    this.sql.stmt('INSERT INTO blobs (id, size, refcount) VALUES (?, ?, 1)').run(blobId, size);
    return true;
  }

  /**
   * A caller-given (imported) or kept UIDL, unless the mailbox already holds
   * it: UIDLs must be unique within a maildrop (RFC 1939 §7), so a clash falls
   * back to the generated one.
   */
  private uidlFor(mailboxId: MailboxId, preferred: string, generated: string): string {
    const taken = this.sql.stmt('SELECT 1 FROM messages WHERE mailbox_id = ? AND uidl = ?').get(mailboxId, preferred);
    return taken ? generated : preferred;
  }
}


function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

/** Bytes that crossed a thread boundary arrive as a Uint8Array; SQLite binds Buffers. */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
