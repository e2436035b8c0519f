/**
 * The selected mailbox as this session's client knows it: the sequence
 * number <-> UID map, the flags last reported, and the MODSEQ up to which the
 * store's change log has been applied.
 *
 * The messages themselves live in a MailboxSnapshot shared by every session
 * on the node that has the mailbox selected (typed arrays, immutable,
 * versioned); a view keeps only what differs for its client: ghosts, UIDs
 * already reported expunged, and flags told since the snapshot. So an idle
 * session costs the same on an empty mailbox as on one of 100,000 messages.
 *
 * Expunges seen in the change log are not applied at once: the message stays
 * in the map as a "ghost" until the session may send EXPUNGE (RFC 9051 §7.5.1:
 * never while a FETCH, STORE or SEARCH runs, so that sequence numbers the
 * client is using keep their meaning). EXISTS counts ghosts for the same reason.
 */
import type { MailDomain } from '../domain/mail-domain.js';
import { SYSTEM_FLAGS } from '../domain/flags.js';
import type { Mailbox, MessageMeta } from '../store/types.js';
import type { ImapResponse, ImapValue, SeqRange, SequenceSet } from '../protocol/imap/types.js';
import { lowerBound, MailboxSnapshot, registryFor } from './mailbox-snapshot.js';

/** What a view reads: the domain (or, in tests, anything that answers the same). */
export type MailboxReader = Pick<MailDomain, 'listMessages' | 'changesSince'>;

/** A message's flags and MODSEQ as this client knows them. */
interface Known {
  flags: string[];
  /** The MODSEQ the client was last told of (or that the flags above belong to). */
  modSeq: number;
}

/** A bus signal that the mailbox changed: the session's listener calls this before the session syncs. */
export function noteMailboxChanged(reader: MailboxReader, mailboxId: Mailbox['id']): void {
  registryFor(reader).noteChange(mailboxId);
}

export class MailboxView {
  /** The shared picture of the mailbox at `highestModSeq`; the client knows it, give or take what follows. */
  private snap: MailboxSnapshot;
  /** The client's UID list (ascending) when it differs from the snapshot's: ghosts gone from it, or hidden UIDs. */
  private ownUids: Uint32Array | null = null;
  /** Expunged in the store, EXPUNGE not yet sent: still numbered for the client. */
  private ghosts: Map<number, Known> | null = null;
  /** EXPUNGE sent (this session expunged them) but still in the snapshot until the next sync moves past it. */
  private hidden: Set<number> | null = null;
  /** Flags (and MODSEQ) told to the client since the snapshot; dropped at each sync, which moves the snapshot on. */
  private told: Map<number, Known> | null = null;
  /** Keywords seen, for the FLAGS response: the snapshot's set until this client is told of one it lacks. */
  private keywords: ReadonlySet<string>;
  /** `keywords` is this view's own copy (written to), not a snapshot's. */
  private ownKeywords = false;
  /** A keyword appeared since the last FLAGS response (RFC 9051 §7.3.5: the client is told the new list). */
  private keywordsGrew = false;
  /**
   * RFC 5182 SEARCHRES: UIDs saved by SEARCH RETURN (SAVE), named "$" in later
   * commands. Kept as UIDs so expunged messages simply drop out (§2.1); a new
   * view (SELECT, EXAMINE) starts empty.
   */
  savedUids: number[] = [];

  private constructor(
    public mailbox: Mailbox,
    readonly readOnly: boolean,
    snap: MailboxSnapshot,
  ) {
    this.snap = snap;
    this.keywords = snap.keywords;
  }

  /**
   * Loads the mailbox: the node's snapshot of it when that is of the current
   * MODSEQ, else the message list. The MODSEQ is read before the list so
   * nothing falls between the two.
   */
  static async open(reader: MailboxReader, mailbox: Mailbox, readOnly: boolean): Promise<MailboxView> {
    const registry = registryFor(reader);
    let snap = registry.find(mailbox.id, mailbox.uidValidity, mailbox.highestModSeq, false);
    if (!snap) {
      snap = MailboxSnapshot.fromMessages(mailbox.id, mailbox.uidValidity, mailbox.highestModSeq, await reader.listMessages(mailbox));
      registry.offer(snap);
    }
    return new MailboxView(mailbox, readOnly, snap);
  }

