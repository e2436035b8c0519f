/**
 * COPY, MOVE and their UID forms (RFC 9051 §6.4.7-8, RFC 6851, UIDPLUS RFC 4315).
 * MOVE sends COPYUID in an untagged OK before the EXPUNGEs (RFC 6851 §4.3);
 * the EXPUNGEs themselves go out with the session's sync after the command.
 */
import { errorCompletion } from '../errors.js';
import { withProgress } from '../progress.js';
import type { CommandContext, CommandOf, Completion } from '../state.js';
import { bad, no, ok, selectedState } from '../state.js';
import { compactSet } from '../view.js';

export async function copyCommand(cmd: CommandOf<'COPY' | 'MOVE'>, ctx: CommandContext): Promise<Completion> {
  const { account, view } = selectedState(ctx);
  const seqs = view.resolve(cmd.set, cmd.uid);
  if (!seqs) return bad('Invalid message sequence number');
  const isMove = cmd.name === 'MOVE';
  if (isMove && view.readOnly) return no('Mailbox is read-only (EXAMINE)', { name: 'CANNOT' });
  let target;
  try {
    target = await ctx.imap.domain.getMailbox(account.id, ctx.mailboxName(cmd.mailbox));
  } catch (err) {
    return errorCompletion(err, ctx.log, { target: true });
  }
  if (!target) return no('Mailbox does not exist', { name: 'TRYCREATE' });
  const uids = seqs.filter((seq) => !view.isExpunged(seq)).map((seq) => view.uidAt(seq));
  if (uids.length === 0) return ok(`${cmd.name} completed; no messages`);
  let result;
  try {
    const work = isMove ? ctx.imap.domain.moveMessages(view.mailbox, uids, target) : ctx.imap.domain.copyMessages(view.mailbox, uids, target);
    result = await withProgress(ctx, cmd.tag, work, isMove ? 'Still moving' : 'Still copying');
  } catch (err) {
    return errorCompletion(err, ctx.log, { target: true });
  }
  const code = result.uidMap.length
    ? {
        name: 'COPYUID',
        value: {
          atom: `${result.uidValidity} ${compactSet(result.uidMap.map(([s]) => s))} ${compactSet(result.uidMap.map(([, d]) => d))}`,
        },
      }
    : undefined;
  if (!isMove) return ok('COPY completed', code);
  if (code) await ctx.send({ type: 'status', tag: '*', status: 'OK', code, text: 'Moved' });
  view.markExpunged(result.uidMap.map(([s]) => s));
  return ok('MOVE completed');
}
