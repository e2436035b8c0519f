/**
 * RFC 5465 NOTIFY: what one session asked to hear about its other mailboxes,
 * and the changes it has not been told of yet.
 *
 * The bus says only "mailbox M changed" (or, for the mailbox list, "created /
 * renamed / deleted / (un)subscribed NAME"). The session notes the mailbox;
 * at its next safe point (the end of a command, or at once in IDLE) flush()
 * reads the mailbox and compares it with what the client was last told, to
 * tell a new message (UIDNEXT moved, §5.1) from an expunge (MESSAGES fell
 * short, §5.2) from a flag change (only HIGHESTMODSEQ moved, §5.3), and
 * answers with one STATUS per mailbox. Mailbox list changes become LIST
 * responses (§5.4, §5.5): OLDNAME after a rename, \NonExistent after a delete.
 *
 * The selected mailbox is not reported here: its view reports it (EXISTS,
 * EXPUNGE, FETCH) at the same safe points; MessageNew fetch attributes for it
 * are sent by sendNewMessageFetches.
 */
import { canonicalMailboxName, HIERARCHY_SEPARATOR } from '../domain/mailbox-names.js';
import type { MailboxListSignal } from '../notify/bus.js';
import type { FetchAttribute, ImapResponse, NotifyGroup } from '../protocol/imap/types.js';
import type { MailDomain } from '../domain/mail-domain.js';
import type { AccountId, Mailbox, MailboxId } from '../store/types.js';
import { fetchCommand } from './commands/fetch.js';
import type { CommandContext } from './state.js';

/** What NOTIFY reads: mailbox lists and states, through the domain. */
type MailboxLists = Pick<MailDomain, 'listMailboxes' | 'listSubscriptions' | 'mailboxById'>;

/** RFC 5465 events this server can report; any other is refused with NO [BADEVENT (these)]. */
export const SUPPORTED_EVENTS = ['MessageNew', 'MessageExpunge', 'FlagChange', 'MailboxName', 'SubscriptionChange'];
const MESSAGE_EVENTS = ['MessageNew', 'MessageExpunge', 'FlagChange'];

/**
 * Mailbox list changes kept for a session that has not reached a safe point
 * (a client that never ends IDLE while another creates mailboxes in a loop).
 * Past this the session gets NOTIFICATIONOVERFLOW (RFC 5465 §5.8).
 */
const MAX_PENDING_LIST_CHANGES = 1000;

/** A mailbox filter other than SELECTED, with its event names (empty for NONE). */
interface OtherGroup {
  kind: 'PERSONAL' | 'INBOXES' | 'SUBSCRIBED' | 'SUBTREE' | 'MAILBOXES';
  /** Store names for SUBTREE and MAILBOXES. */
  names: string[];
  events: Set<string>;
}

interface Snapshot {
  messages: number;
  uidNext: number;
  highestModSeq: number;
}

/** A NOTIFY SET checked by the command (commands/notify.ts), mailbox names already decoded. */
export interface NotifyConfig {
  /** SELECTED or SELECTED-DELAYED: MessageNew fetch attributes for new messages of the selected mailbox. */
  selectedFetch: FetchAttribute[] | null;
  groups: Array<{ filter: NotifyGroup['filter']['kind']; names: string[]; events: string[] }>;
}

export class SessionNotify {
  private readonly groups: OtherGroup[];
  private readonly changed = new Set<MailboxId>();
  private listChanges: MailboxListSignal[] = [];
  private overflowed = false;
  /** What the client was last told of each mailbox (or what it was when NOTIFY SET ran). */
  private readonly told = new Map<MailboxId, Snapshot>();

  constructor(readonly config: NotifyConfig) {
    this.groups = config.groups
      .filter((g): g is NotifyConfig['groups'][number] & { filter: OtherGroup['kind'] } =>
        g.filter !== 'SELECTED' && g.filter !== 'SELECTED-DELAYED',
      )
      .map((g) => ({ kind: g.filter, names: g.names, events: new Set(g.events) }));
  }

  get selectedFetch(): FetchAttribute[] | null {
    return this.config.selectedFetch;
  }

  /** Records a change signal for a mailbox; true when the session should wake to report it. */
  noteMailbox(mailboxId: MailboxId): boolean {
    if (this.overflowed || !this.groups.some((g) => MESSAGE_EVENTS.some((e) => g.events.has(e)))) return false;
    this.changed.add(mailboxId);
    return true;
  }

  /** Records a mailbox list change made by another session; true when the session should wake. */
  noteList(signal: MailboxListSignal): boolean {
    if (this.overflowed) return false;
    const event = listEvent(signal);
    if (!this.groups.some((g) => g.events.has(event))) return false;
    if (this.listChanges.length >= MAX_PENDING_LIST_CHANGES) {
      this.overflowed = true;
      this.listChanges = [];
      this.changed.clear();
    } else {
      this.listChanges.push(signal);
    }
    return true;
  }

