/**
 * UIDONLY (RFC 9586): after ENABLE UIDONLY the client and the server speak of
 * messages by UID only. Commands that take or return message sequence numbers
 * are refused with BAD [UIDREQUIRED] (§3: FETCH, STORE, SEARCH, COPY, MOVE,
 * REPLACE, and SORT/THREAD, whose results are numbers too; a sequence set
 * inside a search program; QRESYNC's sequence match data), FETCH responses
 * become "* uid UIDFETCH (...)" (§3.3), and expunges are reported as VANISHED
 * (§3.2; the session's sync asks the view for them). EXISTS still counts.
 *
 * The view keeps its sequence map (it is shared with snapshot code that needs
 * it); UIDONLY only changes what goes over the wire.
 */
import type { ImapCommand, ImapResponse, SearchKey } from '../protocol/imap/types.js';
import type { CommandSpec } from './commands/registry.js';
import { anySearchKey } from './search-eval.js';
import type { CommandContext, Completion } from './state.js';
import { bad } from './state.js';

export function uidOnly(ctx: Pick<CommandContext, 'enabled'>): boolean {
  return ctx.enabled.has('UIDONLY');
}

/** A sequence-number key in a search program ("$" names saved UIDs, so it stays allowed). */
function hasSeqKey(key: SearchKey): boolean {
  return anySearchKey(key, (k) => k.type === 'seq' && k.set !== '$');
}

/** RFC 9586 §3: BAD [UIDREQUIRED] for a command that would use message numbers; null when it may run. */
export function uidOnlyRefusal(command: ImapCommand, spec: CommandSpec, ctx: Pick<CommandContext, 'enabled'>): Completion | null {
  if (!uidOnly(ctx)) return null;
  const refuse = (what: string) => bad(`${what} cannot be used after ENABLE UIDONLY; use UID commands`, { name: 'UIDREQUIRED' });
  if (spec.usesSeqs) return refuse('Message sequence numbers');
  if ((command.name === 'SEARCH' || command.name === 'SORT' || command.name === 'THREAD') && hasSeqKey(command.key)) {
    return refuse('A sequence set in a search program');
  }
  if ((command.name === 'SELECT' || command.name === 'EXAMINE') && command.qresync?.seqMatch) {
    return refuse('QRESYNC sequence match data');
  }
  return null;
}

/**
 * The responses as a UIDONLY client gets them: FETCH as UIDFETCH, numbered by
 * UID (§3.3), and no UNSEEN code (a sequence number) in SELECT's answer.
 */
export function withUidFetch(ctx: CommandContext, responses: readonly ImapResponse[]): readonly ImapResponse[] {
  if (!uidOnly(ctx)) return responses;
  const s = ctx.state;
  return responses.flatMap((r): ImapResponse[] => {
    if (r.type === 'status' && r.code?.name === 'UNSEEN') return [];
    if (r.type !== 'fetch' || r.uidFetch) return [r];
    const told = r.items.find(([name]) => name.toUpperCase() === 'UID')?.[1];
    const uid = typeof told === 'number' ? told : s.kind === 'selected' ? s.view.uidAt(r.seq) : undefined;
    if (uid === undefined) return [r];
    return [{ ...r, seq: uid, uidFetch: true }];
  });
}