  /** The shared snapshot this view reads (tests check that sessions share one). */
  get snapshot(): MailboxSnapshot {
    return this.snap;
  }

  private get uids(): Uint32Array {
    return this.ownUids ?? this.snap.uids;
  }

  get exists(): number {
    return this.uids.length;
  }

  /** The MODSEQ up to which the change log has been applied (RFC 7162 HIGHESTMODSEQ as this session knows it). */
  get highestModSeq(): number {
    return this.snap.modSeq;
  }

  get uidValidity(): number {
    return this.mailbox.uidValidity;
  }

  /** The UIDNEXT to announce: never below what the client has seen. */
  get uidNext(): number {
    const uids = this.uids;
    const last = uids.length ? uids[uids.length - 1] : 0;
    return Math.max(this.mailbox.uidNext, last + 1);
  }

  /** FLAGS / PERMANENTFLAGS list: system flags and keywords in use. */
  flagList(): string[] {
    return [...SYSTEM_FLAGS, ...[...this.keywords].sort()];
  }

  uidAt(seq: number): number {
    return this.uids[seq - 1];
  }

  flagsAt(seq: number): string[] {
    return this.known(this.uidAt(seq)).flags;
  }

  modSeqAt(seq: number): number {
    return this.known(this.uidAt(seq)).modSeq;
  }

  isExpunged(seq: number): boolean {
    return this.ghosts?.has(this.uidAt(seq)) ?? false;
  }

  seqOf(uid: number): number | undefined {
    const uids = this.uids;
    const i = lowerBound(uids, uid);
    return i < uids.length && uids[i] === uid ? i + 1 : undefined;
  }

  /**
   * Index in the snapshot of the message at `seq`, or -1 for a message the
   * snapshot no longer holds (a ghost). Without an own UID list the client's
   * numbering is the snapshot's.
   */
  snapshotIndexAt(seq: number): number {
    return this.ownUids ? this.snap.indexOf(this.ownUids[seq - 1]) : seq - 1;
  }

  /**
   * The mailbox as the store has it now, without reading its messages: the
   * snapshot this view is on and the change log since it. The read is this
   * command's own (not shared as syncs share theirs), so it sees every change
   * committed before the command began, on any node. The view does not move:
   * the sync after the command reports what changed, as it would have.
   */
  async current(reader: MailboxReader): Promise<CurrentMailbox> {
    const snap = this.snap;
    const changes = await reader.changesSince(this.mailbox, snap.modSeq);
    const changed = new Map<number, MessageMeta>();
    for (const m of changes.changed) changed.set(m.uid, m);
    return { snapshot: snap, changed, expunged: new Set(changes.expunged) };
  }

  /** What the client knows of a message in its list. */
  private known(uid: number): Known {
    const k = this.ghosts?.get(uid) ?? this.told?.get(uid);
    if (k) return k;
    const i = this.snap.indexOf(uid);
    return { flags: this.snap.flagsAtIndex(i), modSeq: this.snap.modSeqs[i] };
  }

  /**
   * Record flags (and their MODSEQ) the client has just been told of, so the
   * next sync does not repeat them. Without `modSeq` the entry keeps its old
   * one and a CONDSTORE client still gets the MODSEQ at the next sync.
   */
  setFlags(uid: number, flags: string[], modSeq?: number): void {
    if (this.seqOf(uid) === undefined) return;
    this.noteKeywords(flags);
    const prior = this.known(uid);
    const next = modSeq !== undefined && modSeq > prior.modSeq ? modSeq : prior.modSeq;
    const ghost = this.ghosts?.get(uid);
    if (ghost) {
      ghost.flags = flags;
      ghost.modSeq = next;
      return;
    }
    // Telling the client what the snapshot already says needs no entry (a FETCH 1:* FLAGS adds none).
    if (next === prior.modSeq && equalLists(prior.flags, flags)) return;
    (this.told ??= new Map()).set(uid, { flags, modSeq: next });
  }

