/**
 * How JMAP Emails map onto stored messages (docs/jmap.md):
 *
 * - An Email is one RFC 8474 EMAILID: IMAP COPY keeps it, so the copies are
 *   one Email in several Mailboxes (mailboxIds), as RFC 8474 §1 intends.
 * - keywords are the IMAP flags (RFC 8621 §4.1.1): $seen is \Seen and so on;
 *   \Deleted stays an IMAP matter and is not shown.
 * - The Email state is, for each mailbox of the account, its row id, its
 *   HIGHESTMODSEQ and UIDNEXT. Any change an IMAP, POP3 or JMAP client makes
 *   moves a mailbox's MODSEQ, so it moves the state; and the state is enough
 *   to compute Email/changes from the mailboxes' change logs on any node.
 */
import type { Mailbox, MailboxId, MessageMeta } from '../../store/types.js';

export interface EmailRow {
  mailboxId: MailboxId;
  message: MessageMeta;
}

const SYSTEM_TO_KEYWORD: Record<string, string> = {
  '\\seen': '$seen',
  '\\flagged': '$flagged',
  '\\answered': '$answered',
  '\\draft': '$draft',
};
const KEYWORD_TO_SYSTEM: Record<string, string> = {
  $seen: '\\Seen',
  $flagged: '\\Flagged',
  $answered: '\\Answered',
  $draft: '\\Draft',
};

/** The JMAP keywords of IMAP flags (keywords are case-insensitive and returned lower-cased, RFC 8621 §4.1.1). */
export function keywordsOf(flags: readonly string[]): Record<string, true> {
  const out: Record<string, true> = {};
  for (const flag of flags) {
    const lower = flag.toLowerCase();
    const keyword = SYSTEM_TO_KEYWORD[lower] ?? (lower.startsWith('\\') ? null : lower);
    if (keyword) out[keyword] = true;
  }
  return out;
}

/**
 * The IMAP flag of a JMAP keyword, or null when it is not one: RFC 8621
 * §4.1.1 allows the characters of an IMAP flag-keyword atom, 1 to 255 of them.
 */
export function flagOfKeyword(keyword: string): string | null {
  const lower = keyword.toLowerCase();
  if (KEYWORD_TO_SYSTEM[lower]) return KEYWORD_TO_SYSTEM[lower];
  // eslint-disable-next-line no-control-regex
  if (!/^[^\x00-\x20\x7f-\uffff(){\]%*"\\]{1,255}$/.test(keyword)) return null;
  return lower;
}

/** Rows grouped by EMAILID, in the order first seen. */
export function byEmailId(rows: EmailRow[]): Map<string, EmailRow[]> {
  const out = new Map<string, EmailRow[]>();
  for (const row of rows) {
    const list = out.get(row.message.emailId);
    if (list) list.push(row);
    else out.set(row.message.emailId, [row]);
  }
  return out;
}

export function threadIdOf(emailId: string): string {
  return `T${emailId}`;
}

/** The EMAILID a thread id names (each Email is its own thread until threads are computed), or null. */
export function emailIdOfThread(threadId: string): string | null {
  return threadId.startsWith('T') && threadId.length > 1 ? threadId.slice(1) : null;
}

/** Blob id of a whole message: the Email's id marked as a blob. Parts add "_" and their section (email-parts.ts). */
export function messageBlobIdOf(emailId: string): string {
  return `B${emailId}`;
}

/** The EMAILID and part (IMAP section, "1.2"; null for the whole message) a blob id names, or null. */
export function parseBlobId(blobId: string): { emailId: string; partId: string | null } | null {
  const m = /^B([A-Za-z0-9]{1,100})(?:_(\d{1,4}(?:-\d{1,4}){0,49}))?$/.exec(blobId);
  if (!m) return null;
  return { emailId: m[1]!, partId: m[2] ? m[2].replace(/-/g, '.') : null };
}

export interface MailboxMark {
  modSeq: number;
  uidNext: number;
}

/** The account's Email state (see the file comment). */
export function emailStateOf(mailboxes: readonly Mailbox[]): string {
  const parts = [...mailboxes]
    .sort((a, b) => a.id - b.id)
    .map((m) => `${m.id.toString(36)}.${m.highestModSeq.toString(36)}.${m.uidNext.toString(36)}`);
  return `e${parts.join('_')}`;
}

/** The marks of a state string, or null when it is not one of ours (bounded: a state names at most 100,000 mailboxes). */
export function parseEmailState(state: string): Map<MailboxId, MailboxMark> | null {
  if (!state.startsWith('e') || state.length > 4_000_000) return null;
  const out = new Map<MailboxId, MailboxMark>();
  if (state === 'e') return out;
  for (const part of state.slice(1).split('_')) {
    const m = /^([0-9a-z]{1,11})\.([0-9a-z]{1,11})\.([0-9a-z]{1,11})$/.exec(part);
    if (!m) return null;
    out.set(parseInt(m[1]!, 36), { modSeq: parseInt(m[2]!, 36), uidNext: parseInt(m[3]!, 36) });
  }
  return out;
}
