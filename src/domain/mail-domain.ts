/**
 * Mail semantics shared by every protocol. Sessions (IMAP, POP3, LMTP, the
 * deliver command, importers) change mail only through this class: it
 * validates, calls the store (which commits durably), then signals the bus so
 * that every other session with the mailbox selected learns of the change.
 * Sessions (imap/, pop3/, lmtp/) read through it too, never through `store`:
 * what a read means (which messages are \Deleted, where a body comes from,
 * what the quota is) is decided here once for every protocol and backend.
 */
import type { Readable } from 'node:stream';
import type { MailboxListSignal, NotifyBus } from '../notify/bus.js';
import type {
  Account,
  AccountId,
  AppendResult,
  CopyResult,
  FlagOperation,
  Mailbox,
  MailboxChanges,
  MailboxId,
  MailStore,
  MessageMeta,
  NewMessage,
  SpecialUse,
} from '../store/types.js';
import { StoreError } from '../store/types.js';
import { canonicalMailboxName, HIERARCHY_SEPARATOR, validateMailboxName } from './mailbox-names.js';
import { type LoginOutcome, type LoginThrottle, throttledLogin } from './login-throttle.js';
import { inlineSummary, inlineSummaryOfBody, type SummaryOf, type SummaryOfBody } from './summarizer.js';
import { BodyWriter, stageBody, type StagedBody } from './staged-body.js';
import { DEFAULT_PASSWORD_SETTINGS, hashPassword, type PasswordSettings, withoutScram } from './passwords.js';
import { CredentialChecker } from './credential-cache.js';
import { canonicalFlags, DELETED_FLAG, isDeleted } from './flags.js';
import { InMemoryMaildropLocks, type MaildropLocks } from './maildrop-locks.js';
import { loadMessage, messageSummaries, messageSummaryItems, type BodyRef, type LoadedMessage } from './message-content.js';
import type { MessageStructure, MessageSummary, SummaryItemValues } from '../mail/index.js';
import { readMetadata, writeMetadata, type MetadataAnswer, type MetadataQuery } from './metadata.js';
import { changeAcl, listRights, readAcl, requireRights, rightsOf } from './acl.js';
import { findMailbox, isSharedName, resolveMailbox, sharedMailboxes } from './shared-namespace.js';

export interface MailDomainOptions {
  /** What is stored when a password is set (`[auth] scram`, `scramIterations`). */
  passwords?: PasswordSettings;
  /** Shared by every protocol of the node; absent (tests, CLI tools): each session only delays its failures. */
  loginThrottle?: LoginThrottle;
  /** How message summaries are computed (the server: its worker pool, summarizer.ts); absent: inline. */
  summaryOf?: SummaryOf;
  /** How summaries of bodies streamed into the store are computed (the server: its worker pool); absent: inline. */
  summaryOfBody?: SummaryOfBody;
  /** The POP3 maildrop locks; absent: this process's memory (one node). */
  maildropLocks?: MaildropLocks;
  /** Verified-credential cache and bounded scrypt verifications (`[auth]`); absent: the defaults. */
  credentialChecker?: CredentialChecker;
}

/** The account's storage quota (RFC 9208 STORAGE): every message of every mailbox counts its size. */
export interface QuotaUsage {
  limitBytes: number;
  usedBytes: number;
}

/** The folders every new account starts with (RFC 6154 special-use). */
export const DEFAULT_MAILBOXES: ReadonlyArray<[string, SpecialUse | null]> = [
  ['INBOX', null],
  ['Sent', '\\Sent'],
  ['Drafts', '\\Drafts'],
  ['Trash', '\\Trash'],
  ['Junk', '\\Junk'],
  ['Archive', '\\Archive'],
];

/** A message ready for deliver(): see MailDomain.prepareDelivery. */
export interface PreparedDelivery {
  readonly content: Buffer;
  readonly summary: string;
  readonly prepared: true;
}

export function normaliseAddress(address: string): string {
  return address.trim().toLowerCase();
}

/** A deliberately loose check: something@something, no spaces or control characters. */
export function isValidAddress(address: string): boolean {
  return /^[^\s@\u0000-\u001f]+@[^\s@\u0000-\u001f]+$/.test(address) && address.length <= 254;
}

