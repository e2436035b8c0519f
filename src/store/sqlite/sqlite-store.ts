/**
 * The embedded MailStore on SQLite: accounts and mailboxes here, message
 * operations in messages.ts. Every write is one transaction committed with
 * synchronous=FULL before the returned promise resolves.
 */
import { OpenMarks } from './open-marks.js';
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
} from '../types.js';
import { StoreError } from '../types.js';
import { BufferedAppends } from '../buffered-appends.js';
import { crashPoint } from '../../observability/fault.js';
import type { Readable } from 'node:stream';
import type { BlobWriter, LocalBlobStore, StagedBlob } from '../blob-store.js';
import type { SqliteDb } from './db.js';
import { MessageRepo, newMailboxObjectId } from './messages.js';
import { Pop3StateRepo } from './pop3-state.js';
import { MetadataRepo } from './metadata.js';
import { AclRepo } from './acl.js';
import type { AccountRow, MailboxListRow, MailboxRow } from './rows.js';
import { ACCOUNT_COLUMNS, MAILBOX_WITH_COUNTS, toAccount, toMailbox } from './rows.js';

const HIERARCHY_SEPARATOR = '/';

export class SqliteMailStore implements MailStore {
  private readonly messages: MessageRepo;
  private readonly pop3: Pop3StateRepo;
  private readonly metadata: MetadataRepo;
  private readonly acl: AclRepo;
  /** Settles when the latest appendMessages has committed (or failed). */
  private readonly bufferedAppends = new BufferedAppends(
    { put: (content) => this.blobs.put(content) },
    (staged) => this.releaseStaged(staged),
    true,
  );

  /** `marks`: this writer's open mark (open-marks.ts); null for a database in memory or a reader. */
  constructor(
    private readonly sql: SqliteDb,
    private readonly blobs: LocalBlobStore,
    private readonly marks: OpenMarks | null = null,
  ) {
    this.messages = new MessageRepo(sql, blobs);
    this.pop3 = new Pop3StateRepo(sql);
    this.metadata = new MetadataRepo(sql);
    this.acl = new AclRepo(sql);
  }

  // ------------------------------------------------------------------ accounts

  async createAccount(address: string, passwordHash: string, quotaBytes: number | null): Promise<Account> {
    return this.sql.write(() => {
      const info = this.sql
        .stmt('INSERT INTO accounts (address, password_hash, quota_bytes, used_bytes, created_at) VALUES (?, ?, ?, 0, ?)')
        .run(address, passwordHash, quotaBytes, Date.now());
      return toAccount(this.accountRow(Number(info.lastInsertRowid))!);
    });
  }

  async createAccountWithMailboxes(
    address: string,
    passwordHash: string,
    quotaBytes: number | null,
    mailboxes: InitialMailbox[],
  ): Promise<Account> {
    // The statements of createAccount, createMailbox and setSubscribed, in one transaction.
    return this.sql.write(() => {
      const id = Number(
        this.sql
          .stmt('INSERT INTO accounts (address, password_hash, quota_bytes, used_bytes, created_at) VALUES (?, ?, ?, 0, ?)')
          .run(address, passwordHash, quotaBytes, Date.now()).lastInsertRowid,
      );
      for (const m of mailboxes) {
        this.sql
          .stmt(
            'INSERT INTO mailboxes (account_id, name, special_use, uidvalidity, uidnext, highest_modseq, object_id) VALUES (?, ?, ?, ?, 1, 1, ?)',
          )
          .run(id, m.name, m.specialUse, this.nextUidValidity(), newMailboxObjectId());
        if (m.subscribed) this.sql.stmt('INSERT OR IGNORE INTO subscriptions (account_id, name) VALUES (?, ?)').run(id, m.name);
      }
      return toAccount(this.accountRow(id)!);
    });
  }

  async getAccount(address: string): Promise<Account | null> {
    const row = this.sql.read(() =>
      this.sql.stmt<AccountRow>(`SELECT ${ACCOUNT_COLUMNS} FROM accounts WHERE address = ?`).get(address),
    );
    return row ? toAccount(row) : null;
  }

