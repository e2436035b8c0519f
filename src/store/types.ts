/**
 * The storage interface. Every backend (SQLite today, PostgreSQL later, an
 * in-memory one for tests) implements `MailStore`; nothing above `store/`
 * knows which one it talks to. No protocol types cross this boundary: UIDs,
 * MODSEQs and flags are plain mail-domain values, errors are `StoreError`s
 * with protocol-neutral codes that each protocol maps in one file.
 *
 * All numbers (UID, UIDVALIDITY, MODSEQ, sizes) are JS numbers: UIDs and
 * UIDVALIDITY are 32-bit by RFC 9051, MODSEQ stays far below 2^53 in practice.
 */

import type { Readable } from 'node:stream';
import type { BlobWriter, StagedBlob } from './blob-store.js';

export type { BlobStore, BlobWriter, StagedBlob } from './blob-store.js';

export type AccountId = number;
export type MailboxId = number;

export interface Account {
  id: AccountId;
  /** Lower-cased login address, e.g. "alice@example.com". */
  address: string;
  passwordHash: string;
  /** Quota in bytes; null means unlimited. */
  quotaBytes: number | null;
  /** Sum of the sizes of all messages in all mailboxes of the account. */
  usedBytes: number;
  createdAt: Date;
}

/** RFC 6154 special-use attributes. */
export type SpecialUse = '\\Sent' | '\\Drafts' | '\\Trash' | '\\Junk' | '\\Archive' | '\\All' | '\\Flagged';

export interface Mailbox {
  id: MailboxId;
  accountId: AccountId;
  /** Full hierarchical name with "/" as the separator; "INBOX" is always upper case. */
  name: string;
  /** RFC 8474 MAILBOXID: kept across RENAME, never given to another mailbox. */
  objectId: string;
  specialUse: SpecialUse | null;
  subscribed: boolean;
  uidValidity: number;
  uidNext: number;
  highestModSeq: number;
  /** Number of messages, total size in bytes, number without \Seen: counters kept with every change, never a recount. */
  messageCount: number;
  unseenCount: number;
  sizeBytes: number;
  /** Messages with \Deleted and their total size in bytes (STATUS DELETED, DELETED-STORAGE), kept the same way. */
  deletedCount: number;
  deletedBytes: number;
}

export interface MessageMeta {
  uid: number;
  /** System flags (\Seen, \Answered, \Flagged, \Deleted, \Draft) and keywords, in a stable order. */
  flags: string[];
  internalDate: Date;
  size: number;
  modSeq: number;
  /** Content address of the message bytes in the blob store. */
  blobId: string;
  /** The POP3 unique id: stable across sessions and protocols. */
  uidl: string;
  /** RFC 8474 EMAILID: given at append, kept by copy and move. */
  emailId: string;
  /** RFC 8514 SAVEDATE: when the message was added to this mailbox; null for mail stored before it was kept. */
  saveDate: Date | null;
  /** RFC 1939 §5 size: octets as POP3 RETR sends them (CRLF line ends, final line end), before byte-stuffing. Kept at ingest. */
  pop3Size: number;
}

export interface NewMessage {
  content: Buffer;
  flags?: string[];
  internalDate?: Date;
  /** Keep this POP3 UIDL instead of generating one (migration of POP3 mail). */
  uidl?: string;
  /**
   * What the domain derived from the content at ingest (MIME structure,
   * envelope, preview: see src/mail/summary.ts), opaque to the store. It is
   * kept per blob, so copies share it.
   */
  summary?: string;
}

/** A message whose body was already streamed into the blob store (MailStore.createBlobWriter). */
export interface StagedMessage extends Omit<NewMessage, 'content'> {
  staged: StagedBlob;
}

export interface AppendResult {
  uidValidity: number;
  uid: number;
  modSeq: number;
}

export type FlagOperation = 'add' | 'remove' | 'replace';

/** A mailbox an account is created with (MailStore.createAccountWithMailboxes). */
export interface InitialMailbox {
  name: string;
  specialUse: SpecialUse | null;
  subscribed: boolean;
}

export interface MailboxChanges {
  /** Messages added or whose flags changed with MODSEQ > since, ascending by UID. */
  changed: MessageMeta[];
  /** UIDs expunged with MODSEQ > since, ascending. */
  expunged: number[];
  highestModSeq: number;
}

