/**
 * Canonical flag lists, so that a message's flags compare and store as one
 * string: system flags first in a fixed order, then keywords sorted,
 * deduplicated. Flag names are case-insensitive (RFC 9051 §2.3.2): "\seen" is
 * "\Seen", and of two keywords differing only in case the first spelling is
 * kept. \Recent is a session property and is never stored (RFC 3501 §2.3.2;
 * RFC 9051 removed it). Validating flag syntax is the protocol's job; the only
 * thing refused here is what cannot be stored (empty or whitespace-bearing names).
 */
import type { FlagOperation } from '../types.js';
import { StoreError } from '../types.js';

export const SYSTEM_FLAGS = ['\\Answered', '\\Flagged', '\\Deleted', '\\Seen', '\\Draft'] as const;

const SYSTEM_BY_LOWER = new Map<string, string>(SYSTEM_FLAGS.map((f) => [f.toLowerCase(), f]));

/** Thrown for a flag name that the space-separated storage format cannot hold. */
export class UnstorableFlag extends StoreError {
  constructor(readonly flag: string) {
    super('STORE_INVALID_NAME', `Flag name cannot be stored: ${JSON.stringify(flag)}`);
  }
}

/** The canonical order and spelling of a flag list. Earlier spellings win. */
export function canonicalFlags(flags: Iterable<string>): string[] {
  const system = new Set<string>();
  const keywords = new Map<string, string>(); // lower-case -> first spelling
  for (const flag of flags) {
    if (flag.length === 0 || /\s/.test(flag)) throw new UnstorableFlag(flag);
    const lower = flag.toLowerCase();
    if (lower === '\\recent') continue;
    const systemFlag = SYSTEM_BY_LOWER.get(lower);
    if (systemFlag) system.add(systemFlag);
    else if (!keywords.has(lower)) keywords.set(lower, flag);
  }
  const sortedKeywords = [...keywords.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, spelling]) => spelling);
  return [...SYSTEM_FLAGS.filter((f) => system.has(f)), ...sortedKeywords];
}

/** The flags a message has after `op`; `current` must already be canonical. */
export function applyFlagOperation(current: string[], op: FlagOperation, flags: string[]): string[] {
  switch (op) {
    case 'add':
      return canonicalFlags([...current, ...flags]);
    case 'remove': {
      const removed = new Set(canonicalFlags(flags).map((f) => f.toLowerCase()));
      return current.filter((f) => !removed.has(f.toLowerCase()));
    }
    case 'replace': {
      // A keyword the message already has keeps its spelling: "a" replacing "A" is no change.
      const existing = new Map(current.map((f) => [f.toLowerCase(), f]));
      return canonicalFlags(canonicalFlags(flags).map((f) => existing.get(f.toLowerCase()) ?? f));
    }
  }
}

export function serializeFlags(flags: string[]): string {
  return flags.join(' ');
}

export function parseFlags(stored: string): string[] {
  return stored.length === 0 ? [] : stored.split(' ');
}

/** Whether stored (serialised) flags hold `lowerFlag`, given in lower case: names are case-insensitive. */
export function hasFlagIn(stored: string, lowerFlag: string): boolean {
  return ` ${stored.toLowerCase()} `.includes(` ${lowerFlag} `);
}


export function hasFlag(flags: string[], flag: string): boolean {
  const lower = flag.toLowerCase();
  return flags.some((f) => f.toLowerCase() === lower);
}

/**
 * Which of `rows` a STORE changes, shared by every backend: a row whose MODSEQ
 * is above `unchangedSince` is left alone and listed in `modified`
 * (RFC 7162 §3.1.3); a row whose flags would not change is not touched.
 * `before` holds the changed rows as they were (for the counters).
 */
export function planFlagChanges<Row extends { uid: number; modseq: number; flags: string }>(
  rows: Iterable<Row>,
  op: FlagOperation,
  flags: string[],
  unchangedSince: number | null,
): { updates: Row[]; before: Row[]; modified: number[] } {
  const updates: Row[] = [];
  const before: Row[] = [];
  const modified: number[] = [];
  for (const row of rows) {
    if (unchangedSince !== null && row.modseq > unchangedSince) {
      modified.push(row.uid);
      continue;
    }
    const next = serializeFlags(applyFlagOperation(parseFlags(row.flags), op, flags));
    if (next === row.flags) continue;
    updates.push({ ...row, flags: next });
    before.push(row);
  }
  return { updates, before, modified };
}
