/**
 * THREAD and UID THREAD (RFC 5256 §4, §5) with ORDEREDSUBJECT and
 * REFERENCES, over the subjects, dates and message ids stored at ingest.
 */
import { runSearch } from '../search-run.js';
import { formatThreads, orderedSubject, references, type ThreadItem } from '../threading.js';
import type { CommandContext, CommandOf, Completion } from '../state.js';
import { bad, ok } from '../state.js';
import { withProgress } from '../progress.js';
import { badCharset } from './search.js';
import { decodeSearchStrings, knownCharset } from '../search-charset.js';
import { hitsWithSummaries, sortItemOf } from './sort.js';

export const THREAD_ALGORITHMS = ['ORDEREDSUBJECT', 'REFERENCES'];

export async function threadCommand(cmd: CommandOf<'THREAD'>, ctx: CommandContext): Promise<Completion> {
  if (!THREAD_ALGORITHMS.includes(cmd.algorithm)) return bad(`Unsupported threading algorithm ${cmd.algorithm}`);
  if (!knownCharset(cmd.charset)) return badCharset();
  const key = decodeSearchStrings(cmd.key, cmd.charset);
  const hits = await withProgress(ctx, cmd.tag, (async () => hitsWithSummaries(ctx, await runSearch(ctx, key)))(), 'Still threading');
  const items: ThreadItem[] = hits.map((h) => ({
    ...sortItemOf(h, cmd.uid),
    messageId: h.summary.messageId,
    references: h.summary.references,
  }));
  const threads = cmd.algorithm === 'REFERENCES' ? references(items) : orderedSubject(items);
  const text = formatThreads(threads);
  // thread-list is written verbatim: nested lists follow each other without a space (RFC 5256 §5).
  await ctx.send({ type: 'untagged', values: text ? [{ atom: 'THREAD' }, { atom: text }] : [{ atom: 'THREAD' }] });
  return ok(`${cmd.uid ? 'UID ' : ''}THREAD completed`);
}
