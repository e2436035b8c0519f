/**
 * RFC 5464 METADATA rules, decided once for every protocol and backend:
 * what an entry name is, whose an entry is, the size limits, and what
 * GETMETADATA's DEPTH and MAXSIZE return.
 *
 * Whose an entry is: a mailbox's /private entries belong to the user who set
 * them, its /shared entries to the mailbox's owner, so everyone who may see
 * a shared mailbox sees the same /shared entries. Server entries (mailbox "")
 * belong to the user, /shared ones included, as in Dovecot: a user must not
 * change what every other account of the server reads.
 */
import type { Account, Mailbox, MailStore, MetadataChange, MetadataScope } from '../store/types.js';
import { requireRights } from './acl.js';

/** Limits, announced in the replies that enforce them ([METADATA MAXSIZE n], [METADATA TOOMANY]). */
export const METADATA_LIMITS = {
  /** Octets per value: settings and colours are small; below the 64 KiB a command's literals may hold, so it is reachable. */
  maxValueBytes: 32 * 1024,
  /** Entries per account (server, mailbox /private, and /shared of its own mailboxes): bounds what one account stores at 8 MiB. */
  maxEntriesPerAccount: 256,
  /** Octets per entry name. */
  maxNameBytes: 1024,
} as const;

/** A malformed entry name (RFC 5464 §3.2): a protocol error, not a refusal. */
export class InvalidMetadataEntry extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidMetadataEntry';
  }
}

/** RFC 5464 §4.3: a value over the limit; nothing of the command was stored. */
export class MetadataValueTooLarge extends Error {
  constructor(readonly maxBytes: number) {
    super(`METADATA values are limited to ${maxBytes} octets`);
    this.name = 'MetadataValueTooLarge';
  }
}

/**
 * The canonical (lower case) form of an entry name, or InvalidMetadataEntry.
 * RFC 5464 §3.2: slash-separated, starting with /private or /shared, no
 * wildcards, no empty component, no trailing slash; names compare
 * case-insensitively. `forSet`: the bare prefix names no entry and cannot be
 * set (GETMETADATA may ask for it, with DEPTH, to list what is below).
 */
export function canonicalEntryName(name: string, forSet: boolean): string {
  if (Buffer.byteLength(name) > METADATA_LIMITS.maxNameBytes) throw new InvalidMetadataEntry('Entry name too long');
  if (!/^[\x20-\x7e]*$/.test(name)) throw new InvalidMetadataEntry('Entry name must be printable ASCII');
  if (/[*%]/.test(name)) throw new InvalidMetadataEntry("Entry name can't contain wildcards");
  if (name.includes('//')) throw new InvalidMetadataEntry("Entry name can't contain consecutive '/'");
  if (name.endsWith('/')) throw new InvalidMetadataEntry("Entry name can't end with '/'");
  const lower = name.toLowerCase();
  const prefix = /^\/(private|shared)(\/|$)/.exec(lower);
  if (!prefix) throw new InvalidMetadataEntry('Entry name must begin with /private or /shared');
  if (forSet && prefix[2] === '') throw new InvalidMetadataEntry('Entry name must name an entry below /private or /shared');
  return lower;
}

/** Where the entry `name` (canonical) of `mailbox` (null: the server) is kept for `user`. */
export function metadataScope(user: Account, mailbox: Mailbox | null, name: string): MetadataScope {
  if (mailbox === null) return { accountId: user.id, mailboxId: null };
  return { accountId: name.startsWith('/shared') ? mailbox.accountId : user.id, mailboxId: mailbox.id };
}

export interface MetadataQuery {
  /** 0: the entries only; 1: and their children; 'infinity': and every descendant (RFC 5464 §4.2.2). */
  depth: 0 | 1 | 'infinity';
  /** RFC 5464 §4.2.1 MAXSIZE: values longer than this are left out; null: no limit. */
  maxSize: number | null;
}

export interface MetadataAnswer {
  /** In request order, each asked-for entry followed by its descendants by name; null for an asked-for entry that has no value. */
  entries: Array<{ name: string; value: Buffer | null }>;
  /** The largest value MAXSIZE left out ([METADATA LONGENTRIES n]), or null. */
  longest: number | null;
}

/** GETMETADATA: `names` as the client sent them (validated here). */
export async function readMetadata(
  store: MailStore,
  user: Account,
  mailbox: Mailbox | null,
  names: string[],
  query: MetadataQuery,
): Promise<MetadataAnswer> {
  const canonical = names.map((n) => canonicalEntryName(n, false));
  // RFC 5464 §3.3: reading a mailbox's entries takes "r" (and "l", which naming the mailbox took).
  if (mailbox !== null) await requireRights(store, user.id, mailbox, 'r');
  const descendants = query.depth !== 0;
  const found = new Map<string, Buffer>();
  // One read per scope (a mailbox's /private and /shared entries may belong to different accounts).
  const byScope = new Map<string, { scope: MetadataScope; names: string[] }>();
  for (const name of canonical) {
    const scope = metadataScope(user, mailbox, name);
    const key = `${scope.accountId}:${scope.mailboxId}`;
    const group = byScope.get(key) ?? { scope, names: [] };
    group.names.push(name);
    byScope.set(key, group);
  }
  for (const { scope, names: asked } of byScope.values()) {
    for (const entry of await store.getMetadata(scope, asked, descendants)) found.set(entry.name, entry.value);
  }
  const answer: MetadataAnswer = { entries: [], longest: null };
  const sent = new Set<string>();
  const add = (name: string, value: Buffer | null) => {
    if (sent.has(name)) return;
    sent.add(name);
    if (value !== null && query.maxSize !== null && value.length > query.maxSize) {
      answer.longest = Math.max(answer.longest ?? 0, value.length);
      return;
    }
    answer.entries.push({ name, value });
  };
  const sorted = [...found.keys()].sort();
  for (const name of canonical) {
    // RFC 5464 §4.2: an entry asked for by name is answered, NIL when it has no value (as Dovecot does).
    if (name !== '/private' && name !== '/shared') add(name, found.get(name) ?? null);
    if (!descendants) continue;
    const prefix = `${name}/`;
    // The names below `name` are one run of the sorted list, found by binary search: linear in what is sent.
    for (let i = firstAtOrAfter(sorted, prefix); i < sorted.length && sorted[i]!.startsWith(prefix); i++) {
      const child = sorted[i]!;
      if (query.depth === 1 && child.indexOf('/', prefix.length) !== -1) continue;
      add(child, found.get(child)!);
    }
  }
  return answer;
}

/** The index of the first element of ascending `sorted` that is >= `key`. */
function firstAtOrAfter(sorted: readonly string[], key: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** SETMETADATA: all entries or none; a null value removes the entry. */
export async function writeMetadata(
  store: MailStore,
  user: Account,
  mailbox: Mailbox | null,
  items: Array<{ name: string; value: Buffer | null }>,
): Promise<void> {
  const changes: MetadataChange[] = items.map(({ name, value }) => {
    const canonical = canonicalEntryName(name, true);
    if (value !== null && value.length > METADATA_LIMITS.maxValueBytes) throw new MetadataValueTooLarge(METADATA_LIMITS.maxValueBytes);
    return { scope: metadataScope(user, mailbox, canonical), name: canonical, value };
  });
  // RFC 5464 §3.3: private entries take "r"; shared ones, which every reader sees, "w" too.
  if (mailbox !== null) await requireRights(store, user.id, mailbox, changes.some((c) => c.name.startsWith('/shared')) ? 'rw' : 'r');
  await store.setMetadata(changes, METADATA_LIMITS.maxEntriesPerAccount);
}