  /**
   * Remembers the current state of every mailbox (so the first change is told
   * apart correctly) and returns the STATUS responses NOTIFY SET STATUS sends
   * (RFC 5465 §3.1: MESSAGES, UIDNEXT, UIDVALIDITY; UNSEEN and, with
   * CONDSTORE or FlagChange, HIGHESTMODSEQ too) for the mailboxes with message events.
   */
  async start(domain: MailboxLists, accountId: AccountId, selectedId: MailboxId | null, condstore: boolean): Promise<ImapResponse[]> {
    const out: ImapResponse[] = [];
    const subscriptions = await this.subscriptions(domain, accountId);
    for (const m of await domain.listMailboxes(accountId)) {
      this.told.set(m.id, snapshot(m));
      if (m.id === selectedId || !MESSAGE_EVENTS.some((e) => this.wants(e, m.name, subscriptions))) continue;
      const items: Array<[string, number]> = [
        ['MESSAGES', m.messageCount],
        ['UIDNEXT', m.uidNext],
        ['UIDVALIDITY', m.uidValidity],
        ['UNSEEN', m.unseenCount],
      ];
      // RFC 5465 §5.1: a flag change elsewhere is told by HIGHESTMODSEQ, so a client asking for
      // FlagChange gets it from the start (as Dovecot does), CONDSTORE or not.
      if (condstore || this.groups.some((g) => g.events.has('FlagChange'))) items.push(['HIGHESTMODSEQ', m.highestModSeq]);
      out.push({ type: 'status-data', mailbox: m.name, items });
    }
    return out;
  }

  /** The responses owed since the last flush: LIST for mailbox list changes, then one STATUS per changed mailbox. */
  async flush(domain: MailboxLists, accountId: AccountId, selectedId: MailboxId | null, condstore: boolean): Promise<ImapResponse[]> {
    if (this.overflowed) {
      // RFC 5465 §5.8: after the overflow no more notifications about other mailboxes.
      this.groups.length = 0;
      this.overflowed = false;
      return [{ type: 'status', tag: '*', status: 'OK', code: { name: 'NOTIFICATIONOVERFLOW' }, text: 'Too many changes; notifications about other mailboxes stopped' }];
    }
    if (this.listChanges.length === 0 && this.changed.size === 0) return [];
    const out: ImapResponse[] = [];
    const subscriptions = await this.subscriptions(domain, accountId);
    if (this.listChanges.length > 0) out.push(...(await this.listResponses(domain, accountId, subscriptions)));
    for (const id of [...this.changed]) {
      this.changed.delete(id);
      if (id === selectedId) continue;
      const m = await domain.mailboxById(id);
      if (!m) {
        this.told.delete(id); // deleted: the LIST \NonExistent says so
        continue;
      }
      // A mailbox created after NOTIFY SET started empty, as the store creates every mailbox.
      const before = this.told.get(id) ?? { messages: 0, uidNext: 1, highestModSeq: 1 };
      const events = changeEvents(before, m);
      this.told.set(id, snapshot(m));
      if (events.length === 0 || !events.some((e) => this.wants(e, m.name, subscriptions))) continue;
      // RFC 5465 §5.1-5.3: UIDNEXT and MESSAGES tell new mail and expunges apart, UNSEEN follows flag
      // changes; HIGHESTMODSEQ only for a client that uses CONDSTORE.
      const items: Array<[string, number]> = [
        ['MESSAGES', m.messageCount],
        ['UIDNEXT', m.uidNext],
        ['UNSEEN', m.unseenCount],
      ];
      if (condstore) items.push(['HIGHESTMODSEQ', m.highestModSeq]);
      out.push({ type: 'status-data', mailbox: m.name, items });
    }
    return out;
  }

  private async listResponses(domain: MailboxLists, accountId: AccountId, subscriptions: Set<string> | null): Promise<ImapResponse[]> {
    const out: ImapResponse[] = [];
    const all = await domain.listMailboxes(accountId);
    const subscribed = subscriptions ?? new Set(await domain.listSubscriptions(accountId));
    const changes = this.listChanges;
    this.listChanges = [];
    for (const signal of changes) {
      const event = listEvent(signal);
      const matches = this.wants(event, signal.name, subscriptions) || (signal.oldName !== undefined && this.wants(event, signal.oldName, subscriptions));
      if (!matches) continue;
      const names: Array<[string, string | undefined]> = [[signal.name, signal.oldName]];
      if (signal.change === 'renamed' && signal.oldName !== undefined) {
        // The store renamed the inferiors with the mailbox: each gets its own LIST with its old name.
        const prefix = signal.name + HIERARCHY_SEPARATOR;
        for (const m of all) if (m.name.startsWith(prefix)) names.push([m.name, signal.oldName + HIERARCHY_SEPARATOR + m.name.slice(prefix.length)]);
      }
      for (const [name, oldName] of names) {
        out.push({
          type: 'list',
          command: 'LIST',
          attributes: listAttributes(name, all, subscribed),
          delimiter: HIERARCHY_SEPARATOR,
          mailbox: name,
          ...(oldName !== undefined ? { oldName } : {}),
        });
      }
    }
    return out;
  }

