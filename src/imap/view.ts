/**
 * The selected mailbox as this session's client knows it: the sequence
 * number <-> UID map, the flags last reported, and the MODSEQ up to which the
 * store's change log has been applied.
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

/** What a view reads: the domain (or, in tests, anything that answers the same). */
export type MailboxReader = Pick<MailDomain, 'listMessages' | 'changesSince'>;

interface ViewEntry {
  uid: number;
  flags: string[];
  /** The MODSEQ the client was last told of (or that the flags above belong to). */
  modSeq: number;
  /** Expunged in the store, EXPUNGE not yet sent. */
  expunged: boolean;
}

export class MailboxView {
  private entries: ViewEntry[] = [];
  private bySeqDirty = true;
  private uidIndex = new Map<number, number>();
  /** Keywords seen in this mailbox, for the FLAGS response. */
  private readonly keywords = new Set<string>();
  private knownModSeq = 0;
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
  ) {}

  /** Loads the mailbox. The MODSEQ is read before the message list so nothing falls between the two. */
  static async open(reader: MailboxReader, mailbox: Mailbox, readOnly: boolean): Promise<MailboxView> {
    const view = new MailboxView(mailbox, readOnly);
    view.knownModSeq = mailbox.highestModSeq;
    for (const m of await reader.listMessages(mailbox)) view.add(m);
    view.keywordsGrew = false;
    return view;
  }

  get exists(): number {
    return this.entries.length;
  }

  /** The MODSEQ up to which the change log has been applied (RFC 7162 HIGHESTMODSEQ as this session knows it). */
  get highestModSeq(): number {
    return this.knownModSeq;
  }

  get uidValidity(): number {
    return this.mailbox.uidValidity;
  }

  /** The UIDNEXT to announce: never below what the client has seen. */
  get uidNext(): number {
    const last = this.entries.length ? this.entries[this.entries.length - 1].uid : 0;
    return Math.max(this.mailbox.uidNext, last + 1);
  }

  /** FLAGS / PERMANENTFLAGS list: system flags and keywords in use. */
  flagList(): string[] {
    return [...SYSTEM_FLAGS, ...[...this.keywords].sort()];
  }

  uidAt(seq: number): number {
    return this.entries[seq - 1].uid;
  }

  flagsAt(seq: number): string[] {
    return this.entries[seq - 1].flags;
  }

  modSeqAt(seq: number): number {
    return this.entries[seq - 1].modSeq;
  }

  isExpunged(seq: number): boolean {
    return this.entries[seq - 1].expunged;
  }

  seqOf(uid: number): number | undefined {
    this.reindex();
    const i = this.uidIndex.get(uid);
    return i === undefined ? undefined : i + 1;
  }

  /**
   * Record flags (and their MODSEQ) the client has just been told of, so the
   * next sync does not repeat them. Without `modSeq` the entry keeps its old
   * one and a CONDSTORE client still gets the MODSEQ at the next sync.
   */
  setFlags(uid: number, flags: string[], modSeq?: number): void {
    const seq = this.seqOf(uid);
    if (seq === undefined) return;
    const entry = this.entries[seq - 1];
    entry.flags = flags;
    if (modSeq !== undefined && modSeq > entry.modSeq) entry.modSeq = modSeq;
    this.noteKeywords(flags);
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
      this.keywords.add(f);
      this.keywordsGrew = true;
    }
  }

  /** Mark UIDs this session expunged itself (EXPUNGE, MOVE); they go out with the next allowed sync. */
  markExpunged(uids: number[]): void {
    for (const uid of uids) {
      const seq = this.seqOf(uid);
      if (seq !== undefined) this.entries[seq - 1].expunged = true;
    }
  }

  /** First unseen sequence number (IMAP4rev1 SELECT's UNSEEN code), or 0. */
  firstUnseen(): number {
    const i = this.entries.findIndex((e) => !e.expunged && !e.flags.includes('\\Seen'));
    return i + 1;
  }

  /**
   * Sequence numbers of a set, ascending, without duplicates. `null` when a
   * number is out of range (RFC 9051 §6.4: that is a client error). With `uid`,
   * the set is of UIDs and numbers not in the mailbox are ignored (§6.4.9).
   */
  resolve(set: SequenceSet, uid: boolean): number[] | null {
    if (set === '$') return this.savedSeqs();
    const n = this.entries.length;
    const seqs = new Set<number>();
    if (uid) {
      const maxUid = n ? this.entries[n - 1].uid : 0;
      for (const r of set) {
        const [lo, hi] = bounds(r, maxUid);
        // Entries are in ascending UID order: start at the first UID >= lo.
        for (let i = this.lowerBound(lo); i < n && this.entries[i].uid <= hi; i++) seqs.add(i + 1);
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
    const changes = await reader.changesSince(this.mailbox, this.knownModSeq);
    const out: ImapResponse[] = [];
    const expunged = new Set(changes.expunged);
    for (const uid of changes.expunged) {
      const seq = this.seqOf(uid);
      if (seq !== undefined) this.entries[seq - 1].expunged = true;
    }
    if (allowExpunge) out.push(...this.flushExpunged(qresync));
    const before = this.entries.length;
    const flagChanges: MessageMeta[] = [];
    const lastUid = before ? this.entries[before - 1].uid : 0;
    for (const m of changes.changed) {
      const seq = this.seqOf(m.uid);
      if (seq === undefined) {
        // A UID below the last one known is a message expunged meanwhile that the log still lists: skip.
        if (m.uid > lastUid && !expunged.has(m.uid)) this.add(m);
      } else {
        const entry = this.entries[seq - 1];
        if (entry.expunged) continue;
        if (!sameFlags(entry.flags, m.flags) || (condstore && m.modSeq > entry.modSeq)) flagChanges.push(m);
        else if (m.modSeq > entry.modSeq) entry.modSeq = m.modSeq;
      }
    }
    for (const m of flagChanges) this.noteKeywords(m.flags);
    if (this.keywordsGrew) {
      this.keywordsGrew = false;
      out.push({ type: 'flags', flags: this.flagList() });
    }
    if (this.entries.length !== before) out.push({ type: 'exists', count: this.entries.length });
    for (const m of flagChanges) {
      this.setFlags(m.uid, m.flags, m.modSeq);
      const seq = this.seqOf(m.uid)!;
      const items: Array<[string, ImapValue]> = [['UID', m.uid], ['FLAGS', m.flags.map((f) => ({ atom: f }))]];
      if (condstore) items.push(['MODSEQ', [m.modSeq]]);
      out.push({ type: 'fetch', seq, items });
    }
    if (changes.highestModSeq > this.knownModSeq) this.knownModSeq = changes.highestModSeq;
    return out;
  }

  /**
   * Remove ghosts from the map; one EXPUNGE each, highest sequence number
   * first, or with QRESYNC one "* VANISHED uid-set" (RFC 7162 §3.2.10).
   */
  flushExpunged(qresync = false): ImapResponse[] {
    const out: ImapResponse[] = [];
    const gone: number[] = [];
    for (let seq = this.entries.length; seq >= 1; seq--) {
      if (!this.entries[seq - 1].expunged) continue;
      out.push({ type: 'expunge', seq });
      gone.push(this.entries[seq - 1].uid);
    }
    if (out.length) {
      this.entries = this.entries.filter((e) => !e.expunged);
      this.bySeqDirty = true;
    }
    if (qresync && gone.length) return [vanishedResponse(gone.reverse(), false)];
    return out;
  }

  /**
   * RFC 7162 §3.2.5.1: sequence numbers of live messages changed after `modSeq`,
   * restricted to `knownUids` when the client named the UIDs it knows.
   */
  changedSince(modSeq: number, knownUids: SequenceSet | null): number[] {
    const known = knownUids && knownUids !== '$' ? knownUids : null;
    const seqs: number[] = [];
    const star = this.entries.length ? this.entries[this.entries.length - 1].uid : 0;
    this.entries.forEach((e, i) => {
      if (!e.expunged && e.modSeq > modSeq && (!known || inSet(known, e.uid, star))) seqs.push(i + 1);
    });
    return seqs;
  }

  /** Index of the first entry with a UID >= uid. */
  private lowerBound(uid: number): number {
    let lo = 0;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.entries[mid].uid < uid) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private add(m: MessageMeta): void {
    this.entries.push({ uid: m.uid, flags: m.flags, modSeq: m.modSeq, expunged: false });
    this.uidIndex.set(m.uid, this.entries.length - 1);
    this.noteKeywords(m.flags);
  }

  private reindex(): void {
    if (!this.bySeqDirty) return;
    this.uidIndex = new Map(this.entries.map((e, i) => [e.uid, i]));
    this.bySeqDirty = false;
  }
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

export function sameFlags(a: string[], b: string[]): boolean {
  if (a.length !== b.length) return false;
  const set = new Set(a.map((f) => f.toLowerCase()));
  return b.every((f) => set.has(f.toLowerCase()));
}

/** "1:3,5" from ascending numbers (COPYUID, APPENDUID, ESEARCH ALL). */
export function compactSet(nums: number[]): string {
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
