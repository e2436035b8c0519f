/**
 * FETCH and UID FETCH (RFC 9051 §6.4.5, §7.5.2; RFC 3516 BINARY; RFC 8474,
 * RFC 8514, RFC 8970 items). BODY[...] and BINARY[...] without PEEK, RFC822
 * and RFC822.TEXT set \Seen (not in a read-only mailbox); the FETCH response
 * then carries the new FLAGS even when they were not asked for.
 */
import type { FetchAttribute, ImapResponse, ImapValue, SequenceSet } from '../../protocol/imap/types.js';
import type { MailDomain } from '../../domain/mail-domain.js';
import type { MessageStructure, MessageSummary } from '../../mail/index.js';
import type { MessageMeta } from '../../store/types.js';
import { condstoreEnabled, enableCondstore } from '../condstore.js';
import { ENCODED_SUMMARY_ITEMS, fetchBytesItem, fetchItem, GONE, NEEDS_BYTES, needsParsedSummary, UnknownCteError } from '../fetch-items.js';
import { hasFlag, SEEN_FLAG } from '../../domain/flags.js';
import { flagAtoms } from '../flags.js';
import { chunks, META_BATCH, metasByUid } from '../message-loader.js';
import type { CommandContext, CommandOf, Completion } from '../state.js';
import { bad, no, ok, selectedState } from '../state.js';
import { summaryItemsFor, type SummaryItems } from '../summary-items.js';
import { inSet, vanishedResponse } from '../view.js';
import { fetchFromSnapshot, fetchMetadata, wirePath } from '../fetch-wire.js';

