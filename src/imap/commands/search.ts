/**
 * SEARCH and UID SEARCH (RFC 9051 §6.4.4) with ESEARCH results (RFC 4731,
 * §7.3.4) and SEARCHRES (RFC 5182). An IMAP4rev2 client (after ENABLE
 * IMAP4rev2) always gets ESEARCH; an IMAP4rev1 client gets "* SEARCH" unless
 * it asked for RETURN options.
 */
import type { ImapValue, PartialRange } from '../../protocol/imap/types.js';
import { enableCondstore, usesModSeq } from '../condstore.js';
import { withProgress } from '../progress.js';
import { runSearch } from '../search-run.js';
import { hasContext, keepContext } from '../search-context.js';
import type { CommandContext, CommandOf, Completion } from '../state.js';
import { bad, no, ok, selectedState } from '../state.js';
import { compactSet } from '../view.js';
import { decodeSearchStrings, knownCharset, LISTED_CHARSETS } from '../search-charset.js';

/** The charsets BADCHARSET names; SEARCH CHARSET (and SORT/THREAD) accept every charset iconv-lite knows (search-charset.ts). */
export const SEARCH_CHARSETS = LISTED_CHARSETS;
// RFC 5267 §4: UPDATE keeps the result up to date (search-context.ts); CONTEXT is a hint, nothing to do.
const RETURN_OPTIONS = ['MIN', 'MAX', 'COUNT', 'ALL', 'SAVE', 'PARTIAL', 'UPDATE', 'CONTEXT'];

/** RFC 9051 §7.1 BADCHARSET with the list of supported charsets. */
export function badCharset(): Completion {
  return no('Unsupported charset', { name: 'BADCHARSET', value: SEARCH_CHARSETS.map((c) => ({ atom: c })) });
}