  async getAccountById(id: AccountId): Promise<Account | null> {
    const row = this.sql.read(() => this.accountRow(id));
    return row ? toAccount(row) : null;
  }

  async listAccounts(): Promise<Account[]> {
    const rows = this.sql.read(() =>
      this.sql.stmt<AccountRow>(`SELECT ${ACCOUNT_COLUMNS} FROM accounts ORDER BY address`).all(),
    );
    return rows.map(toAccount);
  }

  async deleteAccount(id: AccountId): Promise<void> {
    const unreferenced = this.sql.write(() => {
      this.requireAccount(id);
      const blobIds = this.sql
        .stmt<{ blob_id: string }>(
          'SELECT blob_id FROM messages WHERE mailbox_id IN (SELECT id FROM mailboxes WHERE account_id = ?)',
        )
        .all(id)
        .map((r) => r.blob_id);
      // Cascades to mailboxes, messages, the expunge log and subscriptions; blobs are shared, so counted down.
      this.sql.stmt('DELETE FROM accounts WHERE id = ?').run(id);
      return this.messages.dropBlobReferences(blobIds);
    });
    this.messages.removeBodies(unreferenced);
  }

  async setPasswordHash(id: AccountId, passwordHash: string): Promise<void> {
    this.sql.write(() => {
      this.requireAccount(id);
      this.sql.stmt('UPDATE accounts SET password_hash = ? WHERE id = ?').run(passwordHash, id);
    });
  }

  async setQuota(id: AccountId, quotaBytes: number | null): Promise<void> {
    this.sql.write(() => {
      this.requireAccount(id);
      this.sql.stmt('UPDATE accounts SET quota_bytes = ? WHERE id = ?').run(quotaBytes, id);
    });
  }

  // ----------------------------------------------------------------- mailboxes

  async listMailboxes(accountId: AccountId): Promise<Mailbox[]> {
    const rows = this.sql.read(() =>
      this.sql.stmt<MailboxListRow>(`${MAILBOX_WITH_COUNTS} WHERE m.account_id = ? ORDER BY m.name`).all(accountId),
    );
    return rows.map(toMailbox);
  }

  async getMailbox(accountId: AccountId, name: string): Promise<Mailbox | null> {
    const row = this.sql.read(() =>
      this.sql.stmt<MailboxListRow>(`${MAILBOX_WITH_COUNTS} WHERE m.account_id = ? AND m.name = ?`).get(accountId, name),
    );
    return row ? toMailbox(row) : null;
  }

  async getMailboxById(id: MailboxId): Promise<Mailbox | null> {
    const row = this.sql.read(() => this.mailboxWithCounts(id));
    return row ? toMailbox(row) : null;
  }

  async createMailbox(accountId: AccountId, name: string, specialUse: SpecialUse | null = null): Promise<Mailbox> {
    const mailbox = this.sql.write(() => {
      this.requireAccount(accountId);
      const info = this.sql
        .stmt(
          'INSERT INTO mailboxes (account_id, name, special_use, uidvalidity, uidnext, highest_modseq, object_id) VALUES (?, ?, ?, ?, 1, 1, ?)',
        )
        .run(accountId, name, specialUse, this.nextUidValidity(), newMailboxObjectId());
      crashPoint('store.create.metadata-written');
      return toMailbox(this.mailboxWithCounts(Number(info.lastInsertRowid))!);
    });
    this.sql.afterCommit(() => crashPoint('store.create.metadata-committed'));
    return mailbox;
  }

