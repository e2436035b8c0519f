/**
 * POP3 on an account that IMAP also reads: the per-account policy (what POP3
 * sees, what DELE does), per-device logins (`alice@example.com#laptop`), and
 * the UPDATE-state commit that applies a session's RETRs and DELEs. Every
 * change to mail goes through MailDomain, so IMAP sessions are told (EXPUNGE,
 * FETCH FLAGS); the device state goes straight to the store (nobody watches it).
 */
import type { AccountId, Mailbox, MessageMeta, Pop3DeleAction, Pop3Policy, Pop3Scope, Pop3Update, SpecialUse } from '../store/types.js';
import { SEEN_FLAG } from './flags.js';
import type { MailDomain } from './mail-domain.js';
import { crashPoint } from '../observability/fault.js';

export type { Pop3DeleAction, Pop3Policy, Pop3Scope } from '../store/types.js';

/** RFC 1939 behaviour: INBOX, all of it, DELE expunges, nothing expires. */
export const DEFAULT_POP3_POLICY: Readonly<Pop3Policy> = Object.freeze({
  scope: 'inbox',
  since: null,
  dele: 'expunge',
  expireDays: null,
});

export const POP3_SCOPES: readonly Pop3Scope[] = ['inbox', 'all'];
export const POP3_DELE_ACTIONS: readonly Pop3DeleAction[] = ['expunge', 'hide', 'seen', 'archive', 'trash'];

/**
 * Set on messages a POP3 client retrieved (RETR, not TOP) in a session that
 * ended with QUIT. A keyword, so IMAP clients see it (RFC 9051 §2.3.2), and
 * distinct from \Seen: downloaded is not read.
 */
export const POP3_DOWNLOADED_KEYWORD = '$POP3Downloaded';

/** The untagged login: it acts for the whole account (its DELEs hide from every device). */
export const ACCOUNT_WIDE_DEVICE = '';

/** Device tags: short, printable, case-insensitive ("Laptop" and "laptop" are one device). */
const DEVICE_TAG = /^[A-Za-z0-9._-]{1,64}$/;

export interface Pop3Login {
  address: string;
  /** '' for the untagged login. */
  device: string;
}

/**
 * `alice@example.com#laptop` -> address and device. The tag follows the last
 * '#' after the '@': a domain never contains '#', while a local part may
 * (RFC 5322 atext), so `a#b@example.com` is an untagged address.
 */
export function parsePop3Login(login: string): Pop3Login {
  const hash = login.lastIndexOf('#');
  if (hash > login.lastIndexOf('@') && login.lastIndexOf('@') > 0) {
    const tag = login.slice(hash + 1);
    if (DEVICE_TAG.test(tag)) return { address: login.slice(0, hash), device: tag.toLowerCase() };
  }
  return { address: login, device: ACCOUNT_WIDE_DEVICE };
}

export async function pop3PolicyOf(domain: MailDomain, accountId: AccountId): Promise<Pop3Policy> {
  return (await domain.store.getPop3Policy(accountId)) ?? { ...DEFAULT_POP3_POLICY };
}

/** "scope=inbox from=all dele=expunge expire=never": one line for the CLI and logs. */
export function describePop3Policy(policy: Pop3Policy): string {
  const from = policy.since ? policy.since.toISOString() : 'all';
  const expire = policy.expireDays === null ? 'never' : `${policy.expireDays}d`;
  return `scope=${policy.scope} from=${from} dele=${policy.dele} expire=${expire}`;
}

/** RFC 2449 §6.7 value for an account: days, or NEVER. */
export function expireCapability(policy: Pop3Policy): string {
  return `EXPIRE ${policy.expireDays === null ? 'NEVER' : policy.expireDays}`;
}

/**
 * The mailboxes POP3 offers, in order: INBOX, then (scope "all") every other
 * mailbox except Trash and Junk — mail the user threw away or the filter
 * caught must not come back as new on a POP3 client.
 */
export async function pop3Mailboxes(domain: MailDomain, accountId: AccountId, scope: Pop3Scope): Promise<Mailbox[]> {
  const inbox = await domain.requireMailbox(accountId, 'INBOX');
  if (scope === 'inbox') return [inbox];
  const others = (await domain.store.listMailboxes(accountId)).filter(
    (m) => m.name !== 'INBOX' && m.specialUse !== '\\Trash' && m.specialUse !== '\\Junk',
  );
  return [inbox, ...others];
}

/** The account's special-use mailbox (RFC 6154), else one by that name, else a new one. */
export async function specialMailbox(domain: MailDomain, accountId: AccountId, use: SpecialUse, name: string): Promise<Mailbox> {
  const all = await domain.store.listMailboxes(accountId);
  const found = all.find((m) => m.specialUse === use) ?? all.find((m) => m.name === name);
  return found ?? domain.createMailbox(accountId, name, use);
}

/** One message of a POP3 maildrop, with the mailbox it lives in. */
export interface Pop3MaildropEntry {
  mailbox: Mailbox;
  message: MessageMeta;
}

/**
 * What a POP3 login of `device` is offered (call with the maildrop lock
 * held): the policy's mailboxes and start date, minus what this device (or
 * the account-wide untagged login) deleted in an earlier session; one message
 * per UIDL (RFC 1939 §7: unique in a maildrop; across folders an imported one
 * could repeat). INBOX alone is in UID order; across folders in arrival order,
 * as a POP3 client expects.
 */
