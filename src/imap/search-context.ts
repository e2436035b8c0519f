/**
 * CONTEXT=SEARCH and CONTEXT=SORT (RFC 5267 §4): a SEARCH or SORT with
 * RETURN (UPDATE) keeps its result, and the server tells the client how it
 * changes as mail arrives, flags change and messages are expunged, in
 * unsolicited "* ESEARCH (TAG "t") [UID] REMOVEFROM (...) ADDTO (...)"
 * responses, until CANCELUPDATE or the mailbox is closed.
 *
 * Updates go out with the session's sync (after each command and in IDLE):
 * REMOVEFROM before the sync's responses, numbered as the client knew the
 * messages before any EXPUNGE of that sync (§4.4: sequence numbers in an
 * update refer to the state before the EXPUNGE responses that follow it);
 * ADDTO after them (after EXISTS, so new messages have their numbers).
 * For SEARCH the position is 0, as Dovecot sends it (the result has no order
 * but the mailbox's); for SORT each message is a (position uid) pair: removals
 * from the last position down, then additions from the first position up, so
 * every position is valid when the client applies the pairs in order.
 *
 * A context is re-evaluated only when the mailbox changed (MODSEQ or message
 * count moved), and then only for the messages the store's change log names
 * since (new, flags changed, expunged): the search runs again on those alone,
 * so a BODY search reads no other message. SORT contexts keep each result's
 * sort fields, so only new matches are read. At most MAX_CONTEXTS per session:
 * one more is answered but not kept, with "* NO [NOUPDATE "tag"]" (§4.2).
 */
import type { ImapResponse, ImapValue, SearchKey, SortCriterion } from '../protocol/imap/types.js';
import { toRanges } from './message-limit.js';
import { hitsWithSummaries, sortItemOf } from './commands/sort.js';
import { runSearch } from './search-run.js';
import { type SortItem, sortItems } from './sort-order.js';
import type { CommandContext, Completion } from './state.js';
import { bad, ok, selectedState } from './state.js';
import type { MailboxView } from './view.js';
import { compactSet } from './view.js';

/** Dovecot's bound too (CLIENT_MAX_SEARCH_UPDATES): each context is re-run when the mailbox changes. */
export const MAX_CONTEXTS = 10;

interface SearchContext {
  tag: string;
  uid: boolean;
  key: SearchKey;
  /** SORT criteria, or null for SEARCH. */
  sort: SortCriterion[] | null;
  /** UIDs of the result as the client knows it, in result order (mailbox order for SEARCH). */
  uids: number[];
  /** SORT: what each result sorts by, by UID (a flag change does not change it). */
  items: Map<number, SortItem> | null;
  /** The view's MODSEQ and message count when `uids` was computed. */
  modSeq: number;
  exists: number;
}

/** Per selected mailbox: a new SELECT makes a new view, so contexts end with the selection (§4.2). */
const byView = new WeakMap<MailboxView, Map<string, SearchContext>>();

function contextsOf(view: MailboxView): Map<string, SearchContext> | undefined {
  const map = byView.get(view);
  return map && map.size ? map : undefined;
}

export function hasContext(ctx: CommandContext, tag: string): boolean {
  return contextsOf(selectedState(ctx).view)?.has(tag) ?? false;
}

/** After a SEARCH/SORT RETURN (UPDATE) answered: keep its result, or say NOUPDATE when too many are kept. */
export async function keepContext(
  ctx: CommandContext,
  c: { tag: string; uid: boolean; key: SearchKey; sort: SortCriterion[] | null },
  uids: number[],
  items: Map<number, SortItem> | null = null,
): Promise<void> {
  const { view } = selectedState(ctx);
  let map = byView.get(view);
  if (!map) byView.set(view, (map = new Map()));
  if (map.size >= MAX_CONTEXTS) {
    // resp-text-code "NOUPDATE" SP quoted (RFC 5267 §5); a tag holds no '"' or '\\' (RFC 9051 §9), so it quotes as is.
    await ctx.send({ type: 'status', tag: '*', status: 'NO', code: { name: 'NOUPDATE', value: { atom: `"${c.tag}"` } }, text: 'Too many search contexts' });
    return;
  }
  map.set(c.tag, { ...c, uids, items, modSeq: view.highestModSeq, exists: view.exists });
}

/** CANCELUPDATE tag... (RFC 5267 §4.3). */
export function cancelUpdate(ctx: CommandContext, tags: string[]): Completion {
  const map = contextsOf(selectedState(ctx).view);
  const unknown = tags.find((t) => !map?.has(t));
  if (unknown !== undefined) return bad(`No search context with tag "${unknown}"`);
  for (const t of tags) map!.delete(t);
  return ok('CANCELUPDATE completed');
}