export async function fetchCommand(cmd: CommandOf<'FETCH'>, ctx: CommandContext): Promise<Completion> {
  const { view } = selectedState(ctx);
  const domain = ctx.imap.domain;
  // RFC 7162 §3.2.6: VANISHED needs CHANGEDSINCE and ENABLE QRESYNC.
  if (cmd.vanished && cmd.changedSince === null) return bad('VANISHED requires CHANGEDSINCE');
  if (cmd.vanished && !ctx.enabled.has('QRESYNC')) return bad('VANISHED requires ENABLE QRESYNC');
  const seqs = view.resolve(cmd.set, cmd.uid);
  if (!seqs) return bad('Invalid message sequence number');
  const asksModSeq = cmd.attributes.some((a) => a.kind === 'MODSEQ');
  if (asksModSeq || cmd.changedSince !== null) await enableCondstore(ctx);
  const condstore = condstoreEnabled(ctx);
  // RFC 7162 §3.1.4.1: CHANGEDSINCE implies MODSEQ in every response.
  const addModSeq = !asksModSeq && cmd.changedSince !== null;
  if (cmd.vanished) await sendVanishedEarlier(ctx, cmd.set, cmd.changedSince!);
  // Flag resync and header sync: written straight into wire text (fetch-wire.ts). That text is
  // "* n FETCH": after ENABLE UIDONLY (RFC 9586 §3.3, UIDFETCH) the general path answers.
  const path = ctx.enabled.has('UIDONLY') ? null : wirePath(cmd.attributes);
  if (path) {
    const f = { seqs, attributes: cmd.attributes, uid: cmd.uid, changedSince: cmd.changedSince, addModSeq, condstore, utf8: ctx.enabled.has('UTF8=ACCEPT') };
    return path === 'snapshot' ? fetchFromSnapshot(ctx, f) : fetchMetadata(ctx, f);
  }

  const setsSeen =
    !view.readOnly &&
    cmd.attributes.some(
      (a) => a.kind === 'RFC822' || a.kind === 'RFC822.TEXT' || ((a.kind === 'BODY[]' || a.kind === 'BINARY[]') && !a.peek),
    );
  const needsBytes = cmd.attributes.some((a) => NEEDS_BYTES.has(a.kind));
  const needsSummary = cmd.attributes.some(needsParsedSummary);
  // A header sync (ENVELOPE, BODYSTRUCTURE ...) is answered from the encoded-items cache, not the parsed summary.
  const encodedOnly = needsSummary && cmd.attributes.every((a) => !needsParsedSummary(a) || ENCODED_SUMMARY_ITEMS.has(a.kind));
  const utf8 = ctx.enabled.has('UTF8=ACCEPT');
  const wantsFlags = cmd.attributes.some((a) => a.kind === 'FLAGS');
  const wantsUid = cmd.attributes.some((a) => a.kind === 'UID');
  const uidOnly = ctx.enabled.has('UIDONLY');
  const byteAttrs = cmd.attributes.filter((a) => NEEDS_BYTES.has(a.kind));
  let vanished = 0;
  const out = new ResponseBatch(ctx);

  const live = seqs.filter((seq) => !view.isExpunged(seq));
  vanished += seqs.length - live.length;
  for (const batch of chunks(live, META_BATCH)) {
    const metas = await metasByUid(domain, view.mailbox, batch.map((seq) => view.uidAt(seq)));
    const summaries = needsSummary && !encodedOnly ? await domain.messageSummaries(metas.values()) : new Map();
    const encoded = encodedOnly ? await summaryItemsFor(domain, metas.values(), utf8) : new Map<string, SummaryItems>();
    const seenNow = new Set<number>();
    if (setsSeen) {
      const unseen = [...metas.values()].filter((m) => !hasFlag(m.flags, SEEN_FLAG)).map((m) => m.uid);
      if (unseen.length) {
        for (const changed of await domain.updateFlags(view.mailbox, unseen, 'add', [SEEN_FLAG])) {
          metas.set(changed.uid, changed);
          seenNow.add(changed.uid);
        }
      }
    }
    // A keyword new to the mailbox is announced in FLAGS before a FETCH carries it (RFC 9051 §7.3.5).
    const flagsUpdate = wantsFlags ? view.flagsUpdateFor([...metas.values()].map((m) => m.flags)) : null;
    if (flagsUpdate) await out.add(flagsUpdate);
    // Which messages are answered is decided first, so that their bytes can be read ahead.
    const answered: Array<{ seq: number; meta: MessageMeta; summary: MessageSummary | null; encodedItems: SummaryItems | null }> = [];
    for (const seq of batch) {
      const meta = metas.get(view.uidAt(seq));
      const summary = meta ? summaries.get(meta.blobId) ?? null : null;
      const encodedItems = meta ? encoded.get(meta.blobId) ?? null : null;
      if (!meta || (needsSummary && !summary && !encodedItems)) {
        vanished++;
        continue;
      }
      if (cmd.changedSince !== null && meta.modSeq <= cmd.changedSince) continue;
      answered.push({ seq, meta, summary, encodedItems });
    }
    const reads = new ReadAhead(answered.length, (i) =>
      bytesItems(byteAttrs, answered[i]!.meta, answered[i]!.summary?.structure ?? null, domain),
    );
    try {
      for (let i = 0; i < answered.length; i++) {
        const { seq, meta, summary, encodedItems } = answered[i]!;
        const toldFlags = wantsFlags || seenNow.has(meta.uid);
        // Only what the client is told is recorded: a FETCH of BODY[] must not hide another session's flag change.
        if (toldFlags) view.setFlags(meta.uid, meta.flags, asksModSeq || addModSeq || condstore ? meta.modSeq : undefined);
        let bytes: Array<[string, ImapValue]> | typeof GONE = [];
        if (needsBytes) {
          try {
            bytes = await reads.take(i);
          } catch (err) {
            await out.flush();
            if (err instanceof UnknownCteError) return no(`${err.message} in message ${seq}`, { name: 'UNKNOWN-CTE' });
            throw err;
          }
        }
        if (bytes === GONE) {
          vanished++;
          continue;
        }
        const items: Array<[string, ImapValue]> = [];
        // RFC 9051 §6.4.9: UID FETCH responses always include UID; not in UIDFETCH, numbered by UID (RFC 9586 §3.3).
        if (cmd.uid && !wantsUid && !uidOnly) items.push(['UID', meta.uid]);
        let next = 0;
        for (const attr of cmd.attributes) {
          items.push(needsBytes && NEEDS_BYTES.has(attr.kind) ? bytes[next++]! : fetchItem(attr, { meta, summary, items: encodedItems }));
        }
        if (seenNow.has(meta.uid) && !wantsFlags) items.push(['FLAGS', flagAtoms(meta.flags)]);
        if (addModSeq || (seenNow.has(meta.uid) && condstore && !asksModSeq)) items.push(['MODSEQ', [meta.modSeq]]);
        await out.add({ type: 'fetch', seq, items });
      }
    } finally {
      // Stopped early (an error, a closed connection): close what was read ahead and not sent.
      reads.discardRest();
    }
    await out.flush();
  }
  // RFC 9051 §7.1 EXPUNGEISSUED: some requested messages were expunged by another session.
  if (vanished > 0) return no('Some of the requested messages no longer exist', { name: 'EXPUNGEISSUED' });
  return ok('FETCH completed');
}

/** Responses collected until about this many octets of message data, this many responses, or this many open body streams are pending. */
const BATCH_BYTES = 256 * 1024;
const BATCH_RESPONSES = 128;
const BATCH_STREAMS = 16;