export interface CopyResult {
  uidValidity: number;
  /** Source UID -> destination UID, in ascending source order. */
  uidMap: Array<[number, number]>;
  /** For a move: the MODSEQ at which the sources were expunged. */
  expungeModSeq?: number;
}

// ---- POP3 policy and device state ----
// What a POP3 login sees and what its DELE does (per account), and what each
// POP3 device downloaded or deleted (keyed by UIDL, which MOVE keeps).

/** What POP3 offers: INBOX only, or every mailbox except Trash and Junk. */
export type Pop3Scope = 'inbox' | 'all';
/** What a DELE committed at QUIT does to the message. */
export type Pop3DeleAction = 'expunge' | 'hide' | 'seen' | 'archive' | 'trash';

export interface Pop3Policy {
  scope: Pop3Scope;
  /** Only mail whose internal date is at or after this is offered; null offers all mail. */
  since: Date | null;
  dele: Pop3DeleAction;
  /** RFC 2449 EXPIRE: days a POP3-downloaded message is kept; null keeps it (EXPIRE NEVER). */
  expireDays: number | null;
}

/**
 * What one POP3 UPDATE state changes (RFC 1939 §6), as the domain decided it
 * from the account's policy: MailStore.commitPop3Update applies it in one
 * transaction, in this order: device state, flags, expunges, moves.
 */
export interface Pop3Update {
  accountId: AccountId;
  device: string;
  /** UIDLs for the device state (recordPop3Session): fully retrieved, and deleted. */
  retrieved: string[];
  deleted: string[];
  at: Date;
  addFlags: Array<{ mailboxId: MailboxId; uids: number[]; flags: string[] }>;
  expunge: Array<{ mailboxId: MailboxId; uids: number[] }>;
  move: Array<{ fromMailboxId: MailboxId; uids: number[]; toMailboxId: MailboxId }>;
}

/** One device's record of one message. Device '' is the untagged, account-wide login. */
export interface Pop3DeviceRecord {
  device: string;
  uidl: string;
  downloadedAt: Date | null;
  deletedAt: Date | null;
}

/**
 * RFC 5464 METADATA: where an entry lives and whose it is. `mailboxId` null
 * is a server entry. `accountId` is the account the entry belongs to: the
 * user for /private entries and server entries, the mailbox's owner for a
 * mailbox's /shared entries (so every user who may see the mailbox sees them).
 */
export interface MetadataScope {
  accountId: AccountId;
  mailboxId: MailboxId | null;
}

/** One stored METADATA entry: `name` lower case with its /private or /shared prefix; the value is octets (RFC 5464 §3.2). */
export interface MetadataEntry {
  name: string;
  value: Buffer;
}

/** A METADATA change (MailStore.setMetadata): a null value removes the entry. */
export interface MetadataChange {
  scope: MetadataScope;
  name: string;
  value: Buffer | null;
}

/**
 * RFC 4314: rights granted on a mailbox to one identifier, an account's
 * address (`accountId` that account) or "anyone" (`accountId` null). The
 * owner's rights are implicit and never stored.
 */
export interface AclEntry {
  identifier: string;
  accountId: AccountId | null;
  /** RFC 4314 §2.1 letters, in canonical order; never empty when stored. */
  rights: string;
}

export type StoreErrorCode =
  | 'STORE_OVER_QUOTA'
  | 'STORE_NO_SUCH_ACCOUNT'
  | 'STORE_ACCOUNT_EXISTS'
  | 'STORE_NO_SUCH_MAILBOX'
  | 'STORE_MAILBOX_EXISTS'
  | 'STORE_MAILBOX_HAS_CHILDREN'
  | 'STORE_MAILBOX_PROTECTED'
  | 'STORE_INVALID_NAME'
  | 'STORE_UNAVAILABLE'
  /** The disk (or the filesystem holding the store) is full: nothing was changed; retry once space is freed. */
  | 'STORE_FULL'
  /** RFC 5464: the change would give an account more METADATA entries than allowed (setMetadata): nothing was changed. */
  | 'STORE_METADATA_TOO_MANY';