/** Before the view syncs: the sequence numbers the client knows for the UIDs in sequence-number contexts. */
export function seqsBeforeSync(view: MailboxView): Map<number, number> | null {
  const map = contextsOf(view);
  if (!map) return null;
  const seqs = new Map<number, number>();
  for (const c of map.values()) {
    if (c.uid) continue;
    for (const uid of c.uids) {
      const seq = view.seqOf(uid);
      if (seq !== undefined) seqs.set(uid, seq);
    }
  }
  return seqs;
}

/** The sync's responses with each context's REMOVEFROM before them and ADDTO after them. */
export async function withContextUpdates(
  ctx: CommandContext,
  view: MailboxView,
  before: Map<number, number> | null,
  responses: ImapResponse[],
): Promise<ImapResponse[]> {
  const map = contextsOf(view);
  if (!map || !before) return responses;
  const head: ImapResponse[] = [];
  const tail: ImapResponse[] = [];
  for (const c of map.values()) {
    if (c.modSeq === view.highestModSeq && c.exists === view.exists) continue;
    const next = await evaluate(ctx, c, view);
    const { removed, added } = diff(c, next, view, before);
    c.uids = next;
    c.modSeq = view.highestModSeq;
    c.exists = view.exists;
    if (removed.length) head.push({ type: 'esearch', tag: c.tag, uid: c.uid, data: removed });
    if (added.length) tail.push({ type: 'esearch', tag: c.tag, uid: c.uid, data: added });
  }
  return head.length || tail.length ? [...head, ...responses, ...tail] : responses;
}

/** The context's result now, as UIDs in result order: the old one, with the messages changed since looked at again. */
async function evaluate(ctx: CommandContext, c: SearchContext, view: MailboxView): Promise<number[]> {
  const changes = await ctx.imap.domain.changesSince(view.mailbox, c.modSeq);
  const gone = new Set(changes.expunged);
  // Only messages the client knows: later ones come with the next sync (their MODSEQ is above the view's).
  const touched = changes.changed.map((m) => m.uid).filter((uid) => view.seqOf(uid) !== undefined && !gone.has(uid));
  const touchedSet = new Set(touched);
  const hits = touched.length ? await runSearch(ctx, { type: 'and', keys: [{ type: 'uid', set: toRanges([...touched].sort((a, b) => a - b)) }, c.key] }) : [];
  const kept = c.uids.filter((uid) => !gone.has(uid) && !touchedSet.has(uid) && view.seqOf(uid) !== undefined);
  if (!c.sort || !c.items) return [...kept, ...hits.map((h) => h.meta.uid)].sort((a, b) => a - b);
  const items = c.items;
  const stays = new Set([...kept, ...hits.map((h) => h.meta.uid)]);
  for (const uid of c.uids) if (!stays.has(uid)) items.delete(uid);
  for (const h of await hitsWithSummaries(ctx, hits)) items.set(h.meta.uid, sortItemOf(h, true));
  const current = [...kept, ...hits.map((h) => h.meta.uid)]
    .map((uid) => items.get(uid))
    .filter((i): i is SortItem => i !== undefined)
    // Ties keep mailbox order (RFC 5256 §3): by the sequence number the client has now.
    .map((i) => ({ ...i, seq: view.seqOf(i.id) ?? 0 }));
  return sortItems(current, c.sort).map((i) => i.id);
}

type Data = Array<[string, ImapValue]>;

function diff(c: SearchContext, next: number[], view: MailboxView, before: Map<number, number>): { removed: Data; added: Data } {
  const nextSet = new Set(next);
  const oldSet = new Set(c.uids);
  // Removals are numbered as before the sync, additions as after it.
  const idBefore = (uid: number) => (c.uid ? uid : before.get(uid) ?? view.seqOf(uid) ?? 0);
  const idAfter = (uid: number) => (c.uid ? uid : view.seqOf(uid) ?? 0);
  const removedAt: number[] = [];
  c.uids.forEach((uid, i) => {
    if (!nextSet.has(uid)) removedAt.push(i);
  });
  const addedAt: number[] = [];
  next.forEach((uid, i) => {
    if (!oldSet.has(uid)) addedAt.push(i);
  });
  if (!c.sort) {
    const ids = (list: number[]) => ({ atom: compactSet([...list].sort((a, b) => a - b)) });
    const removedIds = removedAt.map((i) => idBefore(c.uids[i]!)).filter((id) => id > 0);
    const addedIds = addedAt.map((i) => idAfter(next[i]!)).filter((id) => id > 0);
    return {
      removed: removedIds.length ? [['REMOVEFROM', [0, ids(removedIds)]]] : [],
      added: addedIds.length ? [['ADDTO', [0, ids(addedIds)]]] : [],
    };
  }
  // SORT: one pair per message; removals last position first, additions first position first.
  const removed = removedAt.reverse().map((i): [string, ImapValue] => ['REMOVEFROM', [i + 1, idBefore(c.uids[i]!)]]);
  const added = addedAt.map((i): [string, ImapValue] => ['ADDTO', [i + 1, idAfter(next[i]!)]]);
  return { removed, added };
}
