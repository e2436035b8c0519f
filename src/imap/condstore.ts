/**
 * RFC 7162 CONDSTORE bookkeeping shared by the commands that turn it on.
 *
 * CONDSTORE is enabled by ENABLE CONDSTORE/QRESYNC, SELECT/EXAMINE (CONDSTORE),
 * STATUS (HIGHESTMODSEQ), FETCH MODSEQ or CHANGEDSINCE, STORE UNCHANGEDSINCE and
 * SEARCH MODSEQ (§3.1). From then on every FETCH caused by a flag change
 * carries MODSEQ. When one of those commands (other than SELECT/EXAMINE, which
 * always send it) turns it on while a mailbox is selected, the client has not
 * yet been told the mailbox's HIGHESTMODSEQ, so it is sent once (§3.1.2.1).
 */
import type { SearchKey } from '../protocol/imap/types.js';
import type { CommandContext } from './state.js';
import { anySearchKey } from './search-eval.js';

export function condstoreEnabled(ctx: CommandContext): boolean {
  return ctx.enabled.has('CONDSTORE');
}

/** Turn CONDSTORE on; in the selected state the first time also write "* OK [HIGHESTMODSEQ n]". */
export async function enableCondstore(ctx: CommandContext): Promise<void> {
  if (ctx.enabled.has('CONDSTORE')) return;
  ctx.enabled.add('CONDSTORE');
  const s = ctx.state;
  if (s.kind !== 'selected') return;
  await ctx.send({
    type: 'status',
    tag: '*',
    status: 'OK',
    code: { name: 'HIGHESTMODSEQ', value: s.view.highestModSeq },
    text: 'Highest mailbox mod-sequence',
  });
}

/** True when the search program uses the MODSEQ key (RFC 7162 §3.1.5: the result then carries MODSEQ). */
export function usesModSeq(key: SearchKey): boolean {
  return anySearchKey(key, (k) => k.type === 'modseq');
}