/**
 * FETCH responses written a chunk at a time: one encode and one socket write
 * (and so a few full TLS records, not one per message) for many small
 * responses. Message bodies are deferred literals (streams over the stored
 * octets, see fetch-items.ts) that the session copies to the socket with
 * backpressure; they count towards the limits, so few are open at once.
 */
class ResponseBatch {
  private pending: ImapResponse[] = [];
  private bytes = 0;
  private streams = 0;

  constructor(private readonly ctx: CommandContext) {}

  add(response: ImapResponse): Promise<void> {
    this.pending.push(response);
    if (response.type === 'fetch') {
      for (const [, value] of response.items) {
        if (Buffer.isBuffer(value)) this.bytes += value.length;
        else if (value && typeof value === 'object' && 'deferred' in value) {
          this.bytes += value.deferred.length;
          this.streams++;
        }
      }
    }
    const full = this.pending.length >= BATCH_RESPONSES || this.bytes >= BATCH_BYTES || this.streams >= BATCH_STREAMS;
    return full ? this.flush() : Promise.resolve();
  }

  async flush(): Promise<void> {
    const responses = this.pending;
    this.pending = [];
    this.bytes = 0;
    this.streams = 0;
    await this.ctx.sendAll(responses);
  }
}

/** The NEEDS_BYTES items of one message, in order, or GONE when its bytes were removed meanwhile. */
async function bytesItems(
  attrs: readonly FetchAttribute[],
  meta: MessageMeta,
  structure: MessageStructure | null,
  domain: MailDomain,
): Promise<Array<[string, ImapValue]> | typeof GONE> {
  const items: Array<[string, ImapValue]> = [];
  try {
    for (const attr of attrs) {
      const item = await fetchBytesItem(attr, meta, structure, domain);
      if (item === GONE) {
        discardStreams(items);
        return GONE;
      }
      items.push(item);
    }
  } catch (err) {
    discardStreams(items);
    throw err;
  }
  return items;
}

/** Messages whose bytes are read ahead of the one being written: file reads overlap instead of queueing one by one. */
const READ_AHEAD = 8;

/**
 * Reads for messages 0..count-1, taken in order; at most READ_AHEAD are in
 * flight beyond the one taken. Small bodies are held as Buffers (at most
 * 128 KB each, fetch-items.ts), larger ones as open streams, so what is read
 * ahead stays bounded.
 */
class ReadAhead<T extends Array<[string, ImapValue]> | typeof GONE> {
  private readonly started: Array<Promise<T>> = [];
  private taken = 0;

  constructor(
    private readonly count: number,
    private readonly read: (i: number) => Promise<T>,
  ) {}

  take(i: number): Promise<T> {
    while (this.started.length < Math.min(this.count, i + 1 + READ_AHEAD)) {
      const p = this.read(this.started.length);
      // A read ahead that fails is reported when taken; never as an unhandled rejection meanwhile.
      p.catch(() => {});
      this.started.push(p);
    }
    const p = this.started[i]!;
    this.taken = i + 1;
    return p;
  }

  /** The command stopped early: the streams of reads not taken are closed once they settle. */
  discardRest(): void {
    for (const p of this.started.slice(this.taken)) {
      p.then(
        (items) => {
          if (items !== GONE) discardStreams(items as Array<[string, ImapValue]>);
        },
        () => {},
      );
    }
  }
}

/** Closes the body streams of items that will not be sent. */
function discardStreams(items: Array<[string, ImapValue]>): void {
  for (const [, value] of items) {
    if (value && typeof value === 'object' && 'deferred' in value) (value.deferred.source as { destroy(): void }).destroy();
  }
}

/**
 * UID FETCH ... (CHANGEDSINCE m VANISHED): "* VANISHED (EARLIER)" with the UIDs
 * of the set expunged after m (RFC 7162 §3.2.6), from the kept expunge log.
 * UIDs still in the view as not-yet-reported expunges are left to the plain
 * VANISHED the sync sends after the command, so no UID is reported twice.
 */
async function sendVanishedEarlier(ctx: CommandContext, set: SequenceSet, since: number): Promise<void> {
  const { view } = selectedState(ctx);
  const changes = await ctx.imap.domain.changesSince(view.mailbox, since);
  const ranges = set === '$' ? view.savedUids.map((uid) => ({ from: uid, to: uid })) : set;
  const star = Math.max(view.uidNext - 1, 0);
  const gone = changes.expunged.filter((uid) => inSet(ranges, uid, star) && view.seqOf(uid) === undefined);
  if (gone.length) await ctx.send(vanishedResponse(gone, true));
}
