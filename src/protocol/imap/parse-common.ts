/** Grammar pieces shared by several commands: flags, status items, mailbox parameters. */
import { Cursor, ParseError } from './cursor.js';
import type { StatusItem } from './types.js';

const SYSTEM_FLAGS = ['\\Answered', '\\Flagged', '\\Deleted', '\\Seen', '\\Draft', '\\Recent'];
const SPECIAL_USE = ['\\All', '\\Archive', '\\Drafts', '\\Flagged', '\\Junk', '\\Sent', '\\Trash', '\\Important'];
const CANONICAL = new Map([...SYSTEM_FLAGS, ...SPECIAL_USE].map((f) => [f.toUpperCase(), f]));

const STATUS_ITEMS: readonly StatusItem[] = [
  'MESSAGES',
  'UIDNEXT',
  'UIDVALIDITY',
  'UNSEEN',
  'DELETED',
  'SIZE',
  'RECENT',
  'HIGHESTMODSEQ',
  'APPENDLIMIT',
  'DELETED-STORAGE',
  'MAILBOXID',
];

/**
 * flag = "\" atom / flag-keyword (RFC 9051 §9). System flags and special-use
 * attributes are case-insensitive, so they come back in canonical case
 * ("\seen" -> "\Seen"); keywords are returned as sent.
 */
export function parseFlag(c: Cursor, what = 'flag'): string {
  if (c.tryChar('\\')) {
    const flag = '\\' + c.atom(what);
    return CANONICAL.get(flag.toUpperCase()) ?? flag;
  }
  return c.atom(what);
}

/** flag-list = "(" [flag *(SP flag)] ")". */
export function parseFlagList(c: Cursor, what = 'flag list'): string[] {
  return c.list(what, () => parseFlag(c), true);
}

/** "(" status-att *(SP status-att) ")" (RFC 9051 §6.3.11, RFC 7162 HIGHESTMODSEQ). */
export function parseStatusItems(c: Cursor): StatusItem[] {
  return c.list(
    'status items',
    () => {
      const item = c.keyword('status item');
      if (!(STATUS_ITEMS as readonly string[]).includes(item)) throw new ParseError(`Unknown status item ${item}`);
      return item as StatusItem;
    },
    false,
  );
}
