/**
 * What a mailbox's kept counters (message, unseen, \Deleted counts and sizes)
 * gain or lose with a change, shared by every backend so the rule lives once.
 */
import { parseFlags } from './sqlite/flags.js';

export interface Tally {
  messages: number;
  unseen: number;
  bytes: number;
  deleted: number;
  deletedBytes: number;
}

/** What messages add to (sign 1) or take from (sign -1) their mailbox's counters. */
export function tally(rows: Array<{ flags: string; size: number }>, sign = 1): Tally {
  const t = { messages: 0, unseen: 0, bytes: 0, deleted: 0, deletedBytes: 0 };
  for (const row of rows) {
    // Stored flags are canonical: exactly "\Seen" and "\Deleted" when present.
    const flags = parseFlags(row.flags);
    t.messages += sign;
    t.bytes += sign * row.size;
    if (!flags.includes('\\Seen')) t.unseen += sign;
    if (flags.includes('\\Deleted')) {
      t.deleted += sign;
      t.deletedBytes += sign * row.size;
    }
  }
  return t;
}