export class MailDomain {
  /** RFC 1939 §8 exclusive access, per (account, POP3 device): see maildrop-locks.ts. */
  private readonly maildropLocks: MaildropLocks;

  readonly passwords: PasswordSettings;
  readonly loginThrottle: LoginThrottle | null;
  readonly credentialChecker: CredentialChecker;
  /** The serialised summary of a message (ingest, and recomputing an old one): see summarizer.ts. */
  readonly summaryOf: SummaryOf;
  readonly summaryOfBody: SummaryOfBody;

  constructor(
    /** For domain/ and the administrator's CLI commands only; sessions use the methods (test/architecture/layers.test.ts). */
    readonly store: MailStore,
    readonly bus: NotifyBus,
    options: MailDomainOptions = {},
  ) {
    this.passwords = options.passwords ?? DEFAULT_PASSWORD_SETTINGS;
    this.loginThrottle = options.loginThrottle ?? null;
    this.credentialChecker = options.credentialChecker ?? new CredentialChecker();
    this.summaryOf = options.summaryOf ?? inlineSummary;
    this.summaryOfBody = options.summaryOfBody ?? inlineSummaryOfBody;
    this.maildropLocks = options.maildropLocks ?? new InMemoryMaildropLocks();
  }

  // ---------------------------------------------------------------- accounts

  async createAccount(address: string, password: string, quotaBytes: number | null = null): Promise<Account> {
    const normalised = normaliseAddress(address);
    if (!isValidAddress(normalised)) throw new StoreError('STORE_INVALID_NAME', `Not a valid address: ${address}`);
    // One transaction: a crash never leaves an account without its INBOX.
    return this.store.createAccountWithMailboxes(
      normalised,
      await hashPassword(password, undefined, this.passwords),
      quotaBytes,
      DEFAULT_MAILBOXES.map(([name, specialUse]) => ({ name, specialUse, subscribed: true })),
    );
  }

  async setPassword(address: string, password: string): Promise<void> {
    const account = await this.requireAccount(address);
    await this.store.setPasswordHash(account.id, await hashPassword(password, undefined, this.passwords));
    this.credentialChecker.forget(account.address);
  }

  async deleteAccount(address: string): Promise<void> {
    const account = await this.requireAccount(address);
    await this.store.deleteAccount(account.id);
    this.credentialChecker.forget(account.address);
  }

  async requireAccount(address: string): Promise<Account> {
    const account = await this.store.getAccount(normaliseAddress(address));
    if (!account) throw new StoreError('STORE_NO_SUCH_ACCOUNT', `No such account: ${address}`);
    return account;
  }

  /**
   * The account when the password matches, otherwise null. Timing does not reveal whether the account exists.
   * Throws VerificationsBusy when too many verifications wait (credential-cache.ts): a temporary failure.
   */
  async authenticate(address: string, password: string): Promise<Account | null> {
    const name = normaliseAddress(address);
    const account = await this.store.getAccount(name);
    if (!account) {
      // Spend the same work as a real check so that unknown users are not told apart by timing.
      await this.credentialChecker.check(name, DUMMY_HASH, password);
      return null;
    }
    // Keyed by the stored credential: a password changed by another process or node never hits an old entry.
    return (await this.credentialChecker.check(account.address, account.passwordHash, password)) ? account : null;
  }

  /**
   * A password login through the throttle (IMAP LOGIN and PLAIN, POP3, and
   * any later HTTP login): refused without a check while the source is
   * blocked, otherwise checked after the source's wait; failures are recorded
   * and answered after their delay. Unknown users and wrong passwords take
   * the same path and the same time.
   */
  passwordLogin(throttle: LoginThrottle, remoteAddress: string, address: string, password: string): Promise<LoginOutcome<Account>> {
    return throttledLogin(throttle, remoteAddress, normaliseAddress(address), () => this.authenticate(address, password));
  }

  /**
   * With SCRAM turned off (`[auth] scram = false`): removes the SCRAM keys
   * from every stored credential, so that only the memory-hard hash is left.
   * Returns how many credentials changed.
   */
  async removeScramCredentials(): Promise<number> {
    let changed = 0;
    for (const account of await this.store.listAccounts()) {
      const stripped = withoutScram(account.passwordHash);
      if (stripped === account.passwordHash) continue;
      await this.store.setPasswordHash(account.id, stripped);
      changed++;
    }
    return changed;
  }

