/**
 * IMAP4rev1 \Recent (RFC 3501 §2.3.2): a message is recent in the first
 * session told of it. RFC 9051 dropped the flag, so a session that ENABLEd
 * IMAP4rev2 neither sees nor takes it (nor does one that ENABLEs it later).
 *
 * The store keeps, per mailbox, the first UID no session has been told of
 * (store/types.ts claimRecent). SELECT claims the messages it lists, and so
 * does every later sync that brings new ones (EXISTS), in one atomic step in
 * the store, so two sessions, on one node or on two, never both get a
 * message. EXAMINE only reads the mark: what no session has seen is shown as
 * recent and stays recent for the next SELECT (as Dovecot does).
 *
 * The recent UIDs of a selection live here, keyed by its view, so the view
 * and the session need no field of their own; they call:
 * startRecent (SELECT/EXAMINE), recentAfterSync (after a sync, for the
 * "* n RECENT" after EXISTS), withRecentFlags (every response sent, to add
 * \Recent to FETCH FLAGS) and recentUids (SEARCH RECENT / NEW / OLD).
 */
import type { ImapResponse, ImapValue } from '../protocol/imap/types.js';
import type { CommandContext } from './state.js';
import type { MailboxView } from './view.js';

interface Selection {
  /** Recent in this session: claimed by it (or, after EXAMINE, unclaimed when it looked). */
  readonly uids: Set<number>;
  /** SELECT claims; EXAMINE only reads. */
  readonly claims: boolean;
  /** The highest UID already considered. */
  lastUid: number;
}

const selections = new WeakMap<MailboxView, Selection>();
const NONE: ReadonlySet<number> = new Set();
const RECENT_ATOM: ImapValue = { atom: '\\Recent' };

function usesRecent(ctx: Pick<CommandContext, 'enabled'>): boolean {
  return !ctx.enabled.has('IMAP4REV2');
}

/** At SELECT / EXAMINE, once the view is loaded: takes the session's recent messages; returns their number for "* n RECENT". */
export async function startRecent(ctx: CommandContext, view: MailboxView): Promise<number> {
  if (!usesRecent(ctx)) return 0;
  const selection: Selection = { uids: new Set(), claims: !view.readOnly, lastUid: 0 };
  selections.set(view, selection);
  await takeNew(ctx, view, selection);
  return selection.uids.size;
}

/**
 * After a sync of the selected view: when it brought new messages (an EXISTS
 * among `responses`), takes those no session has seen and puts "* n RECENT"
 * right after the EXISTS (RFC 3501 §7.3.2). Otherwise returns `responses`.
 */
export async function recentAfterSync(ctx: CommandContext, view: MailboxView, responses: ImapResponse[]): Promise<ImapResponse[]> {
  const selection = selections.get(view);
  if (!selection || !usesRecent(ctx)) return responses;
  const at = responses.findIndex((r) => r.type === 'exists');
  if (at < 0) return responses;
  await takeNew(ctx, view, selection);
  const out = responses.slice();
  out.splice(at + 1, 0, { type: 'recent', count: liveCount(view, selection) });
  return out;
}

/** UIDs recent in this session (empty after ENABLE IMAP4rev2 or outside the selected state). */
export function recentUids(ctx: CommandContext): ReadonlySet<number> {
  const s = ctx.state;
  if (s.kind !== 'selected' || !usesRecent(ctx)) return NONE;
  return selections.get(s.view)?.uids ?? NONE;
}

/**
 * \Recent added to the FLAGS of FETCH responses for this session's recent
 * messages (first, as Dovecot writes it). Costs nothing while none is recent.
 */
