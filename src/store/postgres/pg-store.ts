/**
 * The MailStore on PostgreSQL, shared by any number of nodes. Same semantics
 * as the SQLite store (src/store/sqlite): counters in the mailbox row, POP3
 * size per message, summaries per blob, EMAILID/MAILBOXID/SAVEDATE.
 *
 * Concurrency: every write transaction that touches a mailbox first locks
 * its account row (SELECT ... FOR UPDATE; several accounts in ascending id
 * order), then the mailbox rows, then blob rows in id order. So writes to
 * one account are serialised across all nodes: UIDs and MODSEQs come from
 * `UPDATE mailboxes ... RETURNING` under that lock and commit in the order
 * they were allocated (ascending, never reused, and UIDNEXT/HIGHESTMODSEQ
 * never run ahead of what a reader can see), and the quota test and the
 * usage update are one locked step, so it is exact under concurrent
 * deliveries. Bodies live in the same database (pg-blob-store.ts) and go
 * in the transaction that drops their last reference.
 */
import type { Readable } from 'node:stream';
import type { BlobWriter, StagedBlob } from '../blob-store.js';
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
  Pop3DeleAction,
  Pop3DeviceRecord,
  Pop3Policy,
  Pop3Scope,
  Pop3Update,
  RecoveryReport,
  SpecialUse,
  StagedMessage,
} from '../types.js';
import { StoreError } from '../types.js';
import { BufferedAppends } from '../buffered-appends.js';
import { canonicalFlags, hasFlagIn, planFlagChanges, serializeFlags } from '../sqlite/flags.js';
import { generateUidl, newEmailId, newMailboxObjectId } from '../sqlite/messages.js';
import type { AccountRow, MailboxListRow, MailboxRow, MessageRow } from '../sqlite/rows.js';
import { messageRowOf, toAccount, toMailbox, toMessageMeta } from '../sqlite/rows.js';
import { tally, type Tally } from '../counters.js';
import { type PgDb, prepared, type Queryable } from './db.js';
import { dropUnused, PgBlobStore } from './pg-blob-store.js';
import { getMetadataIn, setMetadataIn } from './metadata.js';
import { getAclIn, setAclIn, sharedWithIn } from './acl.js';

const HIERARCHY_SEPARATOR = '/';
/** A node whose heartbeat is older than this is taken for dead by recover() (its staging writes and holds go). */
export const NODE_STALE_SECONDS = 60;
const HEARTBEAT_MS = 10_000;

const ACCOUNT_COLUMNS = 'id, address, password_hash, quota_bytes, used_bytes, created_at';
const MAILBOX_COLUMNS = 'id, account_id, name, special_use, uidvalidity, uidnext, highest_modseq';
const MESSAGE_COLUMNS = 'uid, blob_id, size, internal_date, flags, modseq, uidl, email_id, save_date, pop3_size';
const MAILBOX_WITH_COUNTS = `
  SELECT m.id, m.account_id, m.name, m.special_use, m.uidvalidity, m.uidnext, m.highest_modseq, m.object_id,
    (EXISTS (SELECT 1 FROM subscriptions s WHERE s.account_id = m.account_id AND s.name = m.name))::int AS subscribed,
    m.message_count, m.unseen_count, m.size_bytes, m.deleted_count, m.deleted_bytes
  FROM mailboxes m`;
const INSERT_MAILBOX = `INSERT INTO mailboxes (account_id, name, special_use, uidvalidity, uidnext, highest_modseq, object_id)
  VALUES ($1, $2, $3, $4, 1, 1, $5) RETURNING id`;
const SAVE_SUMMARY = `INSERT INTO message_summaries (blob_id, summary) VALUES ($1, $2)
  ON CONFLICT (blob_id) DO UPDATE SET summary = excluded.summary`;
/** Blob rows locked in id order (FOR UPDATE applies in the ORDER BY's order): the lock order of every blob write. */
const LOCK_BLOBS = 'SELECT 1 FROM blobs WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE';
/**
 * An append's rows in one statement: a reference per message on each body
 * ($2 ids, $3 counts), the message rows and the summaries, these two only
 * when every body was there (the caller compares `refs` and rolls back).
 */
const APPEND_ROWS = prepared(
  'append_rows',
  `WITH refs AS (
    UPDATE blobs b SET refcount = b.refcount + x.n FROM unnest($2::text[], $3::int[]) AS x(id, n) WHERE b.id = x.id RETURNING b.id
  ), msgs AS (
    INSERT INTO messages (mailbox_id, uid, blob_id, size, internal_date, flags, modseq, uidl, email_id, save_date, pop3_size)
    SELECT $1, u.uid, u.blob_id, u.size, u.internal_date, u.flags, $4, u.uidl, u.email_id, $5, u.pop3_size
    FROM unnest($6::bigint[], $7::text[], $8::bigint[], $9::bigint[], $10::text[], $11::text[], $12::text[], $13::bigint[])
      AS u(uid, blob_id, size, internal_date, flags, uidl, email_id, pop3_size)
    WHERE (SELECT count(*) FROM refs) = cardinality($2::text[])
  ), sums AS (
    INSERT INTO message_summaries (blob_id, summary)
    SELECT s.blob_id, s.summary FROM unnest($14::text[], $15::text[]) AS s(blob_id, summary)
    WHERE (SELECT count(*) FROM refs) = cardinality($2::text[])
    ON CONFLICT (blob_id) DO UPDATE SET summary = excluded.summary
  )
  SELECT (SELECT count(*) FROM refs)::int AS refs`,
);
/** An append's first lock: the account row, charged (the caller checks the quota; a refusal rolls back). */
const APPEND_CHARGE = prepared(
  'append_charge',
  `UPDATE accounts SET used_bytes = used_bytes + $2 WHERE id = (SELECT account_id FROM mailboxes WHERE id = $1)
     RETURNING used_bytes, quota_bytes`,
);
/** An append's second lock: the mailbox row, with its UIDs, one MODSEQ and the counters in one UPDATE. */
const APPEND_ALLOCATE = prepared(
  'append_allocate',
  `UPDATE mailboxes SET uidnext = uidnext + $2, highest_modseq = highest_modseq + 1,
     message_count = message_count + $3, unseen_count = unseen_count + $4, size_bytes = size_bytes + $5,
     deleted_count = deleted_count + $6, deleted_bytes = deleted_bytes + $7
   WHERE id = $1 RETURNING name, uidvalidity, uidnext - $2 AS first, highest_modseq AS modseq`,
);
/**
 * What changed since a MODSEQ, in one statement, so one snapshot: the
 * mailbox's HIGHESTMODSEQ (kind 0, in `uid`), changed messages (kind 1) and
 * expunged UIDs (kind 2) agree, in one round trip (an IDLE wake-up on every node).
 */