  // --------------------------------------------------------------- mailboxes

  /**
   * Finds a mailbox by any spelling of its name (INBOX is case-insensitive),
   * or one another account shared with this one ("Shared/<owner>/<name>",
   * shared-namespace.ts), which it may see only with the "l" right (AclDenied).
   */
  getMailbox(accountId: AccountId, name: string): Promise<Mailbox | null> {
    return findMailbox(this.store, accountId, name);
  }

  async requireMailbox(accountId: AccountId, name: string): Promise<Mailbox> {
    const mailbox = await this.getMailbox(accountId, name);
    if (!mailbox) throw new StoreError('STORE_NO_SUCH_MAILBOX', `Mailbox does not exist: ${name}`);
    return mailbox;
  }

  /**
   * Creates a mailbox (and, as RFC 9051 §6.3.4 allows, any missing parents).
   * `origin` names the session asking, which the bus then does not tell.
   */
  async createMailbox(
    accountId: AccountId,
    name: string,
    specialUse: SpecialUse | null = null,
    origin?: string,
  ): Promise<Mailbox> {
    const canonical = validateMailboxName(name);
    if (canonical === 'INBOX') throw new StoreError('STORE_MAILBOX_EXISTS', 'INBOX always exists');
    await this.createParents(accountId, canonical, origin);
    const mailbox = await this.store.createMailbox(accountId, canonical, specialUse);
    this.publishList({ accountId, change: 'created', name: canonical }, origin);
    return mailbox;
  }

  private async createParents(accountId: AccountId, canonical: string, origin: string | undefined): Promise<void> {
    for (const parent of await this.missingParents(accountId, canonical)) {
      await this.store.createMailbox(accountId, parent, null);
      this.publishList({ accountId, change: 'created', name: parent }, origin);
    }
  }

  /** The parents of `canonical` that do not exist yet, outermost first. */
  private async missingParents(accountId: AccountId, canonical: string): Promise<string[]> {
    const parts = canonical.split(HIERARCHY_SEPARATOR);
    const missing: string[] = [];
    for (let i = 1; i < parts.length; i++) {
      const parent = parts.slice(0, i).join(HIERARCHY_SEPARATOR);
      if (!(await this.store.getMailbox(accountId, parent))) missing.push(parent);
    }
    return missing;
  }

  private publishList(signal: MailboxListSignal, origin: string | undefined): void {
    this.bus.publishMailboxList(origin === undefined ? signal : { ...signal, origin });
  }

  async deleteMailbox(accountId: AccountId, name: string, origin?: string): Promise<void> {
    const canonical = canonicalMailboxName(name);
    if (canonical === 'INBOX') throw new StoreError('STORE_MAILBOX_PROTECTED', 'INBOX cannot be deleted');
    const found = await this.requireMailbox(accountId, canonical);
    // A shared mailbox (the session checked the "x" right) is its owner's: their name, hierarchy and sessions.
    const mailbox = found.accountId === accountId ? found : ((await this.store.getMailboxById(found.id)) ?? found);
    if (mailbox.name === 'INBOX') throw new StoreError('STORE_MAILBOX_PROTECTED', 'INBOX cannot be deleted');
    const all = await this.store.listMailboxes(mailbox.accountId);
    // RFC 9051 §6.3.5: a mailbox with inferior names may be deleted only when it has no \Noselect
    // semantics to fall back on; we refuse, as Dovecot does, and say why.
    if (all.some((m) => m.name.startsWith(mailbox.name + HIERARCHY_SEPARATOR))) {
      throw new StoreError('STORE_MAILBOX_HAS_CHILDREN', `Mailbox has children; delete them first: ${name}`);
    }
    await this.store.deleteMailbox(mailbox.id);
    this.bus.publish({ accountId: mailbox.accountId, mailboxId: mailbox.id });
    this.publishList({ accountId: mailbox.accountId, change: 'deleted', name: mailbox.name }, origin);
  }

