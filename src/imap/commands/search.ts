/**
 * SEARCH and UID SEARCH (RFC 9051 §6.4.4) with ESEARCH results (RFC 4731,
 * §7.3.4). An IMAP4rev2 client (after ENABLE IMAP4rev2) always gets ESEARCH;
 * an IMAP4rev1 client gets "* SEARCH" unless it asked for RETURN options.
 */
import { chunks, loadMessage, META_BATCH, metasByUid, type LoadedMessage } from '../message-loader.js';
import { matches, needsContent } from '../search-eval.js';
import type { CommandContext, CommandOf, Completion } from '../state.js';
import { bad, no, ok, selectedState } from '../state.js';
import { compactSet } from '../view.js';
import type { ImapValue } from '../../protocol/imap/types.js';

const CHARSETS = ['UTF-8', 'US-ASCII'];
const RETURN_OPTIONS = ['MIN', 'MAX', 'COUNT', 'ALL'];

export async function searchCommand(cmd: CommandOf<'SEARCH'>, ctx: CommandContext): Promise<Completion> {
  const { view } = selectedState(ctx);
  const store = ctx.imap.domain.store;
  if (cmd.charset && !CHARSETS.includes(cmd.charset.toUpperCase())) {
    return no('Unsupported charset', { name: 'BADCHARSET', value: CHARSETS.map((c) => ({ atom: c })) });
  }
  const options = cmd.returnOptions ?? [];
  const unknown = options.find((o) => !RETURN_OPTIONS.includes(o.toUpperCase()));
  if (unknown) return bad(`Unsupported RETURN option ${unknown}`);

  const maxSeq = view.exists;
  const maxUid = maxSeq ? view.uidAt(maxSeq) : 0;
  const withContent = needsContent(cmd.key);
  const hits: number[] = [];
  const live: number[] = [];
  for (let seq = 1; seq <= maxSeq; seq++) if (!view.isExpunged(seq)) live.push(seq);
  for (const batch of chunks(live, META_BATCH)) {
    const metas = await metasByUid(store, view.mailbox.id, batch.map((seq) => view.uidAt(seq)));
    for (const seq of batch) {
      const meta = metas.get(view.uidAt(seq));
      if (!meta) continue;
      let loaded: Promise<LoadedMessage | null> | null = null;
      const candidate = {
        seq,
        meta,
        maxSeq,
        maxUid,
        content: () => (loaded ??= withContent ? loadMessage(store, meta) : Promise.resolve(null)),
      };
      if (await matches(cmd.key, candidate)) hits.push(cmd.uid ? meta.uid : seq);
    }
  }

  const esearch = cmd.returnOptions !== null || ctx.enabled.has('IMAP4REV2');
  if (!esearch) {
    await ctx.send({ type: 'search', ids: hits });
    return ok('SEARCH completed');
  }
  const wanted = options.length ? options.map((o) => o.toUpperCase()) : ['ALL'];
  const data: Array<[string, ImapValue]> = [];
  if (wanted.includes('MIN') && hits.length) data.push(['MIN', hits[0]]);
  if (wanted.includes('MAX') && hits.length) data.push(['MAX', hits[hits.length - 1]]);
  if (wanted.includes('ALL') && hits.length) data.push(['ALL', { atom: compactSet(hits) }]);
  if (wanted.includes('COUNT')) data.push(['COUNT', hits.length]);
  await ctx.send({ type: 'esearch', tag: cmd.tag, uid: cmd.uid, data });
  return ok('SEARCH completed');
}
