/**
 * What a message flag is, decided once for every protocol and backend
 * (RFC 9051 §2.3.2): the five system flags in their canonical spelling, and
 * keywords. Names are case-insensitive ("\seen" is "\Seen"; of two keywords
 * differing only in case the first spelling is kept). \Recent is a session
 * property that RFC 9051 removed: it is never stored, and a client may not set
 * it. A flag list is canonical when system flags come first in a fixed order,
 * then keywords sorted, without duplicates: two messages with the same flags
 * then hold the same list, whatever the spelling or order they were given in.
 */
import type { FlagOperation } from '../store/types.js';
import { StoreError } from '../store/types.js';

export const SYSTEM_FLAGS = ['\\Answered', '\\Flagged', '\\Deleted', '\\Seen', '\\Draft'] as const;

/** Marks a message for removal by IMAP EXPUNGE and CLOSE (RFC 9051 §6.4.3). */
export const DELETED_FLAG = '\\Deleted';
export const SEEN_FLAG = '\\Seen';

const SYSTEM_BY_LOWER = new Map<string, string>(SYSTEM_FLAGS.map((f) => [f.toLowerCase(), f]));
/** atom-char minus the ones also excluded from flag-keyword (RFC 9051 §9). */
const KEYWORD = /^[^\x00-\x20\x7f-\uffff(){%*"\\\]]+$/;

export function hasFlag(flags: readonly string[], flag: string): boolean {
  const lower = flag.toLowerCase();
  return flags.some((f) => f.toLowerCase() === lower);
}

/** The message is marked \Deleted: EXPUNGE and CLOSE remove it, STATUS DELETED counts it. */
export function isDeleted(message: { flags: readonly string[] }): boolean {
  return hasFlag(message.flags, DELETED_FLAG);
}

/**
 * Flags a client asks to set (STORE, APPEND): the canonical list, or the
 * reason they are refused: an unknown system flag, \Recent (server-managed),
 * or a keyword that is not an atom.
 */
export function checkClientFlags(flags: readonly string[]): string[] | { error: string } {
  for (const flag of flags) {
    if (flag.startsWith('\\')) {
      if (!SYSTEM_BY_LOWER.has(flag.toLowerCase())) {
        return { error: flag.toLowerCase() === '\\recent' ? '\\Recent cannot be stored' : `Unknown system flag ${flag}` };
      }
    } else if (!KEYWORD.test(flag)) return { error: `Invalid keyword ${flag}` };
  }
  return canonicalFlags(flags);
}

/**
 * The canonical order and spelling of a flag list; \Recent is dropped.
 * Throws STORE_INVALID_NAME for a name no flag list can hold (empty, or with
 * white space, which separates flags in IMAP and in storage).
 */
export function canonicalFlags(flags: Iterable<string>): string[] {
  const system = new Set<string>();
  const keywords = new Map<string, string>(); // lower-case -> first spelling
  for (const flag of flags) {
    if (flag.length === 0 || /\s/.test(flag)) throw new StoreError('STORE_INVALID_NAME', `Not a flag name: ${JSON.stringify(flag)}`);
    const lower = flag.toLowerCase();
    if (lower === '\\recent') continue;
    const systemFlag = SYSTEM_BY_LOWER.get(lower);
    if (systemFlag) system.add(systemFlag);
    else if (!keywords.has(lower)) keywords.set(lower, flag);
  }
  const sortedKeywords = [...keywords.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, spelling]) => spelling);
  return [...SYSTEM_FLAGS.filter((f) => system.has(f)), ...sortedKeywords];
}

/**
 * The flags a message has after `op` (`current` canonical). A keyword the
 * message already has keeps its spelling, so "a" replacing "A" is no change.
 */
export function applyFlagOperation(current: readonly string[], op: FlagOperation, flags: readonly string[]): string[] {
  switch (op) {
    case 'add':
      return canonicalFlags([...current, ...flags]);
    case 'remove': {
      const removed = new Set(canonicalFlags(flags).map((f) => f.toLowerCase()));
      return current.filter((f) => !removed.has(f.toLowerCase()));
    }
    case 'replace': {
      const existing = new Map(current.map((f) => [f.toLowerCase(), f]));
      return canonicalFlags(canonicalFlags(flags).map((f) => existing.get(f.toLowerCase()) ?? f));
    }
  }
}