export async function searchCommand(command: CommandOf<'SEARCH'>, ctx: CommandContext): Promise<Completion> {
  const { view } = selectedState(ctx);
  const options = (command.returnOptions ?? []).map((o) => o.toUpperCase());
  const saving = options.includes('SAVE');
  // RFC 5182 §2.1: a SEARCH with SAVE that fails leaves the saved result empty.
  if (saving) view.savedUids = [];
  if (command.charset && !knownCharset(command.charset)) return badCharset();
  const cmd = { ...command, key: decodeSearchStrings(command.key, command.charset) };
  const unknown = options.find((o) => !RETURN_OPTIONS.includes(o));
  if (unknown) return bad(`Unsupported RETURN option ${unknown}`);
  // RFC 9394 §3.1: either one PARTIAL, one ALL, or neither.
  if (cmd.partial && options.includes('ALL')) return bad('RETURN ALL and PARTIAL cannot be combined');
  const updating = options.includes('UPDATE');
  if (updating && hasContext(ctx, cmd.tag)) return bad('Duplicate search update tag');

  // RFC 7162 §3.1.5: MODSEQ in the program enables CONDSTORE and adds the highest MODSEQ of the result.
  const withModSeq = usesModSeq(cmd.key);
  if (withModSeq) await enableCondstore(ctx);
  const found = await withProgress(ctx, cmd.tag, runSearch(ctx, cmd.key), 'Still searching');
  const hits = found.map((h) => (cmd.uid ? h.meta.uid : h.seq));
  const highest = (list: Array<{ meta: { modSeq: number } } | undefined>) =>
    Math.max(0, ...list.map((h) => h?.meta.modSeq ?? 0));

  // RFC 9394 §3.1: the page of the results (in mailbox order) that PARTIAL asks for.
  const page = cmd.partial ? partialSlice(found, cmd.partial) : null;
  if (saving && page) {
    // RFC 9394 §3.3: SAVE with PARTIAL saves the page returned.
    view.savedUids = page.map((h) => h.meta.uid);
  } else if (saving) {
    // RFC 5182 §2.4: with only MIN and/or MAX beside SAVE, only those messages are saved.
    const onlyExtremes = options.some((o) => o === 'MIN' || o === 'MAX') && !options.some((o) => o === 'ALL' || o === 'COUNT');
    const saved = onlyExtremes
      ? [options.includes('MIN') ? found[0] : undefined, options.includes('MAX') ? found[found.length - 1] : undefined]
      : found;
    view.savedUids = [...new Set(saved.filter((h) => h !== undefined).map((h) => h.meta.uid))];
  }

  const esearch = cmd.returnOptions !== null || ctx.enabled.has('IMAP4REV2');
  if (!esearch) {
    const modSeq = withModSeq && hits.length ? highest(found) : 0;
    await ctx.send(modSeq ? { type: 'search', ids: hits, modSeq } : { type: 'search', ids: hits });
    return ok('SEARCH completed');
  }
  // RFC 5182 §2.4: SAVE alone asks for no ESEARCH response at all.
  const meaningful = options.filter((o) => o !== 'CONTEXT');
  if (saving && meaningful.length === 1) return ok('SEARCH completed, result saved');
  // RFC 4731 §3.1: RETURN () means RETURN (ALL); UPDATE alone asks for no result data (as Dovecot answers it).
  const wanted = meaningful.filter((o) => o !== 'SAVE').length ? meaningful : ['ALL'];
  const data = esearchData(wanted, hits, cmd.partial && page ? { range: cmd.partial, ids: page.map((h) => (cmd.uid ? h.meta.uid : h.seq)) } : null);
  if (withModSeq && hits.length) {
    // Of the messages returned: with only MIN and/or MAX, just those (RFC 7162 §3.1.5); with PARTIAL, its page.
    const extremesOnly = !wanted.includes('ALL') && !wanted.includes('COUNT');
    const returned = page && extremesOnly
      ? page
      : extremesOnly
      ? [wanted.includes('MIN') ? found[0] : undefined, wanted.includes('MAX') ? found[found.length - 1] : undefined]
      : found;
    data.push(['MODSEQ', highest(returned)]);
  }
  await ctx.send({ type: 'esearch', tag: cmd.tag, uid: cmd.uid, data });
  if (updating) await keepContext(ctx, { tag: cmd.tag, uid: cmd.uid, key: cmd.key, sort: null }, found.map((h) => h.meta.uid));
  return ok('SEARCH completed');
}

/** Results first..last of the list, counted from 1, or from the end when negative (-1 the last). */
/**
 * The ESEARCH return data (RFC 4731 §3.1, RFC 5267 ESORT, RFC 9394 PARTIAL) for
 * `ids` in the order they are reported (mailbox order for SEARCH, sort order
 * for SORT); `partial`: the page asked for and the ids on it.
 */
export function esearchData(
  wanted: readonly string[],
  ids: readonly number[],
  partial: { range: PartialRange; ids: readonly number[] } | null,
): Array<[string, ImapValue]> {
  const data: Array<[string, ImapValue]> = [];
  if (wanted.includes('MIN') && ids.length) data.push(['MIN', ids[0]!]);
  if (wanted.includes('MAX') && ids.length) data.push(['MAX', ids[ids.length - 1]!]);
  if (wanted.includes('ALL') && ids.length) data.push(['ALL', { atom: compactSet(ids) }]);
  if (wanted.includes('COUNT')) data.push(['COUNT', ids.length]);
  if (partial) {
    const page = partial.ids.length ? { atom: compactSet(partial.ids) } : null;
    data.push(['PARTIAL', [{ atom: `${partial.range.first}:${partial.range.last}` }, page]]);
  }
  return data;
}

export function partialSlice<T>(found: readonly T[], range: PartialRange): T[] {
  if (range.first > 0) return found.slice(range.first - 1, range.last);
  // -1:-100 is the last 100: from index length-100 up to and including index length-1.
  const end = found.length + range.first + 1;
  if (end <= 0) return [];
  return found.slice(Math.max(0, found.length + range.last), end);
}