export async function pop3MaildropContents(
  domain: MailDomain,
  accountId: AccountId,
  device: string,
  policy: Pop3Policy,
): Promise<Pop3MaildropEntry[]> {
  const devices = device === ACCOUNT_WIDE_DEVICE ? [ACCOUNT_WIDE_DEVICE] : [ACCOUNT_WIDE_DEVICE, device];
  const hidden = new Set(await domain.store.listPop3Deleted(accountId, devices));
  const since = policy.since?.getTime() ?? null;
  const seen = new Set<string>();
  const out: Pop3MaildropEntry[] = [];
  for (const mailbox of await pop3Mailboxes(domain, accountId, policy.scope)) {
    for (const message of await domain.listMessages(mailbox)) {
      if (hidden.has(message.uidl) || (since !== null && message.internalDate.getTime() < since)) continue;
      if (seen.has(message.uidl)) continue;
      seen.add(message.uidl);
      out.push({ mailbox, message });
    }
  }
  if (policy.scope === 'all') out.sort((a, b) => a.message.internalDate.getTime() - b.message.internalDate.getTime());
  return out;
}

/** One message a POP3 session touched, wherever it lives. */
export interface Pop3Touched {
  mailbox: Mailbox;
  uid: number;
  uidl: string;
}

export interface Pop3SessionOutcome {
  accountId: AccountId;
  device: string;
  policy: Pop3Policy;
  /** Fully sent by RETR. */
  retrieved: Pop3Touched[];
  /** Marked by DELE and not unmarked by RSET. */
  deleted: Pop3Touched[];
}

/**
 * The UPDATE state (RFC 1939 §6), policy-aware, in one store transaction
 * (MailStore.commitPop3Update), so that no node ever sees half of it:
 * 1. the device state records downloads and deletions;
 * 2. $POP3Downloaded goes on the retrieved messages (before any move: MOVE keeps flags);
 * 3. the DELE policy: an untagged login applies it (expunge, hide, seen,
 *    archive, trash); a tagged login only hides from its own device, and sets
 *    \Seen under "seen" — it never removes mail other devices may not have
 *    fetched yet (the retention job does, after EXPIRE days).
 * Only the Archive or Trash folder a move needs is created before, when the
 * account has none (an empty folder left by a failure harms nobody).
 */
export async function commitPop3Session(domain: MailDomain, outcome: Pop3SessionOutcome, now: Date): Promise<void> {
  const { accountId, device, policy, retrieved, deleted } = outcome;
  const untagged = device === ACCOUNT_WIDE_DEVICE;
  const action: Pop3DeleAction = untagged ? policy.dele : policy.dele === 'seen' ? 'seen' : 'hide';
  const target = deleted.length > 0 ? await moveTarget(domain, accountId, action) : null;
  const update: Pop3Update = {
    accountId,
    device,
    retrieved: retrieved.map((m) => m.uidl),
    // Untagged expunge removes the message: no record needed (and none left to prune).
    deleted: untagged && policy.dele === 'expunge' ? [] : deleted.map((m) => m.uidl),
    at: now,
    addFlags: byMailbox(retrieved).map(([mailbox, uids]) => ({ mailboxId: mailbox.id, uids, flags: [POP3_DOWNLOADED_KEYWORD] })),
    expunge: [],
    move: [],
  };
  for (const [mailbox, uids] of byMailbox(deleted)) {
    if (action === 'seen') update.addFlags.push({ mailboxId: mailbox.id, uids, flags: [SEEN_FLAG] });
    else if (action === 'expunge') update.expunge.push({ mailboxId: mailbox.id, uids });
    else if (target && target.id !== mailbox.id) update.move.push({ fromMailboxId: mailbox.id, uids, toMailboxId: target.id });
  }
  const changed = await domain.store.commitPop3Update(update);
  crashPoint('pop3.update.committed');
  for (const mailboxId of changed) domain.bus.publish({ accountId, mailboxId });
}

/** Where "archive" and "trash" move deleted mail; null for the other actions. */
async function moveTarget(domain: MailDomain, accountId: AccountId, action: Pop3DeleAction): Promise<Mailbox | null> {
  if (action === 'archive') return specialMailbox(domain, accountId, '\\Archive', 'Archive');
  if (action === 'trash') return specialMailbox(domain, accountId, '\\Trash', 'Trash');
  return null;
}

/** What one DELE action does to messages (also used by the retention job). Returns how many were changed. */
export async function applyDeleAction(
  domain: MailDomain,
  accountId: AccountId,
  action: Pop3DeleAction,
  messages: Pop3Touched[],
): Promise<number> {
  let changed = 0;
  const target =
    action === 'archive'
      ? await specialMailbox(domain, accountId, '\\Archive', 'Archive')
      : action === 'trash'
        ? await specialMailbox(domain, accountId, '\\Trash', 'Trash')
        : null;
  for (const [mailbox, uids] of byMailbox(messages)) {
    switch (action) {
      case 'expunge':
        changed += (await domain.expungeMessages(mailbox, uids)).length;
        break;
      case 'seen':
        changed += (await domain.updateFlags(mailbox, uids, 'add', ['\\Seen'])).length;
        break;
      case 'archive':
      case 'trash':
        if (target && target.id !== mailbox.id) changed += (await domain.moveMessages(mailbox, uids, target)).uidMap.length;
        break;
      case 'hide':
        break; // the device state alone hides it
    }
  }
  return changed;
}

function byMailbox(messages: Pop3Touched[]): Array<[Mailbox, number[]]> {
  const groups = new Map<number, [Mailbox, number[]]>();
  for (const m of messages) {
    const group = groups.get(m.mailbox.id) ?? [m.mailbox, []];
    group[1].push(m.uid);
    groups.set(m.mailbox.id, group);
  }
  return [...groups.values()];
}