  async renameMailbox(accountId: AccountId, from: string, to: string, origin?: string): Promise<void> {
    const source = await this.requireMailbox(accountId, from);
    const target = validateMailboxName(to);
    if (await this.store.getMailbox(accountId, target)) {
      throw new StoreError('STORE_MAILBOX_EXISTS', `Mailbox already exists: ${to}`);
    }
    if (target === source.name || target.startsWith(source.name + HIERARCHY_SEPARATOR)) {
      throw new StoreError('STORE_INVALID_NAME', 'Cannot rename a mailbox into itself');
    }
    if (source.name === 'INBOX') {
      // RFC 9051 §6.3.6: renaming INBOX moves its messages to the new name and leaves INBOX empty.
      // One transaction with the new mailbox (and its missing parents): never a new mailbox without them.
      const names = [...(await this.missingParents(accountId, target)), target];
      const { created } = await this.store.moveAllToNewMailbox(source.id, names);
      for (const m of created) this.publishList({ accountId, change: 'created', name: m.name }, origin);
      this.bus.publish({ accountId, mailboxId: source.id });
      this.bus.publish({ accountId, mailboxId: created[created.length - 1].id });
      return;
    }
    await this.createParents(accountId, target, origin);
    await this.store.renameMailbox(source.id, target);
    this.bus.publish({ accountId, mailboxId: source.id });
    this.publishList({ accountId, change: 'renamed', name: target, oldName: source.name }, origin);
  }

  async setSubscribed(accountId: AccountId, name: string, subscribed: boolean, origin?: string): Promise<void> {
    const canonical = subscribed ? validateMailboxName(name) : canonicalMailboxName(name);
    await this.store.setSubscribed(accountId, canonical, subscribed);
    this.publishList({ accountId, change: subscribed ? 'subscribed' : 'unsubscribed', name: canonical }, origin);
  }

  // ---------------------------------------------------------------- messages

  /**
   * The one path for all new mail: LMTP, the deliver command, APPEND, import.
   * The store checks the quota and commits durably before this resolves.
   */
  async ingest(mailbox: Mailbox, message: NewMessage): Promise<AppendResult> {
    // The MIME structure, envelope and preview are computed once, here, and stored with the message.
    const summary = message.summary ?? (await this.summaryOf(message.content));
    const result = await this.store.appendMessage(mailbox.id, withCanonicalFlags({ ...message, summary }));
    this.bus.publish({ accountId: mailbox.accountId, mailboxId: mailbox.id });
    return result;
  }

  /**
   * Several messages into one mailbox, all or none (RFC 3502 MULTIAPPEND):
   * one store transaction, the quota checked for their sum.
   */
  async ingestMany(mailbox: Mailbox, messages: NewMessage[]): Promise<AppendResult[]> {
    const prepared = await Promise.all(
      messages.map(async (m) => withCanonicalFlags({ ...m, summary: m.summary ?? (await this.summaryOf(m.content)) })),
    );
    const results = await this.store.appendMessages(mailbox.id, prepared);
    if (results.length > 0) this.bus.publish({ accountId: mailbox.accountId, mailboxId: mailbox.id });
    return results;
  }

  /**
   * A message as deliver() stores it (CRLF line ends) with its summary, computed
   * once: LMTP prepares each transaction once for all its recipients, since
   * every recipient gets the same bytes.
   */
  async prepareDelivery(content: Buffer): Promise<PreparedDelivery> {
    const crlf = toCrlf(content);
    return { content: crlf, summary: await this.summaryOf(crlf), prepared: true };
  }

  /**
   * Local delivery (LMTP, deliver): into `mailboxName` when it exists, else INBOX (as Dovecot's LDA does).
   * `message` is the raw content, or what prepareDelivery made of it.
   */
  async deliver(address: string, message: Buffer | PreparedDelivery, mailboxName = 'INBOX'): Promise<AppendResult> {
    const account = await this.requireAccount(address);
    // The account's own folders only: delivery never lands in a folder shared with it.
    const mailbox =
      (await this.store.getMailbox(account.id, canonicalMailboxName(mailboxName))) ?? (await this.requireMailbox(account.id, 'INBOX'));
    if (Buffer.isBuffer(message)) return this.ingest(mailbox, { content: toCrlf(message) });
    return this.ingest(mailbox, { content: message.content, summary: message.summary });
  }

