/**
 * SORT and UID SORT (RFC 5256 §3; DISPLAYFROM/DISPLAYTO of RFC 5957): the
 * messages matching the search criteria, ordered by the sort fields stored
 * at ingest, so no message is read or parsed.
 */
import type { MessageSummary } from '../../mail/index.js';
import type { SearchHit } from '../search-run.js';
import { runSearch } from '../search-run.js';
import { chunks, META_BATCH } from '../message-loader.js';
import { sortItems, type SortItem } from '../sort-order.js';
import type { CommandContext, CommandOf, Completion } from '../state.js';
import { bad, ok, selectedState } from '../state.js';
import { withProgress } from '../progress.js';
import { hasContext, keepContext } from '../search-context.js';
import { badCharset, esearchData, partialSlice } from './search.js';
import { decodeSearchStrings, knownCharset } from '../search-charset.js';

/** The matching messages with their summaries; messages whose blob vanished meanwhile are left out. */
export async function hitsWithSummaries(ctx: CommandContext, hits: SearchHit[]): Promise<Array<SearchHit & { summary: MessageSummary }>> {
  const out: Array<SearchHit & { summary: MessageSummary }> = [];
  for (const batch of chunks(hits, META_BATCH)) {
    const summaries = await ctx.imap.domain.messageSummaries(batch.map((h) => h.meta));
    for (const hit of batch) {
      const summary = summaries.get(hit.meta.blobId);
      if (summary) out.push({ ...hit, summary });
    }
  }
  return out;
}

export function sortItemOf(hit: SearchHit & { summary: MessageSummary }, uid: boolean): SortItem {
  return {
    seq: hit.seq,
    id: uid ? hit.meta.uid : hit.seq,
    size: hit.meta.size,
    // Whole seconds, the precision of INTERNALDATE (RFC 9051 §2.3.3): messages that
    // arrived within one second tie and keep mailbox order (RFC 5256 §3), as
    // clients comparing the INTERNALDATEs they fetched expect.
    internalDate: Math.floor(hit.meta.internalDate.getTime() / 1000) * 1000,
    fields: hit.summary.sort,
  };
}

export async function sortCommand(command: CommandOf<'SORT'>, ctx: CommandContext): Promise<Completion> {
  if (!knownCharset(command.charset)) return badCharset();
  const cmd = { ...command, key: decodeSearchStrings(command.key, command.charset) };
  const hits = await withProgress(ctx, cmd.tag, (async () => hitsWithSummaries(ctx, await runSearch(ctx, cmd.key)))(), 'Still sorting');
  const sorted = sortItems(hits.map((h) => sortItemOf(h, cmd.uid)), cmd.criteria);
  if (cmd.returnOptions) return esort(cmd, ctx, sorted, hits);
  await ctx.send({ type: 'untagged', values: [{ atom: 'SORT' }, ...sorted.map((i) => i.id)] });
  return ok(`${cmd.uid ? 'UID ' : ''}SORT completed`);
}

const ESORT_OPTIONS = ['MIN', 'MAX', 'COUNT', 'ALL', 'SAVE', 'PARTIAL', 'UPDATE', 'CONTEXT'];

/**
 * ESORT (RFC 5267 §3.2): the sorted result as an ESEARCH response. MIN and MAX are the first and last
 * message in sort order, ALL lists every message in sort order (ascending runs as ranges, so the order
 * is never ambiguous), PARTIAL a page of it (RFC 9394 §3.1). SAVE keeps what was returned (RFC 5182 §2.4).
 */
async function esort(cmd: CommandOf<'SORT'>, ctx: CommandContext, sorted: SortItem[], hits: Array<SearchHit & { summary: MessageSummary }>): Promise<Completion> {
  const uidOfSeq = new Map(hits.map((h) => [h.seq, h.meta.uid]));
  const options = cmd.returnOptions ?? [];
  const unknown = options.find((o) => !ESORT_OPTIONS.includes(o));
  if (unknown) return bad(`Unsupported RETURN option ${unknown}`);
  if (cmd.partial && options.includes('ALL')) return bad('RETURN ALL and PARTIAL cannot be combined');
  const updating = options.includes('UPDATE');
  if (updating && hasContext(ctx, cmd.tag)) return bad('Duplicate search update tag');
  const ids = sorted.map((i) => i.id);
  const page = cmd.partial ? partialSlice(sorted, cmd.partial) : null;
  // CONTEXT is a hint (RFC 5267 §4.1); RETURN () and RETURN (CONTEXT) mean ALL.
  const meaningful = options.filter((o) => o !== 'CONTEXT');
  const wanted = meaningful.some((o) => o !== 'SAVE') ? meaningful : meaningful.length ? [] : ['ALL'];
  if (options.includes('SAVE')) {
    const { view } = selectedState(ctx);
    const onlyExtremes = !page && options.some((o) => o === 'MIN' || o === 'MAX') && !options.some((o) => o === 'ALL' || o === 'COUNT');
    const kept = page ?? (onlyExtremes ? [options.includes('MIN') ? sorted[0] : undefined, options.includes('MAX') ? sorted[sorted.length - 1] : undefined] : sorted);
    view.savedUids = [...new Set(kept.filter((i) => i !== undefined).map((i) => uidOfSeq.get(i.seq)!))];
    if (wanted.length === 0) return ok(`${cmd.uid ? 'UID ' : ''}SORT completed, result saved`);
  }
  const data = esearchData(wanted, ids, page && cmd.partial ? { range: cmd.partial, ids: page.map((i) => i.id) } : null);
  await ctx.send({ type: 'esearch', tag: cmd.tag, uid: cmd.uid, data });
  if (updating) {
    // The sort fields of each result, by UID, for later updates (search-context.ts).
    const items = new Map(hits.map((h) => [h.meta.uid, sortItemOf(h, true)]));
    await keepContext(ctx, { tag: cmd.tag, uid: cmd.uid, key: cmd.key, sort: cmd.criteria }, sorted.map((i) => uidOfSeq.get(i.seq)!), items);
  }
  return ok(`${cmd.uid ? 'UID ' : ''}SORT completed`);
}