const CHANGES = prepared(
  'changes',
  `SELECT 0 AS kind, highest_modseq AS uid, NULL::text, NULL::bigint, NULL::bigint, NULL::text, NULL::bigint,
     NULL::text, NULL::text, NULL::bigint, NULL::bigint FROM mailboxes WHERE id = $1
   UNION ALL
   SELECT 1, ${MESSAGE_COLUMNS} FROM messages WHERE mailbox_id = $1 AND modseq > $2
   UNION ALL
   SELECT 2, uid, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL FROM expunged WHERE mailbox_id = $1 AND modseq > $2
   ORDER BY 1, 2`,
);

export class PgMailStore implements MailStore {
  private readonly blobs: PgBlobStore;
  private readonly heartbeat: NodeJS.Timeout;
  /** Settles when the latest appendMessages has committed (or failed): calls made one after another get ascending UIDs. */
  private readonly bufferedAppends = new BufferedAppends(
    { put: (content) => this.blobs.put(content) },
    (staged) => this.releaseStaged(staged),
    false,
  );

  constructor(
    readonly db: PgDb,
    readonly nodeId: string,
  ) {
    this.blobs = new PgBlobStore(db, nodeId);
    this.heartbeat = setInterval(() => {
      db.query(
        `INSERT INTO store_nodes (id) VALUES ($1) ON CONFLICT (id) DO UPDATE SET heartbeat_at = now()`,
        [nodeId],
      ).catch(() => {});
    }, HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  // ------------------------------------------------------------------ accounts

  async createAccount(address: string, passwordHash: string, quotaBytes: number | null): Promise<Account> {
    return this.createAccountWithMailboxes(address, passwordHash, quotaBytes, []);
  }

  async createAccountWithMailboxes(
    address: string,
    passwordHash: string,
    quotaBytes: number | null,
    mailboxes: InitialMailbox[],
  ): Promise<Account> {
    return this.db.write(async (c) => {
      const r = await c.query<AccountRow>(
        `INSERT INTO accounts (address, password_hash, quota_bytes, used_bytes, created_at) VALUES ($1, $2, $3, 0, $4)
           RETURNING ${ACCOUNT_COLUMNS}`,
        [address, passwordHash, quotaBytes, Date.now()],
      );
      const account = r.rows[0];
      for (const m of mailboxes) {
        await c.query(INSERT_MAILBOX, [account.id, m.name, m.specialUse, await nextUidValidity(c), newMailboxObjectId()]);
        if (m.subscribed) {
          await c.query('INSERT INTO subscriptions (account_id, name) VALUES ($1, $2) ON CONFLICT DO NOTHING', [account.id, m.name]);
        }
      }
      return toAccount(account);
    });
  }

  async getAccount(address: string): Promise<Account | null> {
    const r = await this.db.query<AccountRow>(`SELECT ${ACCOUNT_COLUMNS} FROM accounts WHERE lower(address) = lower($1)`, [address]);
    return r.rows[0] ? toAccount(r.rows[0]) : null;
  }

  async getAccountById(id: AccountId): Promise<Account | null> {
    const r = await this.db.query<AccountRow>(`SELECT ${ACCOUNT_COLUMNS} FROM accounts WHERE id = $1`, [id]);
    return r.rows[0] ? toAccount(r.rows[0]) : null;
  }

  async listAccounts(): Promise<Account[]> {
    const r = await this.db.query<AccountRow>(`SELECT ${ACCOUNT_COLUMNS} FROM accounts ORDER BY lower(address) COLLATE "C", id`);
    return r.rows.map(toAccount);
  }

  async deleteAccount(id: AccountId): Promise<void> {
    await this.db.write(async (c) => {
      await lockAccounts(c, [id]);
      const blobs = await c.query<{ blob_id: string }>(
        'SELECT blob_id FROM messages WHERE mailbox_id IN (SELECT id FROM mailboxes WHERE account_id = $1)',
        [id],
      );
      // Cascades to mailboxes, messages, the expunge log, subscriptions and POP3 state; blobs are shared, so counted down.
      await c.query('DELETE FROM accounts WHERE id = $1', [id]);
      await dropBlobReferences(c, blobs.rows.map((r) => r.blob_id));
    });
  }

  async setPasswordHash(id: AccountId, passwordHash: string): Promise<void> {
    const r = await this.db.query('UPDATE accounts SET password_hash = $1 WHERE id = $2', [passwordHash, id]);
    if (r.rowCount === 0) throw noSuchAccount(id);
  }

  async setQuota(id: AccountId, quotaBytes: number | null): Promise<void> {
    const r = await this.db.query('UPDATE accounts SET quota_bytes = $1 WHERE id = $2', [quotaBytes, id]);
    if (r.rowCount === 0) throw noSuchAccount(id);
  }

  // ----------------------------------------------------------------- mailboxes

  async listMailboxes(accountId: AccountId): Promise<Mailbox[]> {
    const r = await this.db.query<MailboxListRow>(`${MAILBOX_WITH_COUNTS} WHERE m.account_id = $1 ORDER BY m.name`, [accountId]);
    return r.rows.map(toMailbox);
  }

  async getMailbox(accountId: AccountId, name: string): Promise<Mailbox | null> {
    const r = await this.db.query<MailboxListRow>(`${MAILBOX_WITH_COUNTS} WHERE m.account_id = $1 AND m.name = $2`, [accountId, name]);
    return r.rows[0] ? toMailbox(r.rows[0]) : null;
  }

  async getMailboxById(id: MailboxId): Promise<Mailbox | null> {
    const row = await mailboxWithCounts(this.db.pool, id);
    return row ? toMailbox(row) : null;
  }

  async createMailbox(accountId: AccountId, name: string, specialUse: SpecialUse | null = null): Promise<Mailbox> {
    return this.db.write(async (c) => {
      await requireAccount(c, accountId);
      const r = await c.query<{ id: number }>(INSERT_MAILBOX, [accountId, name, specialUse, await nextUidValidity(c), newMailboxObjectId()]);
      return toMailbox((await mailboxWithCounts(c, r.rows[0].id))!);
    });
  }

  async deleteMailbox(id: MailboxId): Promise<void> {
    await this.db.write(async (c) => {
      const [mailbox] = await lockMailboxes(c, [id]);
      const rows = await c.query<{ blob_id: string; size: number }>('SELECT blob_id, size FROM messages WHERE mailbox_id = $1', [id]);
      // Cascades to its messages and expunge log; subscriptions are by name and stay (RFC 9051 §6.3.7).
      await c.query('DELETE FROM mailboxes WHERE id = $1', [id]);
      await dropBlobReferences(c, rows.rows.map((r) => r.blob_id));
      await releaseUsage(c, mailbox.account_id, sum(rows.rows.map((r) => r.size)));
    });
  }

  /** Renames the mailbox and its inferiors, keeping ids, UIDVALIDITY and messages (RFC 9051 §6.3.9: subscriptions stay). */
  async renameMailbox(id: MailboxId, newName: string): Promise<void> {
    await this.db.write(async (c) => {
      const [mailbox] = await lockMailboxes(c, [id]);
      if (mailbox.name === newName) return;
      const prefix = mailbox.name + HIERARCHY_SEPARATOR;
      // Every name starting with "old/" sorts in ["old/", "old0") under byte order: '0' follows '/'.
      const inferiors = await c.query<{ id: number; name: string }>(
        'SELECT id, name FROM mailboxes WHERE account_id = $1 AND name >= $2 AND name < $3',
        [mailbox.account_id, prefix, mailbox.name + '0'],
      );
      await c.query('UPDATE mailboxes SET name = $1 WHERE id = $2', [newName, id]);
      for (const inferior of inferiors.rows) {
        if (!inferior.name.startsWith(prefix)) continue;
        await c.query('UPDATE mailboxes SET name = $1 WHERE id = $2', [
          newName + HIERARCHY_SEPARATOR + inferior.name.slice(prefix.length),
          inferior.id,
        ]);
      }
    });
  }

  async setSubscribed(accountId: AccountId, name: string, subscribed: boolean): Promise<void> {
    await this.db.write(async (c) => {
      await requireAccount(c, accountId);
      const sql = subscribed
        ? 'INSERT INTO subscriptions (account_id, name) VALUES ($1, $2) ON CONFLICT DO NOTHING'
        : 'DELETE FROM subscriptions WHERE account_id = $1 AND name = $2';
      await c.query(sql, [accountId, name]);
    });
  }

  async listSubscriptions(accountId: AccountId): Promise<string[]> {
    const r = await this.db.query<{ name: string }>('SELECT name FROM subscriptions WHERE account_id = $1 ORDER BY name', [accountId]);
    return r.rows.map((row) => row.name);
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

  /**
   * One transaction for the batch (RFC 3502 §3: all or none): quota charged
   * for the sum under the account lock, consecutive UIDs sharing one MODSEQ.
   * Five round trips whatever the batch (BEGIN, account, mailbox, rows,
   * COMMIT; more only for kept UIDLs or several bodies), so the account and
   * mailbox locks are held briefly.
   */
  async appendStaged(mailboxId: MailboxId, messages: StagedMessage[]): Promise<AppendResult[]> {
    if (messages.length === 0) return [];
    const items = messages.map((message) => ({
      message,
      blobId: message.staged.blobId,
      size: message.staged.size,
      pop3Size: message.staged.pop3Size,
      flags: serializeFlags(canonicalFlags(message.flags ?? [])),
      internalDate: (message.internalDate ?? new Date()).getTime(),
    }));
    const bytes = sum(items.map((p) => p.size));
    const t = tally(items);
    const blobs = countIds(items.map((p) => p.blobId));
    // One summary per body (a batch may name one body twice: the last one given wins, as before).
    const summaries = new Map<string, string>();
    for (const p of items) if (p.message.summary !== undefined) summaries.set(p.blobId, p.message.summary);
    return this.db.write(async (c) => {
      // The account row first (the lock order of every mailbox write), then the mailbox row.
      const account = await c.query<{ used_bytes: number; quota_bytes: number | null }>({ ...APPEND_CHARGE, values: [mailboxId, bytes] });
      if (account.rows.length === 0) throw new StoreError('STORE_NO_SUCH_MAILBOX', `No such mailbox: ${mailboxId}`);
      const { used_bytes: used, quota_bytes: quota } = account.rows[0];
      if (quota !== null && used > quota) {
        throw new StoreError('STORE_OVER_QUOTA', `Quota exceeded: ${used - bytes} + ${bytes} bytes > ${quota} bytes`);
      }
      const n = items.length;
      const mailbox = await c.query<{ name: string; uidvalidity: number; first: number; modseq: number }>({
        ...APPEND_ALLOCATE,
        values: [mailboxId, n, t.messages, t.unseen, t.bytes, t.deleted, t.deletedBytes],
      });
      if (mailbox.rows.length === 0) throw new StoreError('STORE_NO_SUCH_MAILBOX', `No such mailbox: ${mailboxId}`);
      const { name, uidvalidity, first: firstUid, modseq: modSeq } = mailbox.rows[0];
      // RFC 9051 §2.3.1.1: UIDs are 32-bit; past that the mailbox needs a new UIDVALIDITY (not automated). Rolled back.
      if (firstUid + n - 1 > 0xffffffff) throw new StoreError('STORE_UNAVAILABLE', `Mailbox ${name} has run out of UIDs`);
      const uids = items.map((_, i) => firstUid + i);
      const uidls = await chooseUidls(c, mailboxId, items.map((p, i) => ({ preferred: p.message.uidl, generated: generateUidl(uidvalidity, uids[i]) })));
      // Several bodies: their rows are locked in id order first (the lock order of every blob write).
      if (blobs.length > 1) await c.query(LOCK_BLOBS, [blobs.map(([id]) => id)]);
      const savedAt = Date.now();
      const r = await c.query<{ refs: number }>({
        ...APPEND_ROWS,
        values: [
          mailboxId,
          blobs.map(([id]) => id),
          blobs.map(([, count]) => count),
          modSeq,
          savedAt,
          uids,
          items.map((p) => p.blobId),
          items.map((p) => p.size),
          items.map((p) => p.internalDate),
          items.map((p) => p.flags),
          uidls,
          items.map(() => newEmailId()),
          items.map((p) => p.pop3Size),
          [...summaries.keys()],
          [...summaries.values()],
        ],
      });
      // A body that is gone refuses the append (nothing was inserted; the transaction rolls back).
      if (r.rows[0].refs !== blobs.length) throw new StoreError('STORE_UNAVAILABLE', 'Message body is gone');
      return uids.map((uid) => ({ uidValidity: uidvalidity, uid, modSeq }));
    });
  }

  async releaseStaged(staged: StagedBlob[]): Promise<void> {
    for (const s of staged) await this.blobs.release(s);
  }

  async openBlobRange(blobId: string, start: number, end: number): Promise<Readable | null> {
    return this.blobs.openRange(blobId, start, end);
  }

  async blobSize(blobId: string): Promise<number | null> {
    return this.blobs.size(blobId);
  }

  async listMessages(mailboxId: MailboxId): Promise<MessageMeta[]> {
    // One statement (one snapshot, one round trip); rows as arrays, as the SQLite store reads them.
    const rows = await this.db.queryArrays(`SELECT ${MESSAGE_COLUMNS} FROM messages WHERE mailbox_id = $1 ORDER BY uid`, [mailboxId]);
    // No row: the mailbox may be gone (it existed when the rows were read otherwise).
    if (rows.length === 0) await this.requireMailbox(mailboxId);
    return rows.map((row) => toMessageMeta(messageRowOf(row)));
  }

  async getMessages(mailboxId: MailboxId, uids: number[]): Promise<MessageMeta[]> {
    const r =
      uids.length === 0
        ? { rows: [] }
        : await this.db.query<MessageRow>(
            `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE mailbox_id = $1 AND uid = ANY($2::bigint[]) ORDER BY uid`,
            [mailboxId, uids],
          );
    if (r.rows.length === 0) await this.requireMailbox(mailboxId);
    return r.rows.map(toMessageMeta);
  }

  private async requireMailbox(mailboxId: MailboxId): Promise<void> {
    const r = await this.db.query('SELECT 1 FROM mailboxes WHERE id = $1', [mailboxId]);
    if (r.rows.length === 0) throw new StoreError('STORE_NO_SUCH_MAILBOX', `No such mailbox: ${mailboxId}`);
  }

  async claimRecent(mailboxId: MailboxId, upToUid: number): Promise<number> {
    // Nothing to claim (a read, or all seen already): no row lock, no write.
    const seen = await this.db.query<{ uid: string }>('SELECT first_recent_uid AS uid FROM mailboxes WHERE id = $1', [mailboxId]);
    if (seen.rows.length === 0) throw new StoreError('STORE_NO_SUCH_MAILBOX', `No such mailbox: ${mailboxId}`);
    if (Number(seen.rows[0]!.uid) >= upToUid) return Number(seen.rows[0]!.uid);
    // One statement: the row lock of the UPDATE orders sessions on every node, and the
    // sub-select reads the value as it was before this session's update.
    const r = await this.db.query<{ before: string }>(
      `WITH old AS (SELECT first_recent_uid FROM mailboxes WHERE id = $1 FOR UPDATE)
       UPDATE mailboxes SET first_recent_uid = GREATEST(mailboxes.first_recent_uid, $2)
       FROM old WHERE mailboxes.id = $1 RETURNING old.first_recent_uid AS before`,
      [mailboxId, upToUid],
    );
    if (r.rows.length === 0) throw new StoreError('STORE_NO_SUCH_MAILBOX', `No such mailbox: ${mailboxId}`);
    return Number(r.rows[0]!.before);
  }

  async countRecent(mailboxId: MailboxId): Promise<number> {
    const r = await this.db.query<{ n: number | null }>(
      `SELECT (SELECT count(*) FROM messages WHERE mailbox_id = $1 AND uid >= m.first_recent_uid)::int AS n
         FROM mailboxes m WHERE m.id = $1`,
      [mailboxId],
    );
    if (r.rows.length === 0) throw new StoreError('STORE_NO_SUCH_MAILBOX', `No such mailbox: ${mailboxId}`);
    return Number(r.rows[0].n ?? 0);
  }

  async getChanges(mailboxId: MailboxId, sinceModSeq: number): Promise<MailboxChanges> {
    const rows = await this.db.queryArrays(CHANGES, [mailboxId, sinceModSeq]);
    let highestModSeq: number | undefined;
    const changed: MessageMeta[] = [];
    const expunged: number[] = [];
    for (const row of rows) {
      if (row[0] === 0) highestModSeq = row[1] as number;
      else if (row[0] === 1) changed.push(toMessageMeta(messageRowOf(row.slice(1))));
      else expunged.push(row[1] as number);
    }
    if (highestModSeq === undefined) throw new StoreError('STORE_NO_SUCH_MAILBOX', `No such mailbox: ${mailboxId}`);
    return { changed, expunged, highestModSeq };
  }

  async listMessagesPage(mailboxId: MailboxId, offset: number, limit: number, newestFirst: boolean): Promise<MessageMeta[]> {
    const order = newestFirst ? 'DESC' : 'ASC';
    return this.db.read(async (c) => {
      const known = await c.query('SELECT 1 FROM mailboxes WHERE id = $1', [mailboxId]);
      if (known.rows.length === 0) throw new StoreError('STORE_NO_SUCH_MAILBOX', `No such mailbox: ${mailboxId}`);
      // The page's UIDs come from the messages_by_arrival index alone (an index-only scan skips the offset),
      // then only its rows are read.
      const r = await c.query<MessageRow>(
        `SELECT ${MESSAGE_COLUMNS.split(', ')
          .map((col) => `m.${col}`)
          .join(', ')}
          FROM (SELECT uid, internal_date FROM messages WHERE mailbox_id = $1
                ORDER BY internal_date ${order}, uid ${order} LIMIT $2 OFFSET $3) page
          JOIN messages m ON m.mailbox_id = $1 AND m.uid = page.uid
          ORDER BY page.internal_date ${order}, page.uid ${order}`,
        [mailboxId, limit, offset],
      );
      return r.rows.map(toMessageMeta);
    });
  }

  async findByEmailIds(accountId: AccountId, emailIds: string[]): Promise<Array<{ mailboxId: MailboxId; message: MessageMeta }>> {
    if (emailIds.length === 0) return [];
    const r = await this.db.query<MessageRow & { mailbox_id: string | number }>(
      `SELECT mailbox_id, ${MESSAGE_COLUMNS} FROM messages
        WHERE email_id = ANY($1::text[]) AND mailbox_id IN (SELECT id FROM mailboxes WHERE account_id = $2)
        ORDER BY mailbox_id, uid`,
      [emailIds, accountId],
    );
    return r.rows.map((row) => ({ mailboxId: Number(row.mailbox_id), message: toMessageMeta(row) }));
  }

  async readBlob(blobId: string): Promise<Buffer | null> {
    return this.blobs.read(blobId);
  }

  async readSummaries(blobIds: string[]): Promise<Map<string, string>> {
    if (blobIds.length === 0) return new Map();
    const r = await this.db.query<{ blob_id: string; summary: string }>(
      'SELECT blob_id, summary FROM message_summaries WHERE blob_id = ANY($1::text[])',
      [[...new Set(blobIds)]],
    );
    return new Map(r.rows.map((row) => [row.blob_id, row.summary]));
  }

  async saveSummary(blobId: string, summary: string): Promise<void> {
    await this.db.write(async (c) => {
      // Only for a blob that still exists; locking it keeps a concurrent removal from racing the insert.
      const blob = await c.query('SELECT 1 FROM blobs WHERE id = $1 FOR SHARE', [blobId]);
      if (blob.rows.length > 0) await c.query(SAVE_SUMMARY, [blobId, summary]);
    });
  }

  async updateFlags(mailboxId: MailboxId, uids: number[], op: FlagOperation, flags: string[]): Promise<MessageMeta[]> {
    canonicalFlags(flags); // refuse unstorable names before touching anything
    return (await this.db.write((c) => updateFlagsIn(c, mailboxId, uids, op, flags, null))).changed;
  }

  async updateFlagsUnchangedSince(
    mailboxId: MailboxId,
    uids: number[],
    op: FlagOperation,
    flags: string[],
    unchangedSince: number,
  ): Promise<{ changed: MessageMeta[]; modified: number[] }> {
    canonicalFlags(flags);
    return this.db.write((c) => updateFlagsIn(c, mailboxId, uids, op, flags, unchangedSince));
  }

  async copyMessages(fromMailboxId: MailboxId, uids: number[], toMailboxId: MailboxId): Promise<CopyResult> {
    return this.db.write((c) => transfer(c, fromMailboxId, uids, toMailboxId, false));
  }

  async moveMessages(fromMailboxId: MailboxId, uids: number[], toMailboxId: MailboxId): Promise<CopyResult> {
    return this.db.write((c) => transfer(c, fromMailboxId, uids, toMailboxId, true));
  }

  async moveAllToNewMailbox(fromMailboxId: MailboxId, names: string[]): Promise<{ created: Mailbox[]; moved: CopyResult }> {
    if (names.length === 0) throw new StoreError('STORE_INVALID_NAME', 'No mailbox to move the messages to');
    return this.db.write(async (c) => {
      const [source] = await lockMailboxes(c, [fromMailboxId]);
      const created: Mailbox[] = [];
      for (const name of names) {
        const r = await c.query<{ id: number }>(INSERT_MAILBOX, [source.account_id, name, null, await nextUidValidity(c), newMailboxObjectId()]);
        created.push(toMailbox((await mailboxWithCounts(c, r.rows[0].id))!));
      }
      const uids = await c.query<{ uid: number }>('SELECT uid FROM messages WHERE mailbox_id = $1 ORDER BY uid', [fromMailboxId]);
      const moved = await transfer(c, fromMailboxId, uids.rows.map((r) => r.uid), created[created.length - 1].id, true);
      return { created, moved };
    });
  }

  async expungeMessages(mailboxId: MailboxId, uids: number[]): Promise<number[]> {
    return this.db.write((c) => expungeIn(c, mailboxId, uids));
  }

  async expungeFlagged(mailboxId: MailboxId, flag: string, uids: number[] | null): Promise<number[]> {
    const wanted = canonicalFlags([flag])[0].toLowerCase();
    return this.db.write((c) => expungeIn(c, mailboxId, uids, wanted));
  }

  // ------------------------------------------------ POP3 policy and device state

  async getPop3Policy(accountId: AccountId): Promise<Pop3Policy | null> {
    const r = await this.db.query<{ scope: string; since: number | null; dele: string; expire_days: number | null }>(
      'SELECT scope, since, dele, expire_days FROM pop3_policy WHERE account_id = $1',
      [accountId],
    );
    const row = r.rows[0];
    if (!row) return null;
    return {
      scope: row.scope as Pop3Scope,
      since: row.since === null ? null : new Date(row.since),
      dele: row.dele as Pop3DeleAction,
      expireDays: row.expire_days,
    };
  }

  async setPop3Policy(accountId: AccountId, policy: Pop3Policy): Promise<void> {
    await this.db.write(async (c) => {
      await requireAccount(c, accountId);
      await c.query(
        `INSERT INTO pop3_policy (account_id, scope, since, dele, expire_days) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (account_id) DO UPDATE SET scope = excluded.scope, since = excluded.since,
             dele = excluded.dele, expire_days = excluded.expire_days`,
        [accountId, policy.scope, policy.since?.getTime() ?? null, policy.dele, policy.expireDays],
      );
    });
  }

  async recordPop3Session(
    accountId: AccountId,
    device: string,
    session: { retrieved: string[]; deleted: string[] },
    at: Date,
  ): Promise<void> {
    if (session.retrieved.length === 0 && session.deleted.length === 0) return;
    await this.db.write((c) => recordPop3SessionIn(c, accountId, device, session, at));
  }

  async commitPop3Update(update: Pop3Update): Promise<MailboxId[]> {
    return this.db.write(async (c) => {
      const changed = new Set<MailboxId>();
      await recordPop3SessionIn(c, update.accountId, update.device, { retrieved: update.retrieved, deleted: update.deleted }, update.at);
      for (const f of update.addFlags) {
        canonicalFlags(f.flags);
        if ((await updateFlagsIn(c, f.mailboxId, f.uids, 'add', f.flags, null)).changed.length > 0) changed.add(f.mailboxId);
      }
      for (const e of update.expunge) {
        if ((await expungeIn(c, e.mailboxId, e.uids)).length > 0) changed.add(e.mailboxId);
      }
      for (const m of update.move) {
        if ((await transfer(c, m.fromMailboxId, m.uids, m.toMailboxId, true)).uidMap.length > 0) {
          changed.add(m.fromMailboxId).add(m.toMailboxId);
        }
      }
      return [...changed];
    });
  }

  async listPop3Deleted(accountId: AccountId, devices: string[]): Promise<string[]> {
    if (devices.length === 0) return [];
    const r = await this.db.query<{ uidl: string }>(
      `SELECT DISTINCT uidl FROM pop3_device_state WHERE account_id = $1 AND deleted_at IS NOT NULL
         AND device = ANY($2::text[]) ORDER BY uidl`,
      [accountId, devices],
    );
    return r.rows.map((row) => row.uidl);
  }

  async listPop3Downloads(accountId: AccountId): Promise<Array<{ uidl: string; firstDownloadedAt: Date }>> {
    const r = await this.db.query<{ uidl: string; first: number }>(
      `SELECT uidl, min(downloaded_at) AS first FROM pop3_device_state
         WHERE account_id = $1 AND downloaded_at IS NOT NULL GROUP BY uidl ORDER BY uidl`,
      [accountId],
    );
    return r.rows.map((row) => ({ uidl: row.uidl, firstDownloadedAt: new Date(row.first) }));
  }

  async listPop3DeviceState(accountId: AccountId): Promise<Pop3DeviceRecord[]> {
    const r = await this.db.query<{ device: string; uidl: string; downloaded_at: number | null; deleted_at: number | null }>(
      'SELECT device, uidl, downloaded_at, deleted_at FROM pop3_device_state WHERE account_id = $1 ORDER BY device, uidl',
      [accountId],
    );
    return r.rows.map((row) => ({
      device: row.device,
      uidl: row.uidl,
      downloadedAt: row.downloaded_at === null ? null : new Date(row.downloaded_at),
      deletedAt: row.deleted_at === null ? null : new Date(row.deleted_at),
    }));
  }

  async prunePop3State(accountId: AccountId, keepUidls: string[]): Promise<number> {
    const r = await this.db.query('DELETE FROM pop3_device_state WHERE account_id = $1 AND NOT (uidl = ANY($2::text[]))', [
      accountId,
      keepUidls,
    ]);
    return r.rowCount ?? 0;
  }

  // ------------------------------------------------------------------ recovery

  /**
   * Safe while other nodes run: only what dead nodes left is dropped (their
   * staging writes and holds, by heartbeat), and the bodies those holds
   * protected if no message names them. The work is proportional to what
   * crashed nodes left, not to the store: every transaction keeps reference
   * counts exact and drops a body with its last reference or hold, so a body
   * with neither can only be one a dead node held (see PgBlobStore.release).
   */
  // ------------------------------------------------------------ METADATA (metadata.ts)

  async getMetadata(scope: MetadataScope, names: string[], descendants: boolean): Promise<MetadataEntry[]> {
    return getMetadataIn(this.db, scope, names, descendants);
  }

  async setMetadata(changes: MetadataChange[], maxEntries: number): Promise<void> {
    return setMetadataIn(this.db, changes, maxEntries);
  }

  // ------------------------------------------------ access control lists (acl.ts)

  async getAcl(mailboxId: MailboxId): Promise<AclEntry[]> {
    return getAclIn(this.db, mailboxId);
  }

  async setAcl(mailboxId: MailboxId, entry: AclEntry): Promise<void> {
    return setAclIn(this.db, mailboxId, entry);
  }

  async listSharedWith(accountId: AccountId): Promise<Array<{ mailbox: Mailbox; entry: AclEntry }>> {
    return sharedWithIn(this.db, MAILBOX_WITH_COUNTS, accountId);
  }

  async recover(): Promise<RecoveryReport> {
    return this.db.write(async (c) => {
      const live = `SELECT id FROM store_nodes WHERE heartbeat_at > now() - make_interval(secs => ${NODE_STALE_SECONDS}) OR id = $1`;
      const holds = await c.query<{ blob_id: string }>(`DELETE FROM blob_holds WHERE node_id NOT IN (${live}) RETURNING blob_id`, [this.nodeId]);
      await c.query(`DELETE FROM blob_staging WHERE node_id NOT IN (${live})`, [this.nodeId]);
      await c.query(`DELETE FROM store_nodes WHERE id NOT IN (${live})`, [this.nodeId]);
      // Chunks of writers that are gone: staging ids ("s:...") are one range of the primary key,
      // so this reads no committed body. (A body's chunks go with its row, in one statement.)
      await c.query(
        `DELETE FROM blob_chunks k WHERE k.blob_id >= 's:' AND k.blob_id < 's;'
           AND NOT EXISTS (SELECT 1 FROM blob_staging s WHERE s.id = k.blob_id)`,
      );
      const removed = await dropUnused(c, [...new Set(holds.rows.map((r) => r.blob_id))].sort());
      return { orphanBlobs: removed.length, repairedReferenceCounts: 0 };
    });
  }

  async close(): Promise<void> {
    clearInterval(this.heartbeat);
    try {
      // Holds this node still has become stale at once, for the next recover() anywhere.
      await this.db.query('DELETE FROM store_nodes WHERE id = $1', [this.nodeId]);
    } catch {
      // The database is gone; the heartbeat's age tells the others.
    }
    await this.db.close();
  }
}

// ------------------------------------------------------------------- helpers (inside a transaction)

function noSuchAccount(id: AccountId): StoreError {
  return new StoreError('STORE_NO_SUCH_ACCOUNT', `No such account: ${id}`);
}

async function requireAccount(c: Queryable, id: AccountId): Promise<void> {
  // FOR SHARE: the account cannot be deleted before this transaction commits what refers to it.
  const r = await c.query('SELECT 1 FROM accounts WHERE id = $1 FOR SHARE', [id]);
  if (r.rows.length === 0) throw noSuchAccount(id);
}

async function mailboxWithCounts(c: Queryable, id: MailboxId): Promise<MailboxListRow | undefined> {
  const r = await c.query<MailboxListRow>(`${MAILBOX_WITH_COUNTS} WHERE m.id = $1`, [id]);
  return r.rows[0];
}

/** Locks account rows in ascending id order (the first lock every mailbox write takes). */
async function lockAccounts(c: Queryable, ids: AccountId[]): Promise<Array<Pick<AccountRow, 'id' | 'quota_bytes' | 'used_bytes'>>> {
  const unique = [...new Set(ids)].sort((a, b) => a - b);
  const rows: Array<Pick<AccountRow, 'id' | 'quota_bytes' | 'used_bytes'>> = [];
  for (const id of unique) {
    const r = await c.query('SELECT id, quota_bytes, used_bytes FROM accounts WHERE id = $1 FOR UPDATE', [id]);
    if (r.rows.length === 0) throw noSuchAccount(id);
    rows.push(r.rows[0]);
  }
  return rows;
}

/**
 * Locks the accounts owning the mailboxes, then the mailboxes (ascending
 * ids), and returns the mailbox rows in the order asked. A mailbox deleted
 * while this waited for its account is reported missing.
 */
async function lockMailboxes(c: Queryable, ids: MailboxId[]): Promise<MailboxRow[]> {
  const unique = [...new Set(ids)];
  const owners = await c.query<{ id: number; account_id: number }>('SELECT id, account_id FROM mailboxes WHERE id = ANY($1::bigint[])', [unique]);
  for (const id of unique) {
    if (!owners.rows.some((r) => r.id === id)) throw new StoreError('STORE_NO_SUCH_MAILBOX', `No such mailbox: ${id}`);
  }
  try {
    await lockAccounts(c, owners.rows.map((r) => r.account_id));
  } catch (err) {
    if (err instanceof StoreError && err.code === 'STORE_NO_SUCH_ACCOUNT') throw new StoreError('STORE_NO_SUCH_MAILBOX', 'No such mailbox');
    throw err;
  }
  const locked = await c.query<MailboxRow>(
    `SELECT ${MAILBOX_COLUMNS} FROM mailboxes WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE`,
    [unique],
  );
  return ids.map((id) => {
    const row = locked.rows.find((r) => r.id === id);
    if (!row) throw new StoreError('STORE_NO_SUCH_MAILBOX', `No such mailbox: ${id}`);
    return row;
  });
}

/**
 * A UIDVALIDITY never handed out before in this store (RFC 9051 §2.3.1.1):
 * the larger of "now" in seconds and the last one plus one, in one locked
 * upsert, so two nodes creating mailboxes at once never get the same value.
 */
async function nextUidValidity(c: Queryable): Promise<number> {
  const r = await c.query<{ value: number }>(
    `INSERT INTO counters (name, value) VALUES ('uidvalidity', $1)
       ON CONFLICT (name) DO UPDATE SET value = greatest($1, counters.value + 1) RETURNING value`,
    [Math.floor(Date.now() / 1000)],
  );
  const next = r.rows[0].value;
  if (next > 0xffffffff) throw new StoreError('STORE_UNAVAILABLE', 'UIDVALIDITY space exhausted');
  return next;
}

/** Reserves `count` UIDs and one MODSEQ in the (locked) mailbox. */
async function allocate(c: Queryable, mailbox: MailboxRow, n: number): Promise<{ firstUid: number; modSeq: number }> {
  // RFC 9051 §2.3.1.1: UIDs are 32-bit; past that the mailbox needs a new UIDVALIDITY (not automated).
  if (mailbox.uidnext + n - 1 > 0xffffffff) throw new StoreError('STORE_UNAVAILABLE', `Mailbox ${mailbox.name} has run out of UIDs`);
  const r = await c.query<{ first: number; modseq: number }>(
    `UPDATE mailboxes SET uidnext = uidnext + $2, highest_modseq = highest_modseq + 1 WHERE id = $1
       RETURNING uidnext - $2 AS first, highest_modseq AS modseq`,
    [mailbox.id, n],
  );
  mailbox.uidnext = r.rows[0].first + n;
  mailbox.highest_modseq = r.rows[0].modseq;
  return { firstUid: r.rows[0].first, modSeq: r.rows[0].modseq };
}

async function bumpModSeq(c: Queryable, mailbox: MailboxRow): Promise<number> {
  const r = await c.query<{ modseq: number }>(
    'UPDATE mailboxes SET highest_modseq = highest_modseq + 1 WHERE id = $1 RETURNING highest_modseq AS modseq',
    [mailbox.id],
  );
  mailbox.highest_modseq = r.rows[0].modseq;
  return mailbox.highest_modseq;
}

/** Adds `bytes` to the (locked) account's usage, refusing when that passes the quota. */
async function charge(c: Queryable, accountId: AccountId, bytes: number): Promise<void> {
  const r = await c.query<{ used_bytes: number; quota_bytes: number | null }>(
    'SELECT used_bytes, quota_bytes FROM accounts WHERE id = $1 FOR UPDATE',
    [accountId],
  );
  const account = r.rows[0];
  if (!account) throw noSuchAccount(accountId);
  if (account.quota_bytes !== null && account.used_bytes + bytes > account.quota_bytes) {
    throw new StoreError('STORE_OVER_QUOTA', `Quota exceeded: ${account.used_bytes} + ${bytes} bytes > ${account.quota_bytes} bytes`);
  }
  if (bytes !== 0) await c.query('UPDATE accounts SET used_bytes = used_bytes + $2 WHERE id = $1', [accountId, bytes]);
}

async function releaseUsage(c: Queryable, accountId: AccountId, bytes: number): Promise<void> {
  if (bytes === 0) return;
  await c.query('UPDATE accounts SET used_bytes = greatest(0, used_bytes - $2) WHERE id = $1', [accountId, bytes]);
}

/** One more reference per listed id; a body that is gone refuses the append. */
async function addBlobReferences(c: Queryable, blobIds: string[]): Promise<void> {
  const counts = countIds(blobIds);
  const changed = await changeBlobReferences(c, counts, 1);
  if (changed !== counts.length) throw new StoreError('STORE_UNAVAILABLE', 'Message body is gone');
}

/** One reference less per listed id; bodies left with none and no hold go in this transaction. */
async function dropBlobReferences(c: Queryable, blobIds: string[]): Promise<void> {
  const counts = countIds(blobIds);
  if (counts.length === 0) return;
  await changeBlobReferences(c, counts, -1);
  await dropUnused(c, counts.map(([id]) => id));
}

/**
 * Moves reference counts by `sign` times each count, in two statements
 * whatever the number of bodies: the rows are locked in id order first (the
 * lock order of every blob write), then updated together. Returns the rows changed.
 */
async function changeBlobReferences(c: Queryable, counts: Array<[string, number]>, sign: 1 | -1): Promise<number> {
  if (counts.length === 0) return 0;
  const ids = counts.map(([id]) => id);
  if (counts.length > 1) await c.query(LOCK_BLOBS, [ids]);
  const r = await c.query('UPDATE blobs b SET refcount = b.refcount + x.n FROM unnest($1::text[], $2::int[]) AS x(id, n) WHERE b.id = x.id', [
    ids,
    counts.map(([, n]) => sign * n),
  ]);
  return r.rowCount ?? 0;
}

function countIds(ids: string[]): Array<[string, number]> {
  const counts = new Map<string, number>();
  for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
  return [...counts.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * Each message's UIDL: the caller-given one unless the mailbox or an earlier
 * message of the batch already holds it (RFC 1939 §7: unique within a
 * maildrop), else the generated one. One query, only when one is given.
 */
async function chooseUidls(c: Queryable, mailboxId: MailboxId, wanted: Array<{ preferred?: string; generated: string }>): Promise<string[]> {
  const preferred = wanted.flatMap((w) => (w.preferred !== undefined ? [w.preferred] : []));
  const taken = new Set<string>();
  if (preferred.length > 0) {
    const r = await c.query<{ uidl: string }>('SELECT uidl FROM messages WHERE mailbox_id = $1 AND uidl = ANY($2::text[])', [mailboxId, preferred]);
    for (const row of r.rows) taken.add(row.uidl);
  }
  return wanted.map((w) => {
    const uidl = w.preferred !== undefined && !taken.has(w.preferred) ? w.preferred : w.generated;
    taken.add(uidl);
    return uidl;
  });
}

async function rowsByUid(c: Queryable, mailboxId: MailboxId, uids: number[]): Promise<MessageRow[]> {
  if (uids.length === 0) return [];
  const r = await c.query<MessageRow>(
    `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE mailbox_id = $1 AND uid = ANY($2::bigint[]) ORDER BY uid`,
    [mailboxId, uids],
  );
  return r.rows;
}

async function updateFlagsIn(
  c: Queryable,
  mailboxId: MailboxId,
  uids: number[],
  op: FlagOperation,
  flags: string[],
  unchangedSince: number | null,
): Promise<{ changed: MessageMeta[]; modified: number[] }> {
  const [mailbox] = await lockMailboxes(c, [mailboxId]);
  const { updates, before, modified } = planFlagChanges(await rowsByUid(c, mailboxId, uids), op, flags, unchangedSince);
  if (updates.length === 0) return { changed: [], modified };
  // RFC 7162 §3.1: one MODSEQ for the whole STORE; unchanged messages keep theirs.
  const modSeq = await bumpModSeq(c, mailbox);
  await c.query(
    `UPDATE messages m SET flags = u.flags, modseq = $3 FROM unnest($1::bigint[], $2::text[]) AS u(uid, flags)
       WHERE m.mailbox_id = $4 AND m.uid = u.uid`,
    [updates.map((r) => r.uid), updates.map((r) => r.flags), modSeq, mailboxId],
  );
  await count(c, mailboxId, tally(updates), tally(before, -1));
  return { changed: updates.map((row) => toMessageMeta({ ...row, modseq: modSeq })), modified };
}

/**
 * With `lowerFlag`, only messages carrying that flag go, chosen after the
 * mailbox row is locked: every flag change takes that lock first, so none
 * lands between choosing and removing. `uids` null then means every one.
 */
async function expungeIn(c: Queryable, mailboxId: MailboxId, uids: number[] | null, lowerFlag?: string): Promise<number[]> {
  const [mailbox] = await lockMailboxes(c, [mailboxId]);
  let rows: MessageRow[];
  if (uids !== null) rows = await rowsByUid(c, mailboxId, uids);
  else {
    // Flags are stored space-separated; ' ' alone matches every row.
    const r = await c.query<MessageRow>(
      `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE mailbox_id = $1 AND strpos(' ' || lower(flags) || ' ', $2) > 0 ORDER BY uid`,
      [mailboxId, lowerFlag === undefined ? ' ' : ` ${lowerFlag} `],
    );
    rows = r.rows;
  }
  if (lowerFlag !== undefined) rows = rows.filter((r) => hasFlagIn(r.flags, lowerFlag));
  if (rows.length === 0) return [];
  await removeRows(c, mailbox, rows);
  await dropBlobReferences(c, rows.map((r) => r.blob_id));
  await releaseUsage(c, mailbox.account_id, sum(rows.map((r) => r.size)));
  return rows.map((r) => r.uid);
}

/** Deletes message rows and logs them as expunged at one new MODSEQ; blobs and usage are the caller's. */
async function removeRows(c: Queryable, mailbox: MailboxRow, rows: MessageRow[]): Promise<number> {
  const modSeq = await bumpModSeq(c, mailbox);
  await count(c, mailbox.id, tally(rows, -1));
  const uids = rows.map((r) => r.uid);
  await c.query('DELETE FROM messages WHERE mailbox_id = $1 AND uid = ANY($2::bigint[])', [mailbox.id, uids]);
  await c.query(
    `INSERT INTO expunged (mailbox_id, uid, modseq) SELECT $1, u, $3 FROM unnest($2::bigint[]) AS u
       ON CONFLICT (mailbox_id, uid) DO UPDATE SET modseq = excluded.modseq`,
    [mailbox.id, uids, modSeq],
  );
  return modSeq;
}

/**
 * Copy or move: new UIDs (and one new MODSEQ) in the destination. A copy
 * adds blob references and usage; a move within one account changes
 * neither, and expunges the sources in the same transaction (RFC 6851 §3.3).
 */
async function transfer(c: Queryable, fromMailboxId: MailboxId, uids: number[], toMailboxId: MailboxId, move: boolean): Promise<CopyResult> {
  const [source, target] = await lockMailboxes(c, [fromMailboxId, toMailboxId]);
  const rows = await rowsByUid(c, fromMailboxId, uids);
  if (rows.length === 0) return { uidValidity: target.uidvalidity, uidMap: [] };
  const bytes = sum(rows.map((r) => r.size));
  const crossAccount = source.account_id !== target.account_id;
  if (!move || crossAccount) await charge(c, target.account_id, bytes);

  let expungeModSeq: number | undefined;
  if (move) {
    // Expunge first so that the kept UIDLs are free in the destination even when it is the source.
    expungeModSeq = await removeRows(c, source, rows);
    if (crossAccount) await releaseUsage(c, source.account_id, bytes);
    if (fromMailboxId === toMailboxId) target.highest_modseq = source.highest_modseq;
  }
  const { firstUid, modSeq } = await allocate(c, target, rows.length);
  if (!move) await addBlobReferences(c, rows.map((r) => r.blob_id));
  const taken = new Set<string>();
  if (move) {
    const r = await c.query<{ uidl: string }>('SELECT uidl FROM messages WHERE mailbox_id = $1 AND uidl = ANY($2::text[])', [
      toMailboxId,
      rows.map((row) => row.uidl),
    ]);
    for (const row of r.rows) taken.add(row.uidl);
  }
  const savedAt = Date.now();
  const uidMap: Array<[number, number]> = [];
  const newUids: number[] = [];
  const uidls: string[] = [];
  rows.forEach((row, i) => {
    const uid = firstUid + i;
    const generated = generateUidl(target.uidvalidity, uid);
    let uidl = generated;
    if (move && !taken.has(row.uidl)) {
      uidl = row.uidl;
      taken.add(row.uidl);
    }
    newUids.push(uid);
    uidls.push(uidl);
    uidMap.push([row.uid, uid]);
  });
  // RFC 8474 §5.1: a copy or a moved message keeps its EMAILID; RFC 8514: SAVEDATE is when it arrived here.
  await c.query(
    `INSERT INTO messages (mailbox_id, uid, blob_id, size, internal_date, flags, modseq, uidl, email_id, save_date, pop3_size)
       SELECT $1, u.uid, u.blob_id, u.size, u.internal_date, u.flags, $2, u.uidl, u.email_id, $3, u.pop3_size
       FROM unnest($4::bigint[], $5::text[], $6::bigint[], $7::bigint[], $8::text[], $9::text[], $10::text[], $11::bigint[])
         AS u(uid, blob_id, size, internal_date, flags, uidl, email_id, pop3_size)`,
    [
      toMailboxId,
      modSeq,
      savedAt,
      newUids,
      rows.map((r) => r.blob_id),
      rows.map((r) => r.size),
      rows.map((r) => r.internal_date),
      rows.map((r) => r.flags),
      uidls,
      rows.map((r) => r.email_id),
      rows.map((r) => r.pop3_size),
    ],
  );
  await count(c, toMailboxId, tally(rows));
  return expungeModSeq === undefined
    ? { uidValidity: target.uidvalidity, uidMap }
    : { uidValidity: target.uidvalidity, uidMap, expungeModSeq };
}

async function recordPop3SessionIn(
  c: Queryable,
  accountId: AccountId,
  device: string,
  session: { retrieved: string[]; deleted: string[] },
  at: Date,
): Promise<void> {
  if (session.retrieved.length === 0 && session.deleted.length === 0) return;
  await requireAccount(c, accountId);
  const time = at.getTime();
  // The first download and the first deletion are kept.
  const upsert = `INSERT INTO pop3_device_state (account_id, device, uidl, downloaded_at, deleted_at)
      SELECT $1, $2, u, $4::bigint, $5::bigint FROM unnest($3::text[]) AS u
    ON CONFLICT (account_id, device, uidl) DO UPDATE SET
      downloaded_at = coalesce(pop3_device_state.downloaded_at, excluded.downloaded_at),
      deleted_at = coalesce(pop3_device_state.deleted_at, excluded.deleted_at)`;
  if (session.retrieved.length > 0) await c.query(upsert, [accountId, device, [...new Set(session.retrieved)], time, null]);
  if (session.deleted.length > 0) await c.query(upsert, [accountId, device, [...new Set(session.deleted)], null, time]);
}


/** Moves the mailbox's counters by the sum of the tallies (one UPDATE, skipped when nothing moves). */
async function count(c: Queryable, mailboxId: MailboxId, ...tallies: Tally[]): Promise<void> {
  const t = { messages: 0, unseen: 0, bytes: 0, deleted: 0, deletedBytes: 0 };
  for (const x of tallies) {
    t.messages += x.messages;
    t.unseen += x.unseen;
    t.bytes += x.bytes;
    t.deleted += x.deleted;
    t.deletedBytes += x.deletedBytes;
  }
  if (t.messages === 0 && t.unseen === 0 && t.bytes === 0 && t.deleted === 0 && t.deletedBytes === 0) return;
  await c.query(
    `UPDATE mailboxes SET message_count = message_count + $1, unseen_count = unseen_count + $2,
       size_bytes = size_bytes + $3, deleted_count = deleted_count + $4, deleted_bytes = deleted_bytes + $5 WHERE id = $6`,
    [t.messages, t.unseen, t.bytes, t.deleted, t.deletedBytes, mailboxId],
  );
}

function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0);
}
