/**
 * Mail semantics shared by every protocol. Sessions (IMAP, POP3, LMTP, the
 * deliver command, importers) change mail only through this class: it
 * validates, calls the store (which commits durably), then signals the bus so
 * that every other session with the mailbox selected learns of the change.
 * Reads that change nothing (listing, change log, blob bytes) go to `store`.
 */
import type { MailboxListSignal, NotifyBus } from '../notify/bus.js';
import type {
  Account,
  AccountId,
  AppendResult,
  CopyResult,
  FlagOperation,
  Mailbox,
  MailStore,
  MessageMeta,
  NewMessage,
  SpecialUse,
} from '../store/types.js';
import { StoreError } from '../store/types.js';
import { canonicalMailboxName, HIERARCHY_SEPARATOR, validateMailboxName } from './mailbox-names.js';
import { type LoginOutcome, type LoginThrottle, throttledLogin } from './login-throttle.js';
import { inlineSummary, type SummaryOf } from './summarizer.js';
import { DEFAULT_PASSWORD_SETTINGS, hashPassword, type PasswordSettings, verifyPassword, withoutScram } from './passwords.js';

export interface MailDomainOptions {
  /** What is stored when a password is set (`[auth] scram`, `scramIterations`). */
  passwords?: PasswordSettings;
  /** Shared by every protocol of the node; absent (tests, CLI tools): each session only delays its failures. */
  loginThrottle?: LoginThrottle;
  /** How message summaries are computed (the server: its worker pool, summarizer.ts); absent: inline. */
  summaryOf?: SummaryOf;
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
  /**
   * (account, POP3 device tag) pairs with a session in the TRANSACTION state on
   * this node (RFC 1939 §8: exclusive-access lock). Per device: each device
   * has its own maildrop state, so a phone and a laptop may be in at once.
   */
  private readonly pop3Locks = new Set<string>();

  readonly passwords: PasswordSettings;
  readonly loginThrottle: LoginThrottle | null;
  /** The serialised summary of a message (ingest, and recomputing an old one): see summarizer.ts. */
  readonly summaryOf: SummaryOf;

  constructor(
    readonly store: MailStore,
    readonly bus: NotifyBus,
    options: MailDomainOptions = {},
  ) {
    this.passwords = options.passwords ?? DEFAULT_PASSWORD_SETTINGS;
    this.loginThrottle = options.loginThrottle ?? null;
    this.summaryOf = options.summaryOf ?? inlineSummary;
  }

  // ---------------------------------------------------------------- accounts

  async createAccount(address: string, password: string, quotaBytes: number | null = null): Promise<Account> {
    const normalised = normaliseAddress(address);
    if (!isValidAddress(normalised)) throw new StoreError('STORE_INVALID_NAME', `Not a valid address: ${address}`);
    const account = await this.store.createAccount(normalised, await hashPassword(password, undefined, this.passwords), quotaBytes);
    for (const [name, specialUse] of DEFAULT_MAILBOXES) {
      await this.store.createMailbox(account.id, name, specialUse);
      await this.store.setSubscribed(account.id, name, true);
    }
    return account;
  }

  async setPassword(address: string, password: string): Promise<void> {
    const account = await this.requireAccount(address);
    await this.store.setPasswordHash(account.id, await hashPassword(password, undefined, this.passwords));
  }

  async deleteAccount(address: string): Promise<void> {
    const account = await this.requireAccount(address);
    await this.store.deleteAccount(account.id);
  }

  async requireAccount(address: string): Promise<Account> {
    const account = await this.store.getAccount(normaliseAddress(address));
    if (!account) throw new StoreError('STORE_NO_SUCH_ACCOUNT', `No such account: ${address}`);
    return account;
  }