  /**
   * Note the keywords of flags about to be sent in FETCH responses; returns the
   * FLAGS response to send first when one is new, so that the client knows a
   * keyword before a FETCH uses it (RFC 9051 §7.3.5), or null.
   */
  flagsUpdateFor(flagLists: Iterable<string[]>): ImapResponse | null {
    for (const flags of flagLists) this.noteKeywords(flags);
    if (!this.keywordsGrew) return null;
    this.keywordsGrew = false;
    return { type: 'flags', flags: this.flagList() };
  }

  private noteKeywords(flags: string[]): void {
    for (const f of flags) {
      if (f.startsWith('\\') || this.keywords.has(f)) continue;
      // Copy on write: the set is the snapshot's until this client learns of a keyword it lacks.
      if (!this.ownKeywords) {
        this.keywords = new Set(this.keywords);
        this.ownKeywords = true;
      }
      (this.keywords as Set<string>).add(f);
      this.keywordsGrew = true;
    }
  }

  /** Mark UIDs this session expunged itself (EXPUNGE, MOVE); they go out with the next allowed sync. */
  markExpunged(uids: number[]): void {
    for (const uid of uids) if (this.seqOf(uid) !== undefined) this.makeGhost(uid);
  }

  private makeGhost(uid: number): void {
    if (this.ghosts?.has(uid)) return;
    const k = this.known(uid);
    (this.ghosts ??= new Map()).set(uid, { flags: k.flags, modSeq: k.modSeq });
  }

  /** First unseen sequence number (IMAP4rev1 SELECT's UNSEEN code), or 0. */
  firstUnseen(): number {
    if (!this.ownUids && !this.ghosts && !this.told) return this.snap.firstUnseen() + 1;
    const uids = this.uids;
    for (let i = 0; i < uids.length; i++) {
      if (this.ghosts?.has(uids[i])) continue;
      if (!this.known(uids[i]).flags.includes('\\Seen')) return i + 1;
    }
    return 0;
  }

  /**
   * Sequence numbers of a set, ascending, without duplicates. `null` when a
   * number is out of range (RFC 9051 §6.4: that is a client error). With `uid`,
   * the set is of UIDs and numbers not in the mailbox are ignored (§6.4.9).
   */
  resolve(set: SequenceSet, uid: boolean): number[] | null {
    if (set === '$') return this.savedSeqs();
    const uids = this.uids;
    const n = uids.length;
    const seqs = new Set<number>();
    if (uid) {
      const maxUid = n ? uids[n - 1] : 0;
      for (const r of set) {
        const [lo, hi] = bounds(r, maxUid);
        // UIDs are ascending: start at the first UID >= lo.
        for (let i = lowerBound(uids, lo); i < n && uids[i] <= hi; i++) seqs.add(i + 1);
      }
    } else {
      for (const r of set) {
        if (n === 0 && (r.from === '*' || r.to === '*')) continue;
        const [lo, hi] = bounds(r, n);
        if (lo < 1 || hi > n) return null;
        for (let seq = lo; seq <= hi; seq++) seqs.add(seq);
      }
    }
    return [...seqs].sort((a, b) => a - b);
  }

  /** Sequence numbers of the saved search result, ascending; an empty result is not an error (RFC 5182 §2.1). */
  savedSeqs(): number[] {
    const seqs: number[] = [];
    for (const uid of this.savedUids) {
      const seq = this.seqOf(uid);
      if (seq !== undefined) seqs.push(seq);
    }
    return seqs.sort((a, b) => a - b);
  }

