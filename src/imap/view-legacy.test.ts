import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MailDomain } from '../domain/mail-domain.js';
import { SYSTEM_FLAGS } from '../domain/flags.js';
import { LocalBus } from '../notify/bus.js';
import type { ImapResponse, ImapValue, SeqRange, SequenceSet } from '../protocol/imap/types.js';
import { openSqliteStore } from '../store/sqlite/index.js';
import type { Mailbox, MessageMeta } from '../store/types.js';
import { inSet, MailboxView, type MailboxReader, sameFlags, type SyncOptions, vanishedResponse } from './view.js';

// The view as it was before the shared snapshot (one object per message per session), kept as the
// reference: the shared-snapshot view must give the same answers for any interleaving.
interface ViewEntry {
  uid: number;
  flags: string[];
  /** The MODSEQ the client was last told of (or that the flags above belong to). */
  modSeq: number;
  /** Expunged in the store, EXPUNGE not yet sent. */
  expunged: boolean;
}

class LegacyView {
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
  static async open(reader: MailboxReader, mailbox: Mailbox, readOnly: boolean): Promise<LegacyView> {
    const view = new LegacyView(mailbox, readOnly);
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


function bounds(r: SeqRange, star: number): [number, number] {
  const a = r.from === '*' ? star : r.from;
  const b = r.to === '*' ? star : r.to;
  return a <= b ? [a, b] : [b, a];
}

/** Deterministic pseudo-random numbers (a failing seed replays). */
function prng(seed: number): (n: number) => number {
  let x = seed >>> 0 || 1;
  return (n) => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x % n;
  };
}

const KEYWORDS = ['\\Seen', '\\Flagged', '\\Deleted', '$Hot', '$Later', 'Work'];

function state(v: LegacyView | MailboxView) {
  const rows: unknown[] = [];
  for (let seq = 1; seq <= v.exists; seq++) rows.push([v.uidAt(seq), [...v.flagsAt(seq)].sort(), v.modSeqAt(seq), v.isExpunged(seq)]);
  return { exists: v.exists, uidNext: v.uidNext, highestModSeq: v.highestModSeq, flags: v.flagList(), firstUnseen: v.firstUnseen(), rows, changed: v.changedSince(0, null) };
}

describe('MailboxView (shared snapshot) against the per-session view it replaces', () => {
  for (const seed of Array.from({ length: Number(process.env.VIEW_SEEDS ?? 6) }, (_, i) => i + 1)) {
    it(`answers alike over random interleavings (seed ${seed})`, async () => {
      const rand = prng(seed * 7919);
      const store = await openSqliteStore(':memory:');
      const account = await store.createAccount('a@example.com', 'x', null);
      const box = await store.createMailbox(account.id, 'INBOX');
      const append = () => store.appendMessage(box.id, { content: Buffer.from('Subject: x\r\n\r\nx\r\n') });
      for (let i = 0; i < 12; i++) await append();
      const reader: MailboxReader = new MailDomain(store, new LocalBus());
      const mailbox = async (): Promise<Mailbox> => (await store.getMailboxById(box.id))!;
      const sessions: Array<{ legacy: LegacyView; view: MailboxView }> = [];
      const open = async () => {
        const m = await mailbox();
        return { legacy: await LegacyView.open(reader, m, false), view: await MailboxView.open(reader, m, false) };
      };
      for (let i = 0; i < 3; i++) sessions.push(await open());
      for (let step = 0; step < 150; step++) {
        const live = (await store.listMessages(box.id)).map((m) => m.uid);
        const s = sessions[rand(sessions.length)];
        const op = rand(8);
        if (op === 0) await append();
        else if (op === 1 && live.length) {
          // Another session expunges.
          await store.expungeMessages(box.id, [live[rand(live.length)]]);
        } else if (op === 2 && live.length) {
          const uids = [live[rand(live.length)], live[rand(live.length)]];
          await store.updateFlags(box.id, uids, rand(2) ? 'add' : 'remove', [KEYWORDS[rand(KEYWORDS.length)]]);
        } else if (op === 3 && live.length) {
          // This session stores and is told the result (with or without MODSEQ).
          const uid = live[rand(live.length)];
          if (s.view.seqOf(uid) === undefined || s.view.isExpunged(s.view.seqOf(uid)!)) continue;
          await store.updateFlags(box.id, [uid], 'add', [KEYWORDS[rand(KEYWORDS.length)]]);
          const metas = await store.getMessages(box.id, [uid]);
          const withModSeq = rand(2) === 0;
          assert.deepEqual(s.view.flagsUpdateFor([metas[0].flags]), s.legacy.flagsUpdateFor([metas[0].flags]));
          s.legacy.setFlags(uid, metas[0].flags, withModSeq ? metas[0].modSeq : undefined);
          s.view.setFlags(uid, metas[0].flags, withModSeq ? metas[0].modSeq : undefined);
        } else if (op === 4 && live.length) {
          // This session expunges one of its messages itself.
          const uid = live[rand(live.length)];
          if (s.view.seqOf(uid) === undefined) continue;
          await store.expungeMessages(box.id, [uid]);
          s.legacy.markExpunged([uid]);
          s.view.markExpunged([uid]);
          if (rand(2)) {
            const qresync = rand(2) === 0;
            assert.deepEqual(s.view.flushExpunged(qresync), s.legacy.flushExpunged(qresync));
          }
        } else if (op === 5 && sessions.length < 6) sessions.push(await open());
        else {
          const opts: SyncOptions = { allowExpunge: rand(3) > 0, condstore: rand(2) === 0, qresync: rand(3) === 0 };
          assert.deepEqual(await s.view.sync(reader, opts), await s.legacy.sync(reader, opts), `step ${step}`);
        }
        assert.deepEqual(state(s.view), state(s.legacy), `step ${step}`);
      }
      for (const s of sessions) {
        assert.deepEqual(await s.view.sync(reader, true), await s.legacy.sync(reader, true));
        assert.deepEqual(state(s.view), state(s.legacy));
      }
      await store.close();
    });
  }
});
