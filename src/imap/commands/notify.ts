/**
 * NOTIFY (RFC 5465 §3): NOTIFY NONE, NOTIFY SET [STATUS] event-groups.
 * The checks of §3.1 and §8: events this server cannot report are refused
 * with NO [BADEVENT (the ones it can)]; for the selected mailbox MessageNew
 * and MessageExpunge come together and FlagChange needs them; one SELECTED /
 * SELECTED-DELAYED group at most, with message events only; fetch attributes only for the selected
 * mailbox (other mailboxes are reported by STATUS, which has no FETCH).
 * A new NOTIFY SET replaces the previous one; NOTIFY NONE turns it off.
 */
import type { NotifySet } from '../../protocol/imap/types.js';
import { enableCondstore } from '../condstore.js';
import { errorCompletion } from '../errors.js';
import { type NotifyConfig, notifyMailboxName, SessionNotify, SUPPORTED_EVENTS } from '../notify.js';
import type { CommandContext, CommandOf, Completion } from '../state.js';
import { accountOf, bad, no, ok } from '../state.js';

export async function notifyCommand(cmd: CommandOf<'NOTIFY'>, ctx: CommandContext): Promise<Completion> {
  const account = accountOf(ctx);
  if (!cmd.set) {
    ctx.notify = null;
    return ok('NOTIFY completed');
  }
  const refused = refusal(cmd.set);
  if (refused) return refused;
  let config: NotifyConfig;
  try {
    config = {
      selectedFetch: null,
      groups: cmd.set.groups.map((g) => ({
        filter: g.filter.kind,
        names: 'mailboxes' in g.filter ? g.filter.mailboxes.map((n) => notifyMailboxName(ctx, n)) : [],
        events: g.events.map((e) => e.name),
      })),
    };
  } catch (err) {
    return errorCompletion(err, ctx.log);
  }
  const selected = cmd.set.groups.find((g) => g.filter.kind === 'SELECTED' || g.filter.kind === 'SELECTED-DELAYED');
  const fetch = selected?.events.find((e) => e.name === 'MessageNew')?.fetch;
  if (fetch) {
    config.selectedFetch = fetch;
    // RFC 7162 §3.1: FETCH MODSEQ turns CONDSTORE on, here as in FETCH.
    if (fetch.some((a) => a.kind === 'MODSEQ')) await enableCondstore(ctx);
  }
  const notify = new SessionNotify(config);
  const s = ctx.state;
  const selectedId = s.kind === 'selected' ? s.view.mailbox.id : null;
  const statuses = await notify.start(ctx.imap.domain, account.id, selectedId, ctx.enabled.has('CONDSTORE'));
  if (cmd.set.status) for (const r of statuses) await ctx.send(r);
  ctx.notify = notify;
  return ok('NOTIFY completed');
}

/** The §3.1 / §8 rules; null when the event groups are acceptable. */
function refusal(set: NotifySet): Completion | null {
  let selectedGroups = 0;
  for (const g of set.groups) {
    const names = g.events.map((e) => e.name);
    const unsupported = names.find((n) => !SUPPORTED_EVENTS.includes(n));
    if (unsupported) {
      // RFC 5465 §3.1: NO with BADEVENT listing what the server does support.
      return no(`Event ${unsupported} is not supported`, { name: 'BADEVENT', value: SUPPORTED_EVENTS.map((e) => ({ atom: e })) });
    }
    const isSelected = g.filter.kind === 'SELECTED' || g.filter.kind === 'SELECTED-DELAYED';
    if (isSelected) {
      // RFC 5465 §5 asks for these pairs so that EXISTS and EXPUNGE keep the client's sequence
      // numbers right. Other mailboxes are reported by STATUS, which has none: there any one
      // message event is accepted, as Dovecot does (imaptest notify relies on it).
      const hasNew = names.includes('MessageNew');
      if (hasNew !== names.includes('MessageExpunge')) return bad('MessageNew and MessageExpunge go together');
      if (names.includes('FlagChange') && !hasNew) return bad('FlagChange needs MessageNew and MessageExpunge');
      if (++selectedGroups > 1) return bad('At most one SELECTED or SELECTED-DELAYED event group');
      const other = names.find((n) => n === 'MailboxName' || n === 'SubscriptionChange');
      if (other) return bad(`${other} is not a message event; it cannot be asked for the selected mailbox`);
    } else if (g.events.some((e) => e.fetch)) {
      return bad('Fetch attributes are only for the selected mailbox');
    }
  }
  return null;
}
