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

/** Claims (SELECT) or reads (EXAMINE) the mark for the messages of the view past `lastUid`. */
async function takeNew(ctx: CommandContext, view: MailboxView, selection: Selection): Promise<void> {
  const last = view.exists > 0 ? view.uidAt(view.exists) : 0;
  if (last <= selection.lastUid) return;
  const first = await ctx.imap.domain.claimRecent(view.mailbox, selection.claims ? last + 1 : 0);
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
