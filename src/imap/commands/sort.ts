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
import { ok } from '../state.js';
import { withProgress } from '../progress.js';
import { badCharset, SEARCH_CHARSETS } from './search.js';

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

export async function sortCommand(cmd: CommandOf<'SORT'>, ctx: CommandContext): Promise<Completion> {
  if (!SEARCH_CHARSETS.includes(cmd.charset.toUpperCase())) return badCharset();
  const hits = await withProgress(ctx, cmd.tag, (async () => hitsWithSummaries(ctx, await runSearch(ctx, cmd.key)))(), 'Still sorting');
  const sorted = sortItems(hits.map((h) => sortItemOf(h, cmd.uid)), cmd.criteria);
  await ctx.send({ type: 'untagged', values: [{ atom: 'SORT' }, ...sorted.map((i) => i.id)] });
  return ok(`${cmd.uid ? 'UID ' : ''}SORT completed`);
}