  /**
   * Apply the store's change log since the known MODSEQ. Returns the
   * untagged responses to send: EXPUNGE (only when allowed; in descending
   * order so each number is valid when read) or, after ENABLE QRESYNC, one
   * VANISHED (RFC 7162 §3.2.10), then EXISTS, then FETCH FLAGS (with MODSEQ
   * once CONDSTORE is enabled, RFC 7162 §3.1.4: and then also for a change
   * that left the flags as they were, since the MODSEQ moved).
   */
  async sync(reader: MailboxReader, opts: boolean | SyncOptions): Promise<ImapResponse[]> {
    const { allowExpunge, condstore = false, qresync = false } = typeof opts === 'boolean' ? { allowExpunge: opts } : opts;
    const mailbox = this.mailbox;
    const changes = await registryFor(reader).changesSince((since) => reader.changesSince(mailbox, since), mailbox.id, this.snap.modSeq);
    const out: ImapResponse[] = [];
    const expunged = new Set(changes.expunged);
    for (const uid of changes.expunged) if (this.seqOf(uid) !== undefined) this.makeGhost(uid);
    if (allowExpunge) out.push(...this.flushExpunged(qresync));
    const before = this.exists;
    const uids = this.uids;
    const lastUid = uids.length ? uids[uids.length - 1] : 0;
    const flagChanges: MessageMeta[] = [];
    const added: MessageMeta[] = [];
    for (const m of changes.changed) {
      if (this.seqOf(m.uid) === undefined) {
        // A UID below the last one known is a message expunged meanwhile that the log still lists: skip.
        if (m.uid > lastUid && !expunged.has(m.uid)) added.push(m);
      } else if (!this.ghosts?.has(m.uid)) {
        const k = this.known(m.uid);
        if (!sameFlags(k.flags, m.flags) || (condstore && m.modSeq > k.modSeq)) flagChanges.push(m);
      }
    }
    this.moveTo(this.nextSnapshot(reader, changes));
    // The new snapshot holds every change up to its MODSEQ: what the client was told since is in it.
    this.told = null;
    for (const m of added) this.noteKeywords(m.flags);
    for (const m of flagChanges) this.noteKeywords(m.flags);
    this.shareKeywords();
    if (this.keywordsGrew) {
      this.keywordsGrew = false;
      out.push({ type: 'flags', flags: this.flagList() });
    }
    if (this.exists !== before) out.push({ type: 'exists', count: this.exists });
    for (const m of flagChanges) {
      const seq = this.seqOf(m.uid);
      if (seq === undefined) continue;
      const items: Array<[string, ImapValue]> = [['UID', m.uid], ['FLAGS', m.flags.map((f) => ({ atom: f }))]];
      if (condstore) items.push(['MODSEQ', [m.modSeq]]);
      out.push({ type: 'fetch', seq, items });
    }
    return out;
  }

  /** The snapshot after `changes`: the node's, when some session already reached the same MODSEQ. */
  private nextSnapshot(reader: MailboxReader, changes: Awaited<ReturnType<MailboxReader['changesSince']>>): MailboxSnapshot {
    if (changes.highestModSeq <= this.snap.modSeq && !changes.changed.length && !changes.expunged.length) return this.snap;
    const registry = registryFor(reader);
    const shared = registry.find(this.mailbox.id, this.mailbox.uidValidity, changes.highestModSeq, true);
    if (shared) return shared;
    const next = this.snap.advance(changes);
    registry.offer(next);
    return next;
  }

  /** Point at `snap` and rebuild the client's own UID list if it still differs from the snapshot's. */
  private moveTo(snap: MailboxSnapshot): void {
    this.snap = snap;
    this.rebuildOwnUids();
  }

  private rebuildOwnUids(): void {
    const snap = this.snap;
    if (this.hidden) for (const uid of this.hidden) if (snap.indexOf(uid) < 0) this.hidden.delete(uid);
    if (this.hidden?.size === 0) this.hidden = null;
    const extra = this.ghosts ? [...this.ghosts.keys()].filter((uid) => snap.indexOf(uid) < 0).sort((a, b) => a - b) : [];
    if (!extra.length && !this.hidden) {
      this.ownUids = null;
      return;
    }
    const hidden = this.hidden;
    const own = new Uint32Array(snap.length - (hidden?.size ?? 0) + extra.length);
    let j = 0;
    let e = 0;
    for (let i = 0; i < snap.length; i++) {
      const uid = snap.uids[i];
      if (hidden?.has(uid)) continue;
      while (e < extra.length && extra[e] < uid) own[j++] = extra[e++];
      own[j++] = uid;
    }
    while (e < extra.length) own[j++] = extra[e++];
    this.ownUids = own;
  }