export function withRecentFlags(ctx: CommandContext, responses: readonly ImapResponse[]): readonly ImapResponse[] {
  const s = ctx.state;
  if (s.kind !== 'selected') return responses;
  const selection = selections.get(s.view);
  if (!selection || selection.uids.size === 0 || !usesRecent(ctx)) return responses;
  const view = s.view;
  let out: ImapResponse[] | null = null;
  for (let i = 0; i < responses.length; i++) {
    const r = responses[i]!;
    if (r.type !== 'fetch' || r.seq < 1 || r.seq > view.exists || !selection.uids.has(view.uidAt(r.seq))) continue;
    const at = r.items.findIndex(([name, value]) => name === 'FLAGS' && Array.isArray(value));
    if (at < 0) continue;
    const items = r.items.slice();
    items[at] = ['FLAGS', [RECENT_ATOM, ...(items[at]![1] as ImapValue[])]];
    out ??= responses.slice();
    out[i] = { ...r, items };
  }
  return out ?? responses;
}

/**
 * Per node (keyed by its domain), for each mailbox: a UID the store's mark is known to have
 * reached, and the claim in flight. The mark only rises, so a session whose newest UID is below
 * it has nothing to take: the 2,000 sessions woken by one delivery ask the store once between
 * them, not 2,000 times (issue 12), the others waiting for that one claim.
 */
interface NodeMark {
  uidValidity: number;
  /** The store's mark is at least this. */
  upTo: number;
  /** A claim up to `upTo` posted by a session of this node and not answered yet. */
  claiming: { upTo: number; done: Promise<unknown> } | null;
}
const marks = new WeakMap<object, Map<number, NodeMark>>();
/** Mailboxes remembered per node; past this the oldest is forgotten (it only costs a store call). */
const MAX_REMEMBERED_MARKS = 10_000;

function nodeMark(ctx: CommandContext, view: MailboxView): NodeMark {
  let byMailbox = marks.get(ctx.imap.domain);
  if (!byMailbox) marks.set(ctx.imap.domain, (byMailbox = new Map()));
  const { id, uidValidity } = view.mailbox;
  let mark = byMailbox.get(id);
  if (!mark || mark.uidValidity !== uidValidity) {
    byMailbox.delete(id);
    if (byMailbox.size >= MAX_REMEMBERED_MARKS) byMailbox.delete(byMailbox.keys().next().value!);
    mark = { uidValidity, upTo: 0, claiming: null };
    byMailbox.set(id, mark);
  }
  return mark;
}

/** Claims (SELECT) or reads (EXAMINE) the mark for the messages of the view past `lastUid`. */
async function takeNew(ctx: CommandContext, view: MailboxView, selection: Selection): Promise<void> {
  const last = view.exists > 0 ? view.uidAt(view.exists) : 0;
  if (last <= selection.lastUid) return;
  const mark = nodeMark(ctx, view);
  if (mark.claiming && mark.claiming.upTo > last) await mark.claiming.done;
  if (mark.upTo > last) {
    // Another session of this node took them already: none is recent here, as the store would say.
    selection.lastUid = last;
    return;
  }
  const claiming = ctx.imap.domain.claimRecent(view.mailbox, selection.claims ? last + 1 : 0);
  if (selection.claims) {
    const entry = { upTo: last + 1, done: claiming.catch(() => {}) };
    mark.claiming = entry;
    void entry.done.then(() => {
      if (mark.claiming === entry) mark.claiming = null;
    });
  }
  const first = await claiming;
  mark.upTo = Math.max(mark.upTo, selection.claims ? Math.max(first, last + 1) : first);
  const from = Math.max(first, selection.lastUid + 1);
  // UIDs ascend with sequence numbers: walk back from the end over the new ones only.
  for (let seq = view.exists; seq >= 1; seq--) {
    const uid = view.uidAt(seq);
    if (uid < from) break;
    if (!view.isExpunged(seq)) selection.uids.add(uid);
  }
  selection.lastUid = last;
}

/** Recent messages still in the view (an expunged one no longer counts). */
function liveCount(view: MailboxView, selection: Selection): number {
  let n = 0;
  for (const uid of [...selection.uids]) {
    if (view.seqOf(uid) === undefined) selection.uids.delete(uid);
    else n++;
  }
  return n;
}
