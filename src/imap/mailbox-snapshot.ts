/**
 * A per-node, immutable, versioned picture of one mailbox's messages (UID,
 * flags, MODSEQ) in typed arrays, shared by every session that has the
 * mailbox selected. A session's MailboxView points at one snapshot and keeps
 * only what differs for its client (ghost expunges not yet reported, flags
 * told since); so 2,000 sessions on a 100,000-message mailbox hold one copy
 * of its UID list instead of 2,000 (about 2.4 MB at 100,000 messages, against
 * ~20 MB per session for one object per message).
 *
 * A snapshot never changes: the change log applied to a snapshot gives the
 * next one (`advance`), and the first session to sync after a change builds
 * it while the others find it in the registry. Snapshots are held weakly by
 * the registry: the last session to leave a mailbox lets it go.
 */
import type { MailboxChanges, MailboxId, MessageMeta } from '../store/types.js';

/**
 * Distinct flag lists of a mailbox, numbered; the snapshot stores a number per
 * message. Append-only, so older snapshots sharing it stay valid; a snapshot
 * that finds it much larger than what it uses starts a fresh one (bounded).
 */
class FlagTable {
  readonly lists: string[][] = [];
  private readonly ids = new Map<string, number>();
  /** Each list in FETCH form, e.g. "(\Seen $Work)", made on first use (flags are atoms: written as they are). */
  private readonly texts: string[] = [];

  text(id: number): string {
    return (this.texts[id] ??= flagListText(this.lists[id]));
  }

  idOf(flags: string[]): number {
    const key = flags.join(' ');
    let id = this.ids.get(key);
    if (id === undefined) {
      id = this.lists.length;
      this.lists.push(flags);
      this.ids.set(key, id);
    }
    return id;
  }
}

/**
 * A flag list as FETCH writes it, "(\Seen $Work)", as latin1 text (one
 * character per octet, what FETCH's wire path joins into its buffers). Flags
 * are atoms, ASCII; should a stored one hold anything else, its UTF-8 octets
 * are written, as the encoder would.
 */
export function flagListText(flags: readonly string[]): string {
  const text = `(${flags.join(' ')})`;
  return /[^\x00-\x7f]/.test(text) ? Buffer.from(text, 'utf8').toString('latin1') : text;
}

/** A table grows past this many unused lists (and twice those in use) before a snapshot starts a new one. */
const FLAG_TABLE_SLACK = 256;

export class MailboxSnapshot {
  /** Lazily: index of the first message without \Seen, or -1 (SELECT's UNSEEN). */
  private firstUnseenIndex: number | undefined;
  /** Set when this snapshot was advanced: the change log it was given and the result (sessions on it share that). */
  private successor: { modSeq: number; next: MailboxSnapshot } | null = null;

  private constructor(
    readonly mailboxId: MailboxId,
    readonly uidValidity: number,
    /** The MODSEQ this picture is of (for one made from a message list: read before the list, so it may show later changes too). */
    readonly modSeq: number,
    /** Made by applying the change log: exactly the mailbox at `modSeq`, so any session reaching `modSeq` may share it. */
    readonly exact: boolean,
    /** Ascending. */
    readonly uids: Uint32Array,
    readonly modSeqs: Float64Array,
    readonly flagIds: Uint32Array,
    /** RFC822.SIZE of each message (immutable per message). */
    readonly sizes: Float64Array,
    private readonly table: FlagTable,
    /** Keywords (flags not starting with a backslash) of the messages in this snapshot. */
    readonly keywords: ReadonlySet<string>,
  ) {}

  static fromMessages(mailboxId: MailboxId, uidValidity: number, modSeq: number, messages: readonly MessageMeta[]): MailboxSnapshot {
    const sorted = isAscending(messages) ? messages : [...messages].sort((a, b) => a.uid - b.uid);
    const n = sorted.length;
    const uids = new Uint32Array(n);
    const modSeqs = new Float64Array(n);
    const flagIds = new Uint32Array(n);
    const sizes = new Float64Array(n);
    const table = new FlagTable();
    for (let i = 0; i < n; i++) {
      const m = sorted[i];
      uids[i] = m.uid;
      modSeqs[i] = m.modSeq;
      flagIds[i] = table.idOf(m.flags);
      sizes[i] = m.size;
    }
    return new MailboxSnapshot(mailboxId, uidValidity, modSeq, false, uids, modSeqs, flagIds, sizes, table, keywordsOf(table.lists));
  }