  /**
   * A new message's body written to the store as it arrives (LMTP DATA, an
   * APPEND literal), never held whole: `crlf` makes bare LF line ends CRLF
   * on the way, as deliver() stores them. The caller appends it
   * (deliverStaged, ingestStaged) and must always hand it back once with
   * releaseBodies, appended or not; a crash before that leaves an orphan
   * that startup recovery removes.
   */
  stageBody(chunks: AsyncIterable<Buffer> | Iterable<Buffer>, options: { crlf: boolean }): Promise<StagedBody> {
    return stageBody(this.store, this.summaryOfBody, chunks, options.crlf);
  }

  /** Like stageBody, for a body whose pieces the caller writes itself as they arrive (an APPEND literal). */
  openBodyWriter(options: { crlf: boolean }): BodyWriter {
    return new BodyWriter(this.store, this.summaryOfBody, options.crlf);
  }

  /** deliver() of a staged body: into `mailboxName` when it exists, else INBOX. */
  async deliverStaged(address: string, body: StagedBody, mailboxName = 'INBOX'): Promise<AppendResult> {
    const account = await this.requireAccount(address);
    // The account's own folders only: delivery never lands in a folder shared with it.
    const mailbox =
      (await this.store.getMailbox(account.id, canonicalMailboxName(mailboxName))) ?? (await this.requireMailbox(account.id, 'INBOX'));
    const [result] = await this.store.appendStaged(mailbox.id, [{ staged: body.staged, summary: body.summary }]);
    this.bus.publish({ accountId: mailbox.accountId, mailboxId: mailbox.id });
    return result!;
  }

  /** ingestMany() of staged bodies: one transaction, all or none, the quota checked for their sum (RFC 3502 MULTIAPPEND). */
  async ingestStaged(
    mailbox: Mailbox,
    messages: Array<{ body: StagedBody; flags?: string[]; internalDate?: Date }>,
  ): Promise<AppendResult[]> {
    const staged = messages.map(({ body, flags, internalDate }) => ({
      staged: body.staged,
      summary: body.summary,
      ...(flags ? { flags: canonicalFlags(flags) } : {}),
      ...(internalDate ? { internalDate } : {}),
    }));
    const results = await this.store.appendStaged(mailbox.id, staged);
    if (results.length > 0) this.bus.publish({ accountId: mailbox.accountId, mailboxId: mailbox.id });
    return results;
  }

  /** Ends the hold on staged bodies (once per stageBody): a body no message names is removed. */
  releaseBodies(bodies: StagedBody[]): Promise<void> {
    return bodies.length > 0 ? this.store.releaseStaged(bodies.map((b) => b.staged)) : Promise.resolve();
  }

  async updateFlags(
    mailbox: Mailbox,
    uids: number[],
    op: FlagOperation,
    flags: string[],
  ): Promise<MessageMeta[]> {
    const changed = await this.store.updateFlags(mailbox.id, uids, op, canonicalFlags(flags));
    if (changed.length > 0) this.bus.publish({ accountId: mailbox.accountId, mailboxId: mailbox.id });
    return changed;
  }

  /** RFC 7162 §3.1.3 STORE (UNCHANGEDSINCE n): messages changed after n are left alone and returned in `modified`. */
  async updateFlagsUnchangedSince(
    mailbox: Mailbox,
    uids: number[],
    op: FlagOperation,
    flags: string[],
    unchangedSince: number,
  ): Promise<{ changed: MessageMeta[]; modified: number[] }> {
    const result = await this.store.updateFlagsUnchangedSince(mailbox.id, uids, op, canonicalFlags(flags), unchangedSince);
    if (result.changed.length > 0) this.bus.publish({ accountId: mailbox.accountId, mailboxId: mailbox.id });
    return result;
  }

  async copyMessages(from: Mailbox, uids: number[], to: Mailbox): Promise<CopyResult> {
    const result = await this.store.copyMessages(from.id, uids, to.id);
    if (result.uidMap.length > 0) this.bus.publish({ accountId: to.accountId, mailboxId: to.id });
    return result;
  }

