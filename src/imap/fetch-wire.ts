/**
 * The two FETCHes clients run on every mailbox they sync, answered straight
 * into wire text, many responses per buffer, with no response objects:
 *
 * - flag resync (FLAGS, UID, MODSEQ, RFC822.SIZE, with CHANGEDSINCE or not)
 *   from the node's mailbox snapshot (mailbox-snapshot.ts) and the change log
 *   since it: no per-message store read, however large the mailbox. The
 *   answer is what the store says now (view.current()).
 * - header sync (ENVELOPE, BODYSTRUCTURE, BODY, INTERNALDATE and the like)
 *   from message metadata read in large batches, the next batch read while
 *   one is written, and the encoded-items cache (summary-items.ts).
 *
 * Either ends as the FETCH that reads the store message by message would:
 * messages expunged meanwhile are left out and the command ends
 * NO [EXPUNGEISSUED]; no EXPUNGE is sent while it runs (RFC 9051 §7.5.1: the
 * sync after the command holds them back, as for every FETCH).
 */
import type { FetchAttribute } from '../protocol/imap/types.js';
import { formatDateTime } from '../protocol/imap/datetime.js';
import type { MessageMeta } from '../store/types.js';
import { flagListText } from './mailbox-snapshot.js';
import { chunks, metasByUid } from './message-loader.js';
import { recentUids } from './recent.js';
import type { CommandContext, Completion } from './state.js';
import { no, ok, selectedState } from './state.js';
import { summaryItemsFor, type SummaryItems } from './summary-items.js';

/** The items of one response, in order, as small numbers (one switch per item, no string compare). */
const FLAGS = 0;
const UID = 1;
const MODSEQ = 2;
const SIZE = 3;
const INTERNALDATE = 4;
const ENVELOPE = 5;
const BODY = 6;
const BODYSTRUCTURE = 7;
const EMAILID = 8;
const THREADID = 9;
const SAVEDATE = 10;
type Item = number;

const ITEM_OF: Partial<Record<FetchAttribute['kind'], Item>> = {
  FLAGS,
  UID,
  MODSEQ,
  'RFC822.SIZE': SIZE,
  INTERNALDATE,
  ENVELOPE,
  BODY,
  BODYSTRUCTURE,
  EMAILID,
  THREADID,
  SAVEDATE,
};

/** Items the snapshot answers: UID and MODSEQ are in it, FLAGS are its flag lists, RFC822.SIZE never changes. */
const SNAPSHOT_ITEMS = new Set<Item>([FLAGS, UID, MODSEQ, SIZE]);

/** Octets of text per write: a few TLS records, and the next batch's metadata is read meanwhile. */
const WRITE_BYTES = 256 * 1024;
/** Messages per metadata read on the header path. */
const HEADER_BATCH = 1000;

export interface WireFetch {
  seqs: readonly number[];
  attributes: readonly FetchAttribute[];
  uid: boolean;
  changedSince: number | null;
  /** MODSEQ added to each response (CHANGEDSINCE without MODSEQ asked, RFC 7162 §3.1.4.1). */
  addModSeq: boolean;
  /** CONDSTORE is on: the view records the MODSEQ told with FLAGS (the next sync then does not repeat it). */
  condstore: boolean;
  /** UTF8=ACCEPT: ENVELOPE and BODYSTRUCTURE strings are written as UTF-8 (RFC 6855 §3). */
  utf8: boolean;
}

/** Which wire path answers these items: 'snapshot', 'metadata', or null for the general FETCH (bodies, sections, PREVIEW, \Seen). */
export function wirePath(attributes: readonly FetchAttribute[]): 'snapshot' | 'metadata' | null {
  if (attributes.length === 0) return null;
  let snapshot = true;
  for (const a of attributes) {
    const item = ITEM_OF[a.kind];
    if (item === undefined) return null;
    if (!SNAPSHOT_ITEMS.has(item)) snapshot = false;
  }
  return snapshot ? 'snapshot' : 'metadata';
}

/** One message's values, from the snapshot or the store. */
interface Values {
  seq: number;
  uid: number;
  /** "(\Seen $Work)" */
  flags: string;
  modSeq: number;
  size: number;
  meta: MessageMeta | null;
  items: SummaryItems | null;
}