/** A protocol-neutral storage failure; `imap/errors.ts`, `pop3/errors.ts` and `lmtp/` map it to replies. */
export class StoreError extends Error {
  constructor(
    readonly code: StoreErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'StoreError';
  }
}

/** What startup recovery found and repaired (MailStore.recover). */
export interface RecoveryReport {
  /** Message bodies no message refers to (left by a crash between writing a body and committing its message). */
  orphanBlobs: number;
  /** Bodies whose reference count disagreed with the messages naming them, set right. */
  repairedReferenceCounts: number;
}

export interface MailStore {
  // ---- accounts ----
  createAccount(address: string, passwordHash: string, quotaBytes: number | null): Promise<Account>;
  /**
   * Creates an account with its first mailboxes (each with a fresh
   * UIDVALIDITY) and their subscriptions in one transaction: afterwards the
   * account exists whole or not at all. Throws STORE_ACCOUNT_EXISTS, STORE_MAILBOX_EXISTS.
   */
  createAccountWithMailboxes(
    address: string,
    passwordHash: string,
    quotaBytes: number | null,
    mailboxes: InitialMailbox[],
  ): Promise<Account>;
  getAccount(address: string): Promise<Account | null>;
  getAccountById(id: AccountId): Promise<Account | null>;
  listAccounts(): Promise<Account[]>;
  /** Deletes the account, its mailboxes, its messages and blobs no longer referenced. */
  deleteAccount(id: AccountId): Promise<void>;
  setPasswordHash(id: AccountId, passwordHash: string): Promise<void>;
  setQuota(id: AccountId, quotaBytes: number | null): Promise<void>;

  // ---- mailboxes ----
  listMailboxes(accountId: AccountId): Promise<Mailbox[]>;
  /** Case-sensitive except INBOX, which callers normalise before calling. */
  getMailbox(accountId: AccountId, name: string): Promise<Mailbox | null>;
  getMailboxById(id: MailboxId): Promise<Mailbox | null>;
  /** Creates a mailbox with a fresh UIDVALIDITY; throws STORE_MAILBOX_EXISTS. */
  createMailbox(accountId: AccountId, name: string, specialUse?: SpecialUse | null): Promise<Mailbox>;
  /** Deletes a mailbox and its messages; the UIDVALIDITY it had is never given again to a mailbox of that name. */
  deleteMailbox(id: MailboxId): Promise<void>;
  /** Renames a mailbox and every mailbox below it ("a" -> "b" renames "a/x" to "b/x"). UIDVALIDITY is kept. */
  renameMailbox(id: MailboxId, newName: string): Promise<void>;
  setSubscribed(accountId: AccountId, name: string, subscribed: boolean): Promise<void>;
  /** Subscribed names, including names of mailboxes that no longer exist (RFC 9051 §6.3.7). */
  listSubscriptions(accountId: AccountId): Promise<string[]>;