  async moveMessages(from: Mailbox, uids: number[], to: Mailbox): Promise<CopyResult> {
    const result = await this.store.moveMessages(from.id, uids, to.id);
    if (result.uidMap.length > 0) {
      this.bus.publish({ accountId: from.accountId, mailboxId: from.id });
      this.bus.publish({ accountId: to.accountId, mailboxId: to.id });
    }
    return result;
  }

  async expungeMessages(mailbox: Mailbox, uids: number[]): Promise<number[]> {
    const removed = await this.store.expungeMessages(mailbox.id, uids);
    if (removed.length > 0) this.bus.publish({ accountId: mailbox.accountId, mailboxId: mailbox.id });
    return removed;
  }

  /**
   * IMAP EXPUNGE and CLOSE (RFC 9051 §6.4.3, §6.4.2): removes the messages
   * marked \Deleted, or with UID EXPUNGE (RFC 4315 §2.1) only those of them
   * in `only`. Returns the UIDs removed, ascending.
   */
  async expungeDeleted(mailbox: Mailbox, only: ReadonlySet<number> | null = null): Promise<number[]> {
    if (only && only.size === 0) return [];
    // One store step: a message whose \Deleted another session removes meanwhile is kept (RFC 9051 §6.4.3).
    const removed = await this.store.expungeFlagged(mailbox.id, DELETED_FLAG, only ? [...only] : null);
    if (removed.length > 0) this.bus.publish({ accountId: mailbox.accountId, mailboxId: mailbox.id });
    return removed;
  }

  // ------------------------------------------------------ reads for sessions

  /** The account of a login address (any spelling), or null. */
  findAccount(address: string): Promise<Account | null> {
    return this.store.getAccount(normaliseAddress(address));
  }

  accountById(id: AccountId): Promise<Account | null> {
    return this.store.getAccountById(id);
  }

  /** Resolves when the store answers a read (GET /healthz); rejects when it cannot (PostgreSQL unreachable, store closed). */
  async checkStore(): Promise<void> {
    await this.store.getAccountById(0);
  }

  /** The account's quota as it is now (not as at login), or null when it has none. */
  async quotaOf(account: Account): Promise<QuotaUsage | null> {
    const fresh = (await this.store.getAccountById(account.id)) ?? account;
    return fresh.quotaBytes === null ? null : { limitBytes: fresh.quotaBytes, usedBytes: fresh.usedBytes };
  }

  listMailboxes(accountId: AccountId): Promise<Mailbox[]> {
    return this.store.listMailboxes(accountId);
  }

  /** Subscribed names, including names of mailboxes that no longer exist (RFC 9051 §6.3.7). */
  listSubscriptions(accountId: AccountId): Promise<string[]> {
    return this.store.listSubscriptions(accountId);
  }

  /** A mailbox as it is now (counts, name after a RENAME), or null when it was deleted. */
  mailboxById(id: MailboxId): Promise<Mailbox | null> {
    return this.store.getMailboxById(id);
  }

  /** Every message of the mailbox, ascending by UID. */
  listMessages(mailbox: Mailbox): Promise<MessageMeta[]> {
    return this.store.listMessages(mailbox.id);
  }

  /** The messages of `uids` that still exist, ascending by UID. */
  messagesByUid(mailbox: Mailbox, uids: number[]): Promise<MessageMeta[]> {
    return this.store.getMessages(mailbox.id, uids);
  }

  /** Messages [offset, offset + limit) of the mailbox in arrival order, newest first when asked (JMAP Email/query). */
  messagesPage(mailbox: Mailbox, offset: number, limit: number, newestFirst: boolean): Promise<MessageMeta[]> {
    return this.store.listMessagesPage(mailbox.id, offset, limit, newestFirst);
  }

  /** Where the account's messages with these EMAILIDs are: a JMAP Email is one EMAILID in one or more mailboxes. */
  messagesByEmailId(accountId: AccountId, emailIds: string[]): Promise<Array<{ mailboxId: MailboxId; message: MessageMeta }>> {
    return this.store.findByEmailIds(accountId, emailIds);
  }