/** The item list of each response: UID first for UID FETCH when not asked (RFC 9051 §6.4.9), MODSEQ last for CHANGEDSINCE. */
function itemsOf(f: WireFetch): Item[] {
  const items: Item[] = [];
  if (f.uid && !f.attributes.some((a) => a.kind === 'UID')) items.push(UID);
  for (const a of f.attributes) items.push(ITEM_OF[a.kind]!);
  if (f.addModSeq) items.push(MODSEQ);
  return items;
}

/** One FETCH response; ENVELOPE and the like are latin1 wire text (summary-items.ts), so all of it is one octet per character. */
function response(items: readonly Item[], v: Values): string {
  let text = `* ${v.seq} FETCH (`;
  for (let k = 0; k < items.length; k++) {
    if (k > 0) text += ' ';
    switch (items[k]) {
      case FLAGS:
        text += `FLAGS ${v.flags}`;
        break;
      case UID:
        text += `UID ${v.uid}`;
        break;
      case MODSEQ:
        text += `MODSEQ (${v.modSeq})`;
        break;
      case SIZE:
        text += `RFC822.SIZE ${v.size}`;
        break;
      case INTERNALDATE:
        text += `INTERNALDATE "${formatDateTime(v.meta!.internalDate)}"`;
        break;
      case ENVELOPE:
        text += `ENVELOPE ${v.items!.envelope}`;
        break;
      case BODY:
        text += `BODY ${v.items!.body}`;
        break;
      case BODYSTRUCTURE:
        text += `BODYSTRUCTURE ${v.items!.bodyStructure}`;
        break;
      case EMAILID:
        text += `EMAILID (${v.meta!.emailId})`;
        break;
      case THREADID:
        // RFC 8474 §5.2: NIL when the server does not assign thread ids.
        text += 'THREADID NIL';
        break;
      case SAVEDATE:
        text += v.meta!.saveDate ? `SAVEDATE "${formatDateTime(v.meta!.saveDate)}"` : 'SAVEDATE NIL';
        break;
    }
  }
  return `${text})\r\n`;
}

/** IMAP4rev1 \Recent is a session property, never stored (recent.ts); written first, as Dovecot does. */
function withRecent(flags: string): string {
  return flags === '()' ? '(\\Recent)' : `(\\Recent ${flags.slice(1)}`;
}

/** Text collected and written WRITE_BYTES at a time. */
class WireWriter {
  private text = '';

  constructor(private readonly ctx: CommandContext) {}

  /** True when enough is collected to write (the caller awaits flush()). */
  add(response: string): boolean {
    this.text += response;
    return this.text.length >= WRITE_BYTES;
  }

  async flush(): Promise<void> {
    if (this.text.length === 0) return;
    const bytes = Buffer.from(this.text, 'latin1');
    this.text = '';
    await this.ctx.send({ type: 'wire', bytes });
  }
}

function completion(vanished: number): Completion {
  // RFC 9051 §7.1 EXPUNGEISSUED: some requested messages were expunged by another session.
  if (vanished > 0) return no('Some of the requested messages no longer exist', { name: 'EXPUNGEISSUED' });
  return ok('FETCH completed');
}