  /**
   * RFC 5465 §6: the first group whose filter matches the mailbox decides;
   * NONE there means no notification, a group without the event lets later
   * groups decide (as Dovecot and mox read it).
   */
  private wants(event: string, name: string, subscriptions: Set<string> | null): boolean {
    for (const g of this.groups) {
      if (!filterMatches(g, name, subscriptions)) continue;
      if (g.events.size === 0) return false;
      if (g.events.has(event)) return true;
    }
    return false;
  }

  private async subscriptions(domain: MailboxLists, accountId: AccountId): Promise<Set<string> | null> {
    if (!this.groups.some((g) => g.kind === 'SUBSCRIBED')) return null;
    return new Set(await domain.listSubscriptions(accountId));
  }
}

function filterMatches(g: OtherGroup, name: string, subscriptions: Set<string> | null): boolean {
  switch (g.kind) {
    case 'PERSONAL':
      return true;
    case 'INBOXES':
      // Local delivery (LMTP, deliver) goes to INBOX unless a folder is named explicitly.
      return name === 'INBOX';
    case 'SUBSCRIBED':
      return subscriptions?.has(name) ?? false;
    case 'SUBTREE':
      return g.names.some((n) => name === n || name.startsWith(n + HIERARCHY_SEPARATOR));
    case 'MAILBOXES':
      return g.names.includes(name);
  }
}

function listEvent(signal: MailboxListSignal): string {
  return signal.change === 'subscribed' || signal.change === 'unsubscribed' ? 'SubscriptionChange' : 'MailboxName';
}

function snapshot(m: Mailbox): Snapshot {
  return { messages: m.messageCount, uidNext: m.uidNext, highestModSeq: m.highestModSeq };
}

/** Which RFC 5465 events explain the difference between what the client was told and the mailbox now. */
function changeEvents(before: Snapshot, now: Mailbox): string[] {
  const added = now.uidNext - before.uidNext;
  const events: string[] = [];
  if (added > 0) events.push('MessageNew');
  if (now.messageCount < before.messages + Math.max(added, 0)) events.push('MessageExpunge');
  if (events.length === 0 && now.highestModSeq !== before.highestModSeq) events.push('FlagChange');
  return events;
}

/** LIST attributes as LIST itself gives them (RFC 9051 §7.3.1, RFC 5258 \NonExistent and \Subscribed). */
function listAttributes(name: string, all: Mailbox[], subscribed: Set<string>): string[] {
  const m = all.find((x) => x.name === name);
  const attributes: string[] = [];
  if (!m) attributes.push('\\NonExistent');
  else {
    attributes.push(all.some((x) => x.name.startsWith(name + HIERARCHY_SEPARATOR)) ? '\\HasChildren' : '\\HasNoChildren');
    if (m.specialUse) attributes.push(m.specialUse);
  }
  if (subscribed.has(name)) attributes.push('\\Subscribed');
  return attributes;
}

/** A mailbox argument of NOTIFY as a store name. */
export function notifyMailboxName(ctx: CommandContext, arg: string): string {
  return canonicalMailboxName(ctx.mailboxName(arg));
}

/**
 * RFC 5465 §5.1: with MessageNew (fetch-att ...) for the selected mailbox,
 * each new message is followed by a FETCH of those items, as UID FETCH would
 * answer it (a non-PEEK body item sets \Seen, as a FETCH does). `lastUid` is
 * the highest UID the client knew before the sync that sent EXISTS.
 */
export async function sendNewMessageFetches(ctx: CommandContext, lastUid: number): Promise<void> {
  const s = ctx.state;
  const attributes = ctx.notify?.selectedFetch;
  if (!attributes || s.kind !== 'selected') return;
  const view = s.view;
  const uids: number[] = [];
  for (let seq = view.exists; seq >= 1 && view.uidAt(seq) > lastUid; seq--) {
    if (!view.isExpunged(seq)) uids.unshift(view.uidAt(seq));
  }
  if (uids.length === 0) return;
  await fetchCommand(
    { tag: '*', name: 'FETCH', uid: true, set: uids.map((uid) => ({ from: uid, to: uid })), attributes, changedSince: null },
    ctx,
  );
}