  /** What happened in the mailbox after `sinceModSeq`: the change log (RFC 7162 CONDSTORE/QRESYNC). */
  changesSince(mailbox: Mailbox, sinceModSeq: number): Promise<MailboxChanges> {
    return this.store.getChanges(mailbox.id, sinceModSeq);
  }

  /**
   * IMAP4rev1 \Recent (RFC 3501 §2.3.2): claims the messages below `upToUid`
   * no session has been told of (0 claims nothing) and returns the first UID
   * that was unclaimed; the caller's recent messages are those from it up.
   */
  claimRecent(mailbox: Mailbox, upToUid: number): Promise<number> {
    return this.store.claimRecent(mailbox.id, upToUid);
  }

  /** Messages no session has been told of yet (STATUS RECENT). */
  countRecent(mailbox: Mailbox): Promise<number> {
    return this.store.countRecent(mailbox.id);
  }

  /** The messages marked \Deleted, ascending by UID: what EXPUNGE would remove, what STATUS DELETED counts. */
  async deletedMessages(mailbox: Mailbox): Promise<MessageMeta[]> {
    return (await this.store.listMessages(mailbox.id)).filter(isDeleted);
  }

  /**
   * The bytes of a message, or null when they are gone (expunged meanwhile).
   * Every body read of every protocol goes through here or openBody (IMAP
   * FETCH, SEARCH, POP3 RETR, TOP, summaries computed late), so how bodies
   * are read (whole, streamed, by range) is decided in one place.
   */
  readBody(message: BodyRef): Promise<Buffer | null> {
    return this.store.readBlob(message.blobId);
  }

  /**
   * Octets [start, end) of a message (end exclusive, clamped to its size) as
   * a stream that reads as the consumer drains it, or null when the bytes
   * are gone: how FETCH BODY[] and POP3 RETR send a body of any size
   * without holding it.
   */
  openBody(message: BodyRef, start = 0, end = message.size): Promise<Readable | null> {
    return this.store.openBlobRange(message.blobId, start, end);
  }

  /** Octets [start, end) of a message as one Buffer (a bounded piece: a header, one part to decode), or null when gone. */
  async readBodyRange(message: BodyRef, start: number, end: number): Promise<Buffer | null> {
    const stream = await this.openBody(message, start, end);
    return stream ? readAll(stream) : null;
  }

  /**
   * The MIME summaries (structure, envelope, sort keys) of the messages, by
   * blob id; one missing or outdated is computed now and saved, so once per
   * blob. A message whose bytes are gone is left out.
   */
  messageSummaries(messages: Iterable<MessageMeta>): Promise<Map<string, MessageSummary>> {
    return messageSummaries(this.store, this.summaryOfBody, (m, end) => this.openBody(m, 0, end), messages);
  }

  /** ENVELOPE, BODY and BODYSTRUCTURE of the messages' summaries, by blob id: what a header sync reads (the rest is not parsed). */
  messageSummaryItems(messages: Iterable<MessageMeta>): Promise<Map<string, SummaryItemValues>> {
    return messageSummaryItems(this.store, this.summaryOfBody, (m, end) => this.openBody(m, 0, end), messages);
  }

  /** The bytes and MIME structure of a message (the given structure, else the stored one), or null when the bytes are gone. */
  loadMessage(message: MessageMeta, structure?: MessageStructure): Promise<LoadedMessage | null> {
    return loadMessage(this.store, this.summaryOf, (m) => this.readBody(m), message, structure);
  }

  // ------------------------------------------------------ METADATA (metadata.ts)

  /** RFC 5464 GETMETADATA: entries of `mailbox` (null: the server) as `user` sees them. Throws InvalidMetadataEntry. */
  readMetadata(user: Account, mailbox: Mailbox | null, names: string[], query: MetadataQuery): Promise<MetadataAnswer> {
    return readMetadata(this.store, user, mailbox, names, query);
  }

  /** RFC 5464 SETMETADATA: all or none; a null value removes. Throws InvalidMetadataEntry, MetadataValueTooLarge, STORE_METADATA_TOO_MANY. */
  writeMetadata(user: Account, mailbox: Mailbox | null, items: Array<{ name: string; value: Buffer | null }>): Promise<void> {
    return writeMetadata(this.store, user, mailbox, items);
  }

  // ------------------------------------------------ access control (acl.ts)