  async deleteMailbox(id: MailboxId): Promise<void> {
    const unreferenced = this.sql.write(() => {
      const mailbox = this.messages.requireMailbox(id);
      const rows = this.sql
        .stmt<{ blob_id: string; size: number }>('SELECT blob_id, size FROM messages WHERE mailbox_id = ?')
        .all(id);
      // Cascades to its messages and expunge log; subscriptions are by name and stay (RFC 9051 §6.3.7).
      this.sql.stmt('DELETE FROM mailboxes WHERE id = ?').run(id);
      const dropped = this.messages.dropBlobReferences(rows.map((r) => r.blob_id));
      this.messages.release(
        mailbox.account_id,
        rows.reduce((total, r) => total + r.size, 0),
      );
      crashPoint('store.delete.metadata-written');
      return dropped;
    });
    this.sql.afterCommit(() => crashPoint('store.delete.metadata-committed'));
    this.messages.removeBodies(unreferenced);
  }

  /**
   * Renames the mailbox and its inferiors, keeping their ids, UIDVALIDITY and
   * messages. Subscriptions are left as they are: RFC 9051 §6.3.9 forbids the
   * server to drop a subscribed name on its own; the domain may move them.
   */
  async renameMailbox(id: MailboxId, newName: string): Promise<void> {
    const renamed = this.sql.write(() => {
      const mailbox = this.messages.requireMailbox(id);
      if (mailbox.name === newName) return false;
      const prefix = mailbox.name + HIERARCHY_SEPARATOR;
      // Every name starting with "old/" sorts in ["old/", "old0"): '0' follows '/' in ASCII and UTF-8.
      const inferiors = this.sql
        .stmt<Pick<MailboxRow, 'id' | 'name'>>(
          'SELECT id, name FROM mailboxes WHERE account_id = ? AND name >= ? AND name < ?',
        )
        .all(mailbox.account_id, prefix, mailbox.name + '0')
        .filter((m) => m.name.startsWith(prefix));
      const rename = this.sql.stmt('UPDATE mailboxes SET name = ? WHERE id = ?');
      rename.run(newName, id);
      for (const inferior of inferiors) {
        rename.run(newName + HIERARCHY_SEPARATOR + inferior.name.slice(prefix.length), inferior.id);
      }
      crashPoint('store.rename.metadata-written');
      return true;
    });
    if (renamed) this.sql.afterCommit(() => crashPoint('store.rename.metadata-committed'));
  }

  async setSubscribed(accountId: AccountId, name: string, subscribed: boolean): Promise<void> {
    this.sql.write(() => {
      this.requireAccount(accountId);
      const sql = subscribed
        ? 'INSERT OR IGNORE INTO subscriptions (account_id, name) VALUES (?, ?)'
        : 'DELETE FROM subscriptions WHERE account_id = ? AND name = ?';
      this.sql.stmt(sql).run(accountId, name);
    });
  }