  get length(): number {
    return this.uids.length;
  }

  /** Index of `uid`, or -1. */
  indexOf(uid: number): number {
    const i = lowerBound(this.uids, uid);
    return i < this.uids.length && this.uids[i] === uid ? i : -1;
  }

  flagsAtIndex(i: number): string[] {
    return this.table.lists[this.flagIds[i]];
  }

  /** The flags of message `i` as FETCH writes them, e.g. "(\Seen $Work)": one string per distinct list, kept. */
  flagsTextAtIndex(i: number): string {
    return this.table.text(this.flagIds[i]);
  }

  firstUnseen(): number {
    if (this.firstUnseenIndex === undefined) {
      const seen = this.table.lists.map((flags) => flags.includes('\\Seen'));
      this.firstUnseenIndex = this.flagIds.findIndex((id) => !seen[id]);
    }
    return this.firstUnseenIndex;
  }

  /**
   * The snapshot after `changes` (the change log since this snapshot's
   * MODSEQ). Sessions on the same snapshot that read the log up to the same
   * MODSEQ get the same object.
   */
  advance(changes: MailboxChanges): MailboxSnapshot {
    if (this.successor && this.successor.modSeq === changes.highestModSeq) return this.successor.next;
    const next = this.apply(changes);
    this.successor = { modSeq: changes.highestModSeq, next };
    return next;
  }

  private apply(changes: MailboxChanges): MailboxSnapshot {
    if (!changes.changed.length && !changes.expunged.length) {
      // Only the MODSEQ moved (a change elsewhere): share the arrays.
      const modSeq = Math.max(this.modSeq, changes.highestModSeq);
      return new MailboxSnapshot(this.mailboxId, this.uidValidity, modSeq, true, this.uids, this.modSeqs, this.flagIds, this.sizes, this.table, this.keywords);
    }
    const gone = new Set(changes.expunged);
    const updated = new Map<number, MessageMeta>();
    const added: MessageMeta[] = [];
    const last = this.uids.length ? this.uids[this.uids.length - 1] : 0;
    for (const m of changes.changed) {
      if (gone.has(m.uid)) continue;
      if (this.indexOf(m.uid) >= 0) updated.set(m.uid, m);
      // A UID below the last one known and not here was expunged meanwhile (the log may still list it).
      else if (m.uid > last) added.push(m);
    }
    added.sort((a, b) => a.uid - b.uid);
    let kept = 0;
    for (let i = 0; i < this.uids.length; i++) if (!gone.has(this.uids[i])) kept++;
    const n = kept + added.length;
    const uids = new Uint32Array(n);
    const modSeqs = new Float64Array(n);
    const flagIds = new Uint32Array(n);
    const sizes = new Float64Array(n);
    let table = this.table;
    const updates: Array<[number, MessageMeta]> = [];
    let j = 0;
    for (let i = 0; i < this.uids.length; i++) {
      const uid = this.uids[i];
      if (gone.has(uid)) continue;
      uids[j] = uid;
      const m = updated.get(uid);
      modSeqs[j] = m ? m.modSeq : this.modSeqs[i];
      flagIds[j] = this.flagIds[i];
      sizes[j] = this.sizes[i];
      if (m) updates.push([j, m]);
      j++;
    }
    for (const m of added) {
      uids[j] = m.uid;
      modSeqs[j] = m.modSeq;
      sizes[j] = m.size;
      updates.push([j, m]);
      j++;
    }
    if (table.lists.length > FLAG_TABLE_SLACK && table.lists.length > FLAG_TABLE_SLACK + 2 * distinct(flagIds, n - added.length)) {
      // Too many lists no message uses any more: renumber into a fresh table (older snapshots keep theirs).
      const fresh = new FlagTable();
      for (let i = 0; i < n; i++) flagIds[i] = fresh.idOf(table.lists[flagIds[i]]);
      table = fresh;
    }
    for (const [at, m] of updates) flagIds[at] = table.idOf(m.flags);
    // The keywords of the messages now (FLAGS lists those in use, as a fresh SELECT would).
    const used = new Uint8Array(table.lists.length);
    for (let i = 0; i < n; i++) used[flagIds[i]] = 1;
    const keywords = keywordsOf(table.lists.filter((_, id) => used[id]));
    return new MailboxSnapshot(this.mailboxId, this.uidValidity, Math.max(this.modSeq, changes.highestModSeq), true, uids, modSeqs, flagIds, sizes, table, keywords);
  }
}