/** The flag resync path: see the file comment. */
export async function fetchFromSnapshot(ctx: CommandContext, f: WireFetch): Promise<Completion> {
  const { view } = selectedState(ctx);
  const now = await view.current(ctx.imap.domain);
  const snap = now.snapshot;
  const items = itemsOf(f);
  const wantsFlags = items.includes(FLAGS);
  const recent = recentUids(ctx);
  const hasChanges = now.changed.size > 0 || now.expunged.size > 0;
  if (wantsFlags) {
    // A keyword new to this client is announced in FLAGS before a FETCH carries it (RFC 9051 §7.3.5).
    const update = view.flagsUpdateFor([[...snap.keywords], ...[...now.changed.values()].map((m) => m.flags)]);
    if (update) await ctx.send(update);
  }
  const out = new WireWriter(ctx);
  const v: Values = { seq: 0, uid: 0, flags: '', modSeq: 0, size: 0, meta: null, items: null };
  let vanished = 0;
  for (const seq of f.seqs) {
    if (view.isExpunged(seq)) {
      vanished++;
      continue;
    }
    const uid = view.uidAt(seq);
    const changed = hasChanges ? now.changed.get(uid) : undefined;
    if (changed) {
      v.flags = flagListText(changed.flags);
      v.modSeq = changed.modSeq;
      v.size = changed.size;
    } else {
      const i = hasChanges && now.expunged.has(uid) ? -1 : view.snapshotIndexAt(seq);
      if (i < 0) {
        vanished++;
        continue;
      }
      v.flags = snap.flagsTextAtIndex(i);
      v.modSeq = snap.modSeqs[i];
      v.size = snap.sizes[i];
    }
    if (f.changedSince !== null && v.modSeq <= f.changedSince) continue;
    // Only a flag list newer than the snapshot needs recording: the view knows the snapshot's.
    if (changed && wantsFlags) view.setFlags(uid, changed.flags, f.condstore ? changed.modSeq : undefined);
    if (wantsFlags && recent.size > 0 && recent.has(uid)) v.flags = withRecent(v.flags);
    v.seq = seq;
    v.uid = uid;
    if (out.add(response(items, v))) await out.flush();
  }
  await out.flush();
  return completion(vanished);
}

/** The header sync path: see the file comment. */
export async function fetchMetadata(ctx: CommandContext, f: WireFetch): Promise<Completion> {
  const { view } = selectedState(ctx);
  const domain = ctx.imap.domain;
  const items = itemsOf(f);
  const wantsFlags = items.includes(FLAGS);
  const needsItems = items.includes(ENVELOPE) || items.includes(BODY) || items.includes(BODYSTRUCTURE);
  const recent = recentUids(ctx);
  const live = f.seqs.filter((seq) => !view.isExpunged(seq));
  let vanished = f.seqs.length - live.length;
  const batches = chunks(live, HEADER_BATCH);
  const load = async (batch: number[]) => {
    const metas = await metasByUid(domain, view.mailbox, batch.map((seq) => view.uidAt(seq)));
    const encoded = needsItems ? await summaryItemsFor(domain, metas.values(), f.utf8) : null;
    return { metas, encoded };
  };
  const out = new WireWriter(ctx);
  const v: Values = { seq: 0, uid: 0, flags: '', modSeq: 0, size: 0, meta: null, items: null };
  let next = batches.length ? load(batches[0]!) : null;
  try {
    for (let b = 0; b < batches.length; b++) {
      const { metas, encoded } = await next!;
      // The next batch is read from the store while this one is written.
      next = b + 1 < batches.length ? load(batches[b + 1]!) : null;
      if (wantsFlags) {
        // A keyword new to this client is announced in FLAGS before a FETCH carries it (RFC 9051 §7.3.5).
        const update = view.flagsUpdateFor([...metas.values()].map((m) => m.flags));
        if (update) {
          await out.flush();
          await ctx.send(update);
        }
      }
      for (const seq of batches[b]!) {
        const meta = metas.get(view.uidAt(seq));
        const summaryItems = meta && encoded ? encoded.get(meta.blobId) : undefined;
        if (!meta || (needsItems && !summaryItems)) {
          vanished++;
          continue;
        }
        if (f.changedSince !== null && meta.modSeq <= f.changedSince) continue;
        if (wantsFlags) view.setFlags(meta.uid, meta.flags, f.condstore ? meta.modSeq : undefined);
        v.seq = seq;
        v.uid = meta.uid;
        v.flags = flagListText(meta.flags);
        if (wantsFlags && recent.size > 0 && recent.has(meta.uid)) v.flags = withRecent(v.flags);
        v.modSeq = meta.modSeq;
        v.size = meta.size;
        v.meta = meta;
        v.items = summaryItems ?? null;
        if (out.add(response(items, v))) await out.flush();
      }
    }
  } finally {
    // Stopped early (a failed read, a closed connection): the read ahead is not waited for, and its failure is not unhandled.
    next?.catch(() => {});
  }
  await out.flush();
  return completion(vanished);
}