  async listSubscriptions(accountId: AccountId): Promise<string[]> {
    const rows = this.sql.read(() =>
      this.sql.stmt<{ name: string }>('SELECT name FROM subscriptions WHERE account_id = ? ORDER BY name').all(accountId),
    );
    return rows.map((r) => r.name);
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

  async appendStaged(mailboxId: MailboxId, messages: StagedMessage[]): Promise<AppendResult[]> {
    return this.messages.appendStaged(mailboxId, messages);
  }

  async releaseStaged(staged: StagedBlob[]): Promise<void> {
    for (const s of staged) await this.blobs.release(s);
    this.messages.removeBodies([...new Set(staged.map((s) => s.blobId))]);
  }

  /** True when every one of the bodies is named by a message (the worker store's release, on its reader). */
  async blobsNamed(blobIds: string[]): Promise<boolean> {
    return this.messages.blobsNamed(blobIds);
  }

  /** Moves of pending bodies (worker-store.ts): name them inside the write lock (messages.ts). */
  async settlePending(items: Array<[string, string]>): Promise<{ ids: string[]; dirs: string[] }> {
    return this.messages.settlePending(items);
  }

  /** Moves of pending bodies: their files are durable, their committed bytes go. */
  async dropPending(blobIds: string[]): Promise<void> {
    this.messages.dropPending(blobIds);
  }

  /** The committed bytes of a body not yet in its file, or null. */
  async pendingBody(blobId: string): Promise<Buffer | null> {
    return this.messages.pendingBody(blobId);
  }

  async openBlobRange(blobId: string, start: number, end: number): Promise<Readable | null> {
    return this.blobs.openRange(blobId, start, end);
  }

  async blobSize(blobId: string): Promise<number | null> {
    return this.blobs.size(blobId);
  }

  async listMessages(mailboxId: MailboxId): Promise<MessageMeta[]> {
    return this.messages.list(mailboxId);
  }

  async getMessages(mailboxId: MailboxId, uids: number[]): Promise<MessageMeta[]> {
    return this.messages.get(mailboxId, uids);
  }

  async getChanges(mailboxId: MailboxId, sinceModSeq: number): Promise<MailboxChanges> {
    return this.messages.changes(mailboxId, sinceModSeq);
  }

  async listMessagesPage(mailboxId: MailboxId, offset: number, limit: number, newestFirst: boolean): Promise<MessageMeta[]> {
    return this.messages.page(mailboxId, offset, limit, newestFirst);
  }

  async findByEmailIds(accountId: AccountId, emailIds: string[]): Promise<Array<{ mailboxId: MailboxId; message: MessageMeta }>> {
    return this.messages.byEmailIds(accountId, emailIds);
  }

  async claimRecent(mailboxId: MailboxId, upToUid: number): Promise<number> {
    const read = () => this.sql.stmt<{ uid: number }>('SELECT first_recent_uid AS uid FROM mailboxes WHERE id = ?').get(mailboxId);
    const claim = (upTo: number) => {
      const row = read();
      if (!row) throw new StoreError('STORE_NO_SUCH_MAILBOX', `No such mailbox: ${mailboxId}`);
      if (upTo > row.uid) this.sql.stmt('UPDATE mailboxes SET first_recent_uid = ? WHERE id = ?').run(upTo, mailboxId);
      return row.uid;
    };
    // Nothing to claim (a read, or a mailbox whose mail was all seen) needs no write transaction;
    // the write one reads again and is atomic (one writer at a time).
    const first = this.sql.read(() => claim(0));
    return first >= upToUid ? first : this.sql.write(() => claim(upToUid));
  }

  async countRecent(mailboxId: MailboxId): Promise<number> {
    return this.sql.read(() => {
      const mailbox = this.messages.requireMailbox(mailboxId);
      const row = this.sql
        .stmt<{ n: number }>(
          'SELECT count(*) AS n FROM messages WHERE mailbox_id = ? AND uid >= (SELECT first_recent_uid FROM mailboxes WHERE id = ?)',
        )
        .get(mailbox.id, mailbox.id);
      return row?.n ?? 0;
    });
  }

  async readBlob(blobId: string): Promise<Buffer | null> {
    return this.blobs.read(blobId);
  }

  async readSummaries(blobIds: string[]): Promise<Map<string, string>> {
    return this.messages.readSummaries(blobIds);
  }

  async saveSummary(blobId: string, summary: string): Promise<void> {
    this.messages.saveSummary(blobId, summary);
  }

  async updateFlags(mailboxId: MailboxId, uids: number[], op: FlagOperation, flags: string[]): Promise<MessageMeta[]> {
    return this.messages.updateFlags(mailboxId, uids, op, flags);
  }

  async updateFlagsUnchangedSince(
    mailboxId: MailboxId,
    uids: number[],
    op: FlagOperation,
    flags: string[],
    unchangedSince: number,
  ): Promise<{ changed: MessageMeta[]; modified: number[] }> {
    return this.messages.updateFlagsIf(mailboxId, uids, op, flags, unchangedSince);
  }

  async copyMessages(fromMailboxId: MailboxId, uids: number[], toMailboxId: MailboxId): Promise<CopyResult> {
    return this.messages.copy(fromMailboxId, uids, toMailboxId);
  }

  async moveMessages(fromMailboxId: MailboxId, uids: number[], toMailboxId: MailboxId): Promise<CopyResult> {
    return this.messages.move(fromMailboxId, uids, toMailboxId);
  }

  async moveAllToNewMailbox(fromMailboxId: MailboxId, names: string[]): Promise<{ created: Mailbox[]; moved: CopyResult }> {
    // createMailbox's statement per name, then a move: nested, they are savepoints of one transaction.
    return this.sql.write(() => {
      if (names.length === 0) throw new StoreError('STORE_INVALID_NAME', 'No mailbox to move the messages to');
      const source = this.messages.requireMailbox(fromMailboxId);
      const created = names.map((name) => {
        const info = this.sql
          .stmt(
            'INSERT INTO mailboxes (account_id, name, special_use, uidvalidity, uidnext, highest_modseq, object_id) VALUES (?, ?, ?, ?, 1, 1, ?)',
          )
          .run(source.account_id, name, null, this.nextUidValidity(), newMailboxObjectId());
        return toMailbox(this.mailboxWithCounts(Number(info.lastInsertRowid))!);
      });
      const uids = this.messages.list(fromMailboxId).map((m) => m.uid);
      return { created, moved: this.messages.move(fromMailboxId, uids, created[created.length - 1].id) };
    });
  }

  async expungeMessages(mailboxId: MailboxId, uids: number[]): Promise<number[]> {
    const { removed, unreferenced } = this.messages.expunge(mailboxId, uids);
    this.messages.removeBodies(unreferenced);
    return removed;
  }

  async expungeFlagged(mailboxId: MailboxId, flag: string, uids: number[] | null): Promise<number[]> {
    const { removed, unreferenced } = this.messages.expunge(mailboxId, uids, flag);
    this.messages.removeBodies(unreferenced);
    return removed;
  }

  // ------------------------------------------------ POP3 policy and device state (pop3-state.ts)

  async getPop3Policy(accountId: AccountId): Promise<Pop3Policy | null> {
    return this.pop3.getPolicy(accountId);
  }

  async setPop3Policy(accountId: AccountId, policy: Pop3Policy): Promise<void> {
    this.pop3.setPolicy(accountId, policy);
  }

  async recordPop3Session(
    accountId: AccountId,
    device: string,
    session: { retrieved: string[]; deleted: string[] },
    at: Date,
  ): Promise<void> {
    this.pop3.recordSession(accountId, device, session, at);
  }

  async commitPop3Update(update: Pop3Update): Promise<MailboxId[]> {
    // Each step is a write transaction of its own elsewhere; nested here, they are savepoints of one.
    const unreferenced: string[] = [];
    const changed = this.sql.write(() => {
      const changed = new Set<MailboxId>();
      this.pop3.recordSession(update.accountId, update.device, { retrieved: update.retrieved, deleted: update.deleted }, update.at);
      for (const f of update.addFlags) {
        if (this.messages.updateFlags(f.mailboxId, f.uids, 'add', f.flags).length > 0) changed.add(f.mailboxId);
      }
      for (const e of update.expunge) {
        const expunged = this.messages.expunge(e.mailboxId, e.uids);
        unreferenced.push(...expunged.unreferenced);
        if (expunged.removed.length > 0) changed.add(e.mailboxId);
      }
      for (const m of update.move) {
        if (this.messages.move(m.fromMailboxId, m.uids, m.toMailboxId).uidMap.length > 0) changed.add(m.fromMailboxId).add(m.toMailboxId);
      }
      return [...changed];
    });
    // Bodies whose last message went are removed after the commit (a crash before leaves orphans for recover()).
    this.messages.removeBodies(unreferenced);
    return changed;
  }

  async listPop3Deleted(accountId: AccountId, devices: string[]): Promise<string[]> {
    return this.pop3.listDeleted(accountId, devices);
  }

  async listPop3Downloads(accountId: AccountId): Promise<Array<{ uidl: string; firstDownloadedAt: Date }>> {
    return this.pop3.listDownloads(accountId);
  }

  async listPop3DeviceState(accountId: AccountId): Promise<Pop3DeviceRecord[]> {
    return this.pop3.listState(accountId);
  }

  async prunePop3State(accountId: AccountId, keepUidls: string[]): Promise<number> {
    return this.pop3.prune(accountId, keepUidls);
  }

  // ------------------------------------------------------------ METADATA (metadata.ts)

  async getMetadata(scope: MetadataScope, names: string[], descendants: boolean): Promise<MetadataEntry[]> {
    return this.metadata.get(scope, names, descendants);
  }

  async setMetadata(changes: MetadataChange[], maxEntries: number): Promise<void> {
    this.metadata.set(changes, maxEntries);
  }

  // ------------------------------------------------ access control lists (acl.ts)

  async getAcl(mailboxId: MailboxId): Promise<AclEntry[]> {
    return this.acl.get(mailboxId);
  }

  async setAcl(mailboxId: MailboxId, entry: AclEntry): Promise<void> {
    this.acl.set(mailboxId, entry);
  }

  async listSharedWith(accountId: AccountId): Promise<Array<{ mailbox: Mailbox; entry: AclEntry }>> {
    return this.acl.sharedWith(accountId);
  }

  /**
   * Rows first (reference counts, rows nobody names), then the bodies: every
   * stored body that no row names is a crash's orphan (written, never
   * committed; or its last reference committed away before the removal).
   */
  async recover(): Promise<RecoveryReport> {
    // Bodies committed but not yet in their files (a writer killed after its commit): cheap when there are none.
    this.messages.adoptPending();
    // When every writer before us closed in order, nothing is half-done: no walk over every body file.
    const dead = this.marks?.dead() ?? null;
    if (dead !== null && dead.length === 0) return { orphanBlobs: 0, repairedReferenceCounts: 0 };
    const { orphanBlobs, repairedReferenceCounts, unreferenced } = this.messages.sweepBlobs();
    this.messages.removeBodies(unreferenced);
    const orphanBodies = await this.blobs.sweep((ids, remove) => this.messages.removeUnreferencedBodies(ids, remove));
    if (dead !== null) this.marks!.forget(dead);
    return { orphanBlobs: orphanBlobs + orphanBodies, repairedReferenceCounts };
  }

  async close(): Promise<void> {
    this.sql.close();
    // Only an orderly close that left no orphan behind spares the next start its walk.
    if (!this.messages.leftOrphans) this.marks?.release();
  }

  // ------------------------------------------------------------------- helpers

  private accountRow(id: AccountId): AccountRow | undefined {
    return this.sql.stmt<AccountRow>(`SELECT ${ACCOUNT_COLUMNS} FROM accounts WHERE id = ?`).get(id);
  }

  private requireAccount(id: AccountId): AccountRow {
    const row = this.accountRow(id);
    if (!row) throw new StoreError('STORE_NO_SUCH_ACCOUNT', `No such account: ${id}`);
    return row;
  }

  private mailboxWithCounts(id: MailboxId): MailboxListRow | undefined {
    return this.sql.stmt<MailboxListRow>(`${MAILBOX_WITH_COUNTS} WHERE m.id = ?`).get(id);
  }

  /**
   * A UIDVALIDITY never handed out before in this store (RFC 9051 §2.3.1.1):
   * the larger of "now" in seconds and the last one plus one, as Dovecot does,
   * so a mailbox deleted and recreated within the same second still gets a
   * new, larger value, and a clock set back cannot repeat an old one.
   */
  private nextUidValidity(): number {
    const last = this.sql
      .stmt<{ value: number }>("SELECT value FROM counters WHERE name = 'uidvalidity'")
      .get();
    const next = Math.max(Math.floor(Date.now() / 1000), (last?.value ?? 0) + 1);
    if (next > 0xffffffff) throw new StoreError('STORE_UNAVAILABLE', 'UIDVALIDITY space exhausted');
    this.sql
      .stmt("INSERT INTO counters (name, value) VALUES ('uidvalidity', ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value")
      .run(next);
    return next;
  }
}