  /**
   * The mailbox a name given by `user` stands for: theirs, or one shared with
   * them ("Shared/<owner>/<name>", shared-namespace.ts) on which they hold "l".
   * Throws STORE_NO_SUCH_MAILBOX, AclDenied.
   */
  resolveMailbox(user: Account, name: string): Promise<Mailbox> {
    return resolveMailbox(this.store, user, name);
  }

  /** True when `name` is in the shared namespace for `user` ("Shared/<another account>/…"). */
  isSharedName(user: Account, name: string): Promise<boolean> {
    return isSharedName(this.store, user.id, name);
  }

  /** The user's mailboxes, then those shared with it (with "l"), named as the user knows them: what LIST shows. */
  async listVisibleMailboxes(user: Account): Promise<Mailbox[]> {
    return [...(await this.store.listMailboxes(user.id)), ...(await sharedMailboxes(this.store, user.id))];
  }

  /** RFC 4314 MYRIGHTS: what `user` may do on `mailbox` (the owner: everything). */
  myRights(user: Account, mailbox: Mailbox): Promise<string> {
    return rightsOf(this.store, user.id, mailbox);
  }

  /** Resolves with the rights held; throws AclDenied unless `user` holds every right in `needed`. */
  requireRights(user: Account, mailbox: Mailbox, needed: string): Promise<string> {
    return requireRights(this.store, user.id, mailbox, needed);
  }

  /** RFC 4314 GETACL (needs "a"): the owner with every right, then each identifier's. */
  readAcl(user: Account, mailbox: Mailbox): Promise<Array<{ identifier: string; rights: string }>> {
    return readAcl(this.store, user, mailbox);
  }

  /** RFC 4314 SETACL / DELETEACL (needs "a"): `modRights` replaces, "+…" adds, "-…" removes; "" deletes the entry. */
  changeAcl(user: Account, mailbox: Mailbox, identifier: string, modRights: string): Promise<void> {
    return changeAcl(this.store, user, mailbox, identifier, modRights);
  }

  /** RFC 4314 LISTRIGHTS (needs "a"). */
  listRights(user: Account, mailbox: Mailbox, identifier: string): Promise<{ required: string; optional: string[] }> {
    return listRights(this.store, user, mailbox, identifier);
  }

  // -------------------------------------------------------------- POP3 lock

  /** RFC 1939 §8: the maildrop is locked for the TRANSACTION state. Resolves false when another session holds it. */
  tryLockMaildrop(accountId: AccountId, device = ''): Promise<boolean> {
    return this.maildropLocks.tryLock(accountId, device);
  }

  unlockMaildrop(accountId: AccountId, device = ''): Promise<void> {
    return this.maildropLocks.unlock(accountId, device);
  }
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Flags as the domain defines them (flags.ts), whatever spelling and order the caller used. */
function withCanonicalFlags(message: NewMessage): NewMessage {
  return message.flags ? { ...message, flags: canonicalFlags(message.flags) } : message;
}

/**
 * Messages handed to local delivery from Unix files often end lines with a
 * bare LF; IMAP and POP3 serve CRLF (RFC 5322 §2.3) and RFC822.SIZE must count
 * what is sent, so delivery stores CRLF. Already-CRLF input is returned as is.
 */
export function toCrlf(content: Buffer): Buffer {
  let bare = 0;
  for (let i = content.indexOf(10); i !== -1; i = content.indexOf(10, i + 1)) {
    if (i === 0 || content[i - 1] !== 13) bare++;
  }
  if (bare === 0) return content;
  const out = Buffer.allocUnsafe(content.length + bare);
  let o = 0;
  for (let i = 0; i < content.length; i++) {
    const b = content[i];
    if (b === 10 && (i === 0 || content[i - 1] !== 13)) out[o++] = 13;
    out[o++] = b;
  }
  return out;
}

/** A valid hash of a random password, for constant-work authentication of unknown users. */
const DUMMY_HASH =
  '$scrypt$ln=15,r=8,p=1$c2FsdHNhbHRzYWx0c2FsdA==$XJ0aC4r0vAq1Qe4i5xvdmL6VOPqOu6ZbK7f1q5m3Rj8=';