  // ---- messages ----
  /**
   * Stores a message durably (committed and synced before the promise resolves),
   * checking the account quota inside the same transaction. Throws STORE_OVER_QUOTA.
   */
  appendMessage(mailboxId: MailboxId, message: NewMessage): Promise<AppendResult>;
  /**
   * Stores several messages in one transaction: all or none (RFC 3502
   * MULTIAPPEND). The quota is checked for their sum. Results in input order,
   * UIDs ascending; they share one MODSEQ.
   */
  appendMessages(mailboxId: MailboxId, messages: NewMessage[]): Promise<AppendResult[]>;
  /** All messages of a mailbox, ascending by UID. */
  listMessages(mailboxId: MailboxId): Promise<MessageMeta[]>;
  getMessages(mailboxId: MailboxId, uids: number[]): Promise<MessageMeta[]>;
  /** The change log: what happened in the mailbox after `sinceModSeq`. */
  getChanges(mailboxId: MailboxId, sinceModSeq: number): Promise<MailboxChanges>;
  /**
   * Messages [offset, offset + limit) of a mailbox in arrival order (internal
   * date, then UID; newest first when asked), read through an index, so that
   * a page deep in a large mailbox costs about what the first one does (JMAP
   * Email/query). Throws STORE_NO_SUCH_MAILBOX.
   */
  listMessagesPage(mailboxId: MailboxId, offset: number, limit: number, newestFirst: boolean): Promise<MessageMeta[]>;
  /** The account's messages carrying these RFC 8474 EMAILIDs, in any mailbox (one JMAP Email), by mailbox then UID. */
  findByEmailIds(accountId: AccountId, emailIds: string[]): Promise<Array<{ mailboxId: MailboxId; message: MessageMeta }>>;
  /** The bytes of a message (or null when the blob is gone). */
  readBlob(blobId: string): Promise<Buffer | null>;
  /**
   * A writer into the blob store: the body is written as it arrives and made
   * durable by `commit()`; the staged body is then named by `appendStaged`
   * (once, or once per recipient's mailbox) and always handed back with
   * `releaseStaged`. Memory stays bounded whatever the message size.
   */
  createBlobWriter(): BlobWriter;
  /**
   * Like appendMessages (one transaction, quota checked, all or none) for
   * bodies already committed by a blob writer and not yet released.
   */
  appendStaged(mailboxId: MailboxId, messages: StagedMessage[]): Promise<AppendResult[]>;
  /**
   * Ends the caller's hold on staged bodies, appended or not (once per
   * `commit()`): a body no message names is removed. Until then a staged body
   * is never removed; a crash before it leaves an orphan that recover() removes.
   */
  releaseStaged(staged: StagedBlob[]): Promise<void>;
  /** Octets [start, end) of a body (end exclusive, clamped) as a stream with backpressure; null when the blob is gone. */
  openBlobRange(blobId: string, start: number, end: number): Promise<Readable | null>;
  /** Size of a body in octets, or null when the blob is gone. */
  blobSize(blobId: string): Promise<number | null>;
  /** Stored summaries of the given blobs (see NewMessage.summary); blobs without one are left out. */
  readSummaries(blobIds: string[]): Promise<Map<string, string>>;
  /** Stores (or replaces) a blob's summary, e.g. computed late for mail stored before summaries existed. Ignored when the blob is gone. */
  saveSummary(blobId: string, summary: string): Promise<void>;
  /**
   * Changes flags of the given UIDs; only messages whose flags actually change
   * get a new MODSEQ and are returned. `unchangedSince` (RFC 7162) is reserved.
   */
  updateFlags(mailboxId: MailboxId, uids: number[], op: FlagOperation, flags: string[]): Promise<MessageMeta[]>;
  /**
   * RFC 7162 §3.1.3 conditional STORE: like updateFlags, but a message whose
   * MODSEQ is above `unchangedSince` is not touched and its UID is listed in
   * `modified` (test and change in one transaction).
   */
  updateFlagsUnchangedSince(
    mailboxId: MailboxId,
    uids: number[],
    op: FlagOperation,
    flags: string[],
    unchangedSince: number,
  ): Promise<{ changed: MessageMeta[]; modified: number[] }>;
  /** Copies messages (no blob is duplicated). Quota is checked. */
  copyMessages(fromMailboxId: MailboxId, uids: number[], toMailboxId: MailboxId): Promise<CopyResult>;
  /** Moves messages atomically: copy then expunge from the source in one transaction. */
  moveMessages(fromMailboxId: MailboxId, uids: number[], toMailboxId: MailboxId): Promise<CopyResult>;
  /**
   * RENAME of INBOX (RFC 9051 §6.3.6) in one transaction: creates the
   * mailboxes `names` in order (missing parents first, the new name last; each
   * with a fresh UIDVALIDITY) and moves every message of `fromMailboxId` into
   * the last one. Returns the mailboxes as created and the move. Throws
   * STORE_MAILBOX_EXISTS, STORE_NO_SUCH_MAILBOX.
   */
  moveAllToNewMailbox(fromMailboxId: MailboxId, names: string[]): Promise<{ created: Mailbox[]; moved: CopyResult }>;
  /** Expunges the given UIDs (those that exist); returns the UIDs removed, ascending. */
  expungeMessages(mailboxId: MailboxId, uids: number[]): Promise<number[]>;
  /**
   * Expunges, in one transaction, the messages that carry `flag` (any case)
   * at that moment: all of them, or only those among `uids` when given.
   * Returns the UIDs removed, ascending. Deciding and removing are one step,
   * so a flag another session removes meanwhile keeps its message.
   */
  expungeFlagged(mailboxId: MailboxId, flag: string, uids: number[] | null): Promise<number[]>;
  /**
   * IMAP4rev1 \Recent (RFC 3501 §2.3.2): each mailbox keeps the first UID no
   * session has been told of. In one atomic step this moves it up to `upToUid`
   * (never down; 0 only reads it) and returns it as it was before, so of two
   * sessions claiming the same UIDs only one gets them. Throws STORE_NO_SUCH_MAILBOX.
   */
  claimRecent(mailboxId: MailboxId, upToUid: number): Promise<number>;
  /** Messages no session has been told of yet (STATUS RECENT). Throws STORE_NO_SUCH_MAILBOX. */
  countRecent(mailboxId: MailboxId): Promise<number>;

