/**
 * Flag arguments of STORE and APPEND (RFC 9051 §2.3.2): the five system flags
 * in their canonical spelling, or keywords that are atoms. \Recent is
 * server-managed (and gone in IMAP4rev2), so a client may not set it.
 */
import { SYSTEM_FLAGS } from './view.js';

const SYSTEM_BY_LOWER = new Map<string, string>(SYSTEM_FLAGS.map((f) => [f.toLowerCase(), f]));
/** atom-char minus the ones also excluded from flag-keyword (RFC 9051 §9). */
const KEYWORD = /^[^\x00-\x20\x7f-\uffff(){%*"\\\]]+$/;

/** Canonical flags, or an error text for BAD. */
export function validateFlags(flags: string[]): string[] | { error: string } {
  const out: string[] = [];
  for (const flag of flags) {
    if (flag.startsWith('\\')) {
      const system = SYSTEM_BY_LOWER.get(flag.toLowerCase());
      if (!system) {
        return { error: flag.toLowerCase() === '\\recent' ? '\\Recent cannot be stored' : `Unknown system flag ${flag}` };
      }
      if (!out.includes(system)) out.push(system);
    } else {
      if (!KEYWORD.test(flag)) return { error: `Invalid keyword ${flag}` };
      if (!out.some((f) => f.toLowerCase() === flag.toLowerCase())) out.push(flag);
    }
  }
  return out;
}

export function flagAtoms(flags: string[]): Array<{ atom: string }> {
  return flags.map((f) => ({ atom: f }));
}

/**
 * The flags a message should have after STORE `op` from `current`, as the
 * client computes them (names compared case-insensitively). Used after
 * STORE .SILENT: when the store ended elsewhere, another session changed the
 * message too, and the client must be told.
 */
export function applyStoreOp(current: string[], op: 'add' | 'remove' | 'replace', flags: string[]): string[] {
  const lower = (list: string[]) => new Set(list.map((f) => f.toLowerCase()));
  switch (op) {
    case 'replace':
      return [...flags];
    case 'add': {
      const have = lower(current);
      return [...current, ...flags.filter((f) => !have.has(f.toLowerCase()))];
    }
    case 'remove': {
      const gone = lower(flags);
      return current.filter((f) => !gone.has(f.toLowerCase()));
    }
  }
}