  /** Back to the snapshot's keyword set when this client's holds the same keywords. */
  private shareKeywords(): void {
    const shared = this.snap.keywords;
    if (this.keywords === shared || this.keywords.size !== shared.size) return;
    for (const k of this.keywords) if (!shared.has(k)) return;
    this.keywords = shared;
    this.ownKeywords = false;
  }

  /**
   * Remove ghosts from the map; one EXPUNGE each, highest sequence number
   * first, or with QRESYNC one "* VANISHED uid-set" (RFC 7162 §3.2.10).
   */
  flushExpunged(qresync = false): ImapResponse[] {
    if (!this.ghosts) return [];
    const gone = [...this.ghosts.keys()].sort((a, b) => a - b);
    const out: ImapResponse[] = [];
    for (let i = gone.length - 1; i >= 0; i--) out.push({ type: 'expunge', seq: this.seqOf(gone[i])! });
    for (const uid of gone) if (this.snap.indexOf(uid) >= 0) (this.hidden ??= new Set()).add(uid);
    this.ghosts = null;
    this.rebuildOwnUids();
    if (qresync && gone.length) return [vanishedResponse(gone, false)];
    return out;
  }

  /**
   * RFC 7162 §3.2.5.1: sequence numbers of live messages changed after `modSeq`,
   * restricted to `knownUids` when the client named the UIDs it knows.
   */
  changedSince(modSeq: number, knownUids: SequenceSet | null): number[] {
    const known = knownUids && knownUids !== '$' ? knownUids : null;
    const seqs: number[] = [];
    const uids = this.uids;
    const star = uids.length ? uids[uids.length - 1] : 0;
    for (let i = 0; i < uids.length; i++) {
      const uid = uids[i];
      if (this.ghosts?.has(uid)) continue;
      if (this.known(uid).modSeq > modSeq && (!known || inSet(known, uid, star))) seqs.push(i + 1);
    }
    return seqs;
  }
}

/** The store's state of a mailbox: `snapshot`, overridden by `changed` (latest state of each message changed since) and `expunged`. */
export interface CurrentMailbox {
  snapshot: MailboxSnapshot;
  changed: ReadonlyMap<number, MessageMeta>;
  expunged: ReadonlySet<number>;
}

export interface SyncOptions {
  allowExpunge: boolean;
  /** RFC 7162 CONDSTORE enabled: FETCH responses carry MODSEQ. */
  condstore?: boolean;
  /** RFC 7162 QRESYNC enabled: expunges are reported as VANISHED. */
  qresync?: boolean;
}

/** "* VANISHED [(EARLIER)] uid-set" (RFC 7162 §3.2.10); `uids` ascending. */
export function vanishedResponse(uids: number[], earlier: boolean): ImapResponse {
  const values: ImapValue[] = [{ atom: 'VANISHED' }];
  if (earlier) values.push([{ atom: 'EARLIER' }]);
  values.push({ atom: compactSet(uids) });
  return { type: 'untagged', values };
}

/** True when `uid` is in the set; "*" stands for `star`, the largest UID in use. */
export function inSet(set: SeqRange[], uid: number, star: number): boolean {
  return set.some((r) => {
    const [lo, hi] = bounds(r, star);
    return uid >= lo && uid <= hi;
  });
}

function bounds(r: SeqRange, star: number): [number, number] {
  const a = r.from === '*' ? star : r.from;
  const b = r.to === '*' ? star : r.to;
  return a <= b ? [a, b] : [b, a];
}

/** Same flags in the same order (the store keeps a stable order): the cheap test before sameFlags. */
function equalLists(a: string[], b: string[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function sameFlags(a: string[], b: string[]): boolean {
  if (a.length !== b.length) return false;
  const set = new Set(a.map((f) => f.toLowerCase()));
  return b.every((f) => set.has(f.toLowerCase()));
}

/** "1:3,5" from numbers: ascending runs become ranges (COPYUID, APPENDUID, ESEARCH ALL; ESORT keeps sort order). */
export function compactSet(nums: readonly number[]): string {
  const parts: string[] = [];
  let i = 0;
  while (i < nums.length) {
    let j = i;
    while (j + 1 < nums.length && nums[j + 1] === nums[j] + 1) j++;
    parts.push(i === j ? String(nums[i]) : `${nums[i]}:${nums[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}