  // ---- POP3 policy and device state ----
  /** The account's POP3 policy, or null when none was set (the caller applies its defaults). */
  getPop3Policy(accountId: AccountId): Promise<Pop3Policy | null>;
  /** Throws STORE_NO_SUCH_ACCOUNT. */
  setPop3Policy(accountId: AccountId, policy: Pop3Policy): Promise<void>;
  /**
   * Records, in one transaction, what a POP3 session of `device` retrieved and
   * deleted. The first download time and the first deletion time are kept.
   */
  recordPop3Session(
    accountId: AccountId,
    device: string,
    session: { retrieved: string[]; deleted: string[] },
    at: Date,
  ): Promise<void>;
  /**
   * The POP3 UPDATE state in one transaction: all of it is committed or none.
   * Returns the mailboxes whose messages changed (for the bus). Throws
   * STORE_NO_SUCH_MAILBOX, STORE_NO_SUCH_ACCOUNT, STORE_OVER_QUOTA (a move never grows usage).
   */
  commitPop3Update(update: Pop3Update): Promise<MailboxId[]>;
  /** UIDLs that any of `devices` deleted. */
  listPop3Deleted(accountId: AccountId, devices: string[]): Promise<string[]>;
  /** Every UIDL downloaded by any device, with the earliest download time. */
  listPop3Downloads(accountId: AccountId): Promise<Array<{ uidl: string; firstDownloadedAt: Date }>>;
  /** Every device record of the account, by device then UIDL. */
  listPop3DeviceState(accountId: AccountId): Promise<Pop3DeviceRecord[]>;
  /** Drops the records of every UIDL not in `keepUidls`; returns how many records went. */
  prunePop3State(accountId: AccountId, keepUidls: string[]): Promise<number>;

  // ---- METADATA (RFC 5464) ----
  /**
   * The entries of `scope` named in `names` and, with `descendants`, every
   * entry below one of them ("name/..."), ascending by name.
   */
  getMetadata(scope: MetadataScope, names: string[], descendants: boolean): Promise<MetadataEntry[]>;
  /**
   * Sets and removes entries in one transaction, all or none. Throws
   * STORE_METADATA_TOO_MANY when an account named by a change would then
   * hold more than `maxEntries` entries, STORE_NO_SUCH_MAILBOX. Entries of a
   * mailbox go with it when it is deleted and stay with it across RENAME.
   */
  setMetadata(changes: MetadataChange[], maxEntries: number): Promise<void>;

  // ---- access control lists (RFC 4314) ----
  /** The rights granted on a mailbox, ascending by identifier. */
  getAcl(mailboxId: MailboxId): Promise<AclEntry[]>;
  /** Sets an identifier's rights on a mailbox; empty rights remove its entry. Throws STORE_NO_SUCH_MAILBOX. */
  setAcl(mailboxId: MailboxId, entry: AclEntry): Promise<void>;
  /**
   * The mailboxes of other accounts with an entry for `accountId` or for
   * "anyone", each with that entry, ascending by owner and name (a mailbox
   * with both appears twice).
   */
  listSharedWith(accountId: AccountId): Promise<Array<{ mailbox: Mailbox; entry: AclEntry }>>;

  // ---- recovery ----
  /**
   * Startup recovery, run by the server before it listens: removes bodies no
   * message refers to and sets reference counts right, in one transaction.
   */
  recover(): Promise<RecoveryReport>;

  close(): Promise<void>;
}
