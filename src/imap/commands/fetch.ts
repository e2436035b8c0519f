/**
 * FETCH and UID FETCH (RFC 9051 §6.4.5, §7.5.2; RFC 3516 BINARY; RFC 8474,
 * RFC 8514, RFC 8970 items). BODY[...] and BINARY[...] without PEEK, RFC822
 * and RFC822.TEXT set \Seen (not in a read-only mailbox); the FETCH response
 * then carries the new FLAGS even when they were not asked for.
 */
import type { ImapValue } from '../../protocol/imap/types.js';
import { fetchItem, NEEDS_BYTES, NEEDS_SUMMARY, UnknownCteError } from '../fetch-items.js';
import { flagAtoms } from '../flags.js';
import { chunks, loadMessage, META_BATCH, metasByUid, summariesFor, type LoadedMessage } from '../message-loader.js';
import type { CommandContext, CommandOf, Completion } from '../state.js';
import { bad, no, ok, selectedState } from '../state.js';

export async function fetchCommand(cmd: CommandOf<'FETCH'>, ctx: CommandContext): Promise<Completion> {
  const { view } = selectedState(ctx);
  const store = ctx.imap.domain.store;
  const unsupported = cmd.attributes.find((a) => a.kind === 'MODSEQ');
  if (unsupported || cmd.changedSince !== null) return bad(`${unsupported?.kind ?? 'CHANGEDSINCE'} is not supported`);
  const seqs = view.resolve(cmd.set, cmd.uid);
  if (!seqs) return bad('Invalid message sequence number');

  const setsSeen =
    !view.readOnly &&
    cmd.attributes.some(
      (a) => a.kind === 'RFC822' || a.kind === 'RFC822.TEXT' || ((a.kind === 'BODY[]' || a.kind === 'BINARY[]') && !a.peek),
    );
  const needsBytes = cmd.attributes.some((a) => NEEDS_BYTES.has(a.kind));
  const needsSummary = cmd.attributes.some((a) => NEEDS_SUMMARY.has(a.kind));
  const wantsFlags = cmd.attributes.some((a) => a.kind === 'FLAGS');
  const wantsUid = cmd.attributes.some((a) => a.kind === 'UID');
  let vanished = 0;

  const live = seqs.filter((seq) => !view.isExpunged(seq));
  vanished += seqs.length - live.length;
  for (const batch of chunks(live, META_BATCH)) {
    const metas = await metasByUid(store, view.mailbox.id, batch.map((seq) => view.uidAt(seq)));
    const summaries = needsSummary ? await summariesFor(store, metas.values()) : new Map();
    const seenNow = new Set<number>();
    if (setsSeen) {
      const unseen = [...metas.values()].filter((m) => !m.flags.includes('\\Seen')).map((m) => m.uid);
      if (unseen.length) {
        for (const changed of await ctx.imap.domain.updateFlags(view.mailbox, unseen, 'add', ['\\Seen'])) {
          metas.set(changed.uid, changed);
          seenNow.add(changed.uid);
        }
      }
    }
    for (const seq of batch) {
      const meta = metas.get(view.uidAt(seq));
      const summary = meta ? summaries.get(meta.blobId) ?? null : null;
      if (!meta || (needsSummary && !summary)) {
        vanished++;
        continue;
      }
      view.setFlags(meta.uid, meta.flags);
      let message: LoadedMessage | null = null;
      if (needsBytes) {
        message = await loadMessage(store, meta, summary!.structure);
        if (!message) {
          vanished++;
          continue;
        }
      }
      const items: Array<[string, ImapValue]> = [];
      // RFC 9051 §6.4.9: UID FETCH responses always include UID.
      if (cmd.uid && !wantsUid) items.push(['UID', meta.uid]);
      try {
        for (const attr of cmd.attributes) items.push(fetchItem(attr, { meta, summary, message }));
      } catch (err) {
        if (err instanceof UnknownCteError) return no(`${err.message} in message ${seq}`, { name: 'UNKNOWN-CTE' });
        throw err;
      }
      if (seenNow.has(meta.uid) && !wantsFlags) items.push(['FLAGS', flagAtoms(meta.flags)]);
      await ctx.send({ type: 'fetch', seq, items });
    }
  }
  // RFC 9051 §7.1 EXPUNGEISSUED: some requested messages were expunged by another session.
  if (vanished > 0) return no('Some of the requested messages no longer exist', { name: 'EXPUNGEISSUED' });
  return ok('FETCH completed');
}
