/**
 * EXPUNGE and UID EXPUNGE (RFC 9051 §6.4.3, RFC 4315 §2.1). The removed
 * messages are marked in the view; the session's sync after the command sends
 * their EXPUNGE responses together with any from other sessions.
 */
import type { CommandContext, CommandOf, Completion } from '../state.js';
import { bad, no, ok, selectedState } from '../state.js';

export async function expungeCommand(_cmd: CommandOf<'EXPUNGE'>, ctx: CommandContext): Promise<Completion> {
  return expunge(ctx, null);
}

export async function uidExpungeCommand(cmd: CommandOf<'UID EXPUNGE'>, ctx: CommandContext): Promise<Completion> {
  const { view } = selectedState(ctx);
  const seqs = view.resolve(cmd.set, true);
  if (!seqs) return bad('Invalid UID set');
  return expunge(ctx, new Set(seqs.map((seq) => view.uidAt(seq))));
}

async function expunge(ctx: CommandContext, only: Set<number> | null): Promise<Completion> {
  const { view } = selectedState(ctx);
  if (view.readOnly) return no('Mailbox is read-only (EXAMINE)', { name: 'CANNOT' });
  const removed = await ctx.imap.domain.expungeDeleted(view.mailbox, only);
  if (removed.length) view.markExpunged(removed);
  return ok('EXPUNGE completed');
}