  /** The account when the password matches, otherwise null. Timing does not reveal whether the account exists. */
  async authenticate(address: string, password: string): Promise<Account | null> {
    const account = await this.store.getAccount(normaliseAddress(address));
    if (!account) {
      // Spend the same work as a real check so that unknown users are not told apart by timing.
      await verifyPassword(password, DUMMY_HASH);
      return null;
    }
    return (await verifyPassword(password, account.passwordHash)) ? account : null;
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

  /** Finds a mailbox by any spelling of its name (INBOX is case-insensitive). */
  getMailbox(accountId: AccountId, name: string): Promise<Mailbox | null> {
    return this.store.getMailbox(accountId, canonicalMailboxName(name));
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
    const parts = canonical.split(HIERARCHY_SEPARATOR);
    for (let i = 1; i < parts.length; i++) {
      const parent = parts.slice(0, i).join(HIERARCHY_SEPARATOR);
      if (await this.store.getMailbox(accountId, parent)) continue;
      await this.store.createMailbox(accountId, parent, null);
      this.publishList({ accountId, change: 'created', name: parent }, origin);
    }
  }

  private publishList(signal: MailboxListSignal, origin: string | undefined): void {
    this.bus.publishMailboxList(origin === undefined ? signal : { ...signal, origin });
  }

  async deleteMailbox(accountId: AccountId, name: string, origin?: string): Promise<void> {
    const canonical = canonicalMailboxName(name);
    if (canonical === 'INBOX') throw new StoreError('STORE_MAILBOX_PROTECTED', 'INBOX cannot be deleted');
    const mailbox = await this.requireMailbox(accountId, canonical);
    const all = await this.store.listMailboxes(accountId);
    // RFC 9051 §6.3.5: a mailbox with inferior names may be deleted only when it has no \Noselect
    // semantics to fall back on; we refuse, as Dovecot does, and say why.
    if (all.some((m) => m.name.startsWith(canonical + HIERARCHY_SEPARATOR))) {
      throw new StoreError('STORE_MAILBOX_HAS_CHILDREN', `Mailbox has children; delete them first: ${name}`);
    }
    await this.store.deleteMailbox(mailbox.id);
    this.bus.publish({ accountId, mailboxId: mailbox.id });
    this.publishList({ accountId, change: 'deleted', name: mailbox.name }, origin);
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
      const created = await this.createMailbox(accountId, target, null, origin);
      const uids = (await this.store.listMessages(source.id)).map((m) => m.uid);
      if (uids.length > 0) await this.store.moveMessages(source.id, uids, created.id);
      this.bus.publish({ accountId, mailboxId: source.id });
      this.bus.publish({ accountId, mailboxId: created.id });
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
    const result = await this.store.appendMessage(mailbox.id, { ...message, summary });
    this.bus.publish({ accountId: mailbox.accountId, mailboxId: mailbox.id });
    return result;
  }

  /**
   * Several messages into one mailbox, all or none (RFC 3502 MULTIAPPEND):
   * one store transaction, the quota checked for their sum.
   */
  async ingestMany(mailbox: Mailbox, messages: NewMessage[]): Promise<AppendResult[]> {
    const prepared = await Promise.all(messages.map(async (m) => ({ ...m, summary: m.summary ?? (await this.summaryOf(m.content)) })));
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
    const mailbox =
      (await this.getMailbox(account.id, mailboxName)) ?? (await this.requireMailbox(account.id, 'INBOX'));
    if (Buffer.isBuffer(message)) return this.ingest(mailbox, { content: toCrlf(message) });
    return this.ingest(mailbox, { content: message.content, summary: message.summary });
  }

  async updateFlags(
    mailbox: Mailbox,
    uids: number[],
    op: FlagOperation,
    flags: string[],
  ): Promise<MessageMeta[]> {
    const changed = await this.store.updateFlags(mailbox.id, uids, op, flags);
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
    const result = await this.store.updateFlagsUnchangedSince(mailbox.id, uids, op, flags, unchangedSince);
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

  // -------------------------------------------------------------- POP3 lock

  /** RFC 1939 §8: the maildrop is locked for the TRANSACTION state. Returns false when another session holds it. */
  tryLockMaildrop(accountId: AccountId, device = ''): boolean {
    const key = `${accountId}#${device}`;
    if (this.pop3Locks.has(key)) return false;
    this.pop3Locks.add(key);
    return true;
  }

  unlockMaildrop(accountId: AccountId, device = ''): void {
    this.pop3Locks.delete(`${accountId}#${device}`);
  }
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