/**
 * The node's latest snapshot per mailbox, held weakly, per reader (the node's
 * MailDomain; tests with their own stores never share).
 */
export class SnapshotRegistry {
  private readonly latest = new Map<string, WeakRef<MailboxSnapshot>>();
  private readonly cleanup = new FinalizationRegistry<string>((key) => {
    if (this.latest.get(key)?.deref() === undefined) this.latest.delete(key);
  });
  /** Change-log reads in flight, by mailbox and MODSEQ, started after the mailbox's last change signal. */
  private readonly reading = new Map<string, Map<number, Promise<MailboxChanges>>>();

  /** The store's change log since `sinceModSeq`, read once for every session on the node that asks while it is in flight. */
  changesSince(read: (sinceModSeq: number) => Promise<MailboxChanges>, mailboxId: MailboxId, sinceModSeq: number): Promise<MailboxChanges> {
    const key = String(mailboxId);
    let byModSeq = this.reading.get(key);
    const shared = byModSeq?.get(sinceModSeq);
    if (shared) return shared;
    const p = read(sinceModSeq);
    if (!byModSeq) this.reading.set(key, (byModSeq = new Map()));
    byModSeq.set(sinceModSeq, p);
    const done = () => {
      const m = this.reading.get(key);
      if (m?.get(sinceModSeq) !== p) return;
      m.delete(sinceModSeq);
      if (m.size === 0) this.reading.delete(key);
    };
    p.then(done, done);
    return p;
  }

  /**
   * A change signal for the mailbox: reads already in flight may predate the
   * change, so no later caller joins them. Every session's bus listener calls
   * this before its session syncs, so a read a session joins always started
   * after every change it was told of (and one delivery that wakes 2,000 idle
   * sessions costs one read, not 2,000).
   */
  noteChange(mailboxId: MailboxId): void {
    this.reading.delete(String(mailboxId));
  }

  /** The latest snapshot of the mailbox if it is of `modSeq` (and the same UIDVALIDITY), else undefined. */
  find(mailboxId: MailboxId, uidValidity: number, modSeq: number, exactOnly: boolean): MailboxSnapshot | undefined {
    const s = this.latest.get(String(mailboxId))?.deref();
    if (!s || s.uidValidity !== uidValidity || s.modSeq !== modSeq || (exactOnly && !s.exact)) return undefined;
    return s;
  }

  /** Offer a snapshot as the mailbox's latest; kept when not older than the one held. */
  offer(s: MailboxSnapshot): void {
    const key = String(s.mailboxId);
    const held = this.latest.get(key)?.deref();
    if (held && held.uidValidity === s.uidValidity && (held.modSeq > s.modSeq || (held.modSeq === s.modSeq && held.exact))) return;
    this.latest.set(key, new WeakRef(s));
    this.cleanup.register(s, key);
  }
}

const registries = new WeakMap<object, SnapshotRegistry>();

export function registryFor(reader: object): SnapshotRegistry {
  let r = registries.get(reader);
  if (!r) {
    r = new SnapshotRegistry();
    registries.set(reader, r);
  }
  return r;
}

/** Index of the first element >= value in an ascending array. */
export function lowerBound(a: Uint32Array, value: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid] < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function isAscending(messages: readonly MessageMeta[]): boolean {
  for (let i = 1; i < messages.length; i++) if (messages[i].uid <= messages[i - 1].uid) return false;
  return true;
}

function keywordsOf(lists: readonly string[][]): Set<string> {
  const out = new Set<string>();
  for (const flags of lists) for (const f of flags) if (!f.startsWith('\\')) out.add(f);
  return out;
}

function distinct(ids: Uint32Array, n: number): number {
  const seen = new Set<number>();
  for (let i = 0; i < n; i++) seen.add(ids[i]);
  return seen.size;
}
