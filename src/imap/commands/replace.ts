/**
 * REPLACE and UID REPLACE (RFC 8508): a new message is appended to a
 * mailbox (as APPEND, with the same checks, binary content included) and
 * then one message of the selected mailbox is expunged. Used by clients that
 * save drafts as they are written: one round trip instead of APPEND, STORE
 * \Deleted and UID EXPUNGE, and no other \Deleted message is touched.
 */
import { errorCompletion } from '../errors.js';
import type { CommandContext, CommandOf, Completion } from '../state.js';
import { bad, no, ok, selectedState } from '../state.js';
import { appendMessages, appendUid } from './append.js';

export async function replaceCommand(cmd: CommandOf<'REPLACE'>, ctx: CommandContext): Promise<Completion> {
  const { view } = selectedState(ctx);
  // RFC 8508 §3.3: the old message cannot be removed from a read-only mailbox, so nothing is appended either.
  if (view.readOnly) return no('Mailbox is read-only (EXAMINE)', { name: 'CANNOT' });
  let uid: number;
  if (cmd.uid) {
    const seq = view.seqOf(cmd.target);
    if (seq === undefined || view.isExpunged(seq)) return no(`No message with UID ${cmd.target} to replace`);
    uid = cmd.target;
  } else {
    if (cmd.target > view.exists) return bad('Invalid message sequence number');
    if (view.isExpunged(cmd.target)) return no('That message has been expunged');
    uid = view.uidAt(cmd.target);
  }
  // RFC 8508 §3.2: the append comes first; if it fails the old message stays.
  const appended = await appendMessages(cmd.mailbox, [cmd.message], ctx);
  if ('status' in appended) return appended;
  // RFC 8508 §3.4: the APPENDUID goes in an untagged OK, before the EXPUNGE (or VANISHED) of the old message.
  await ctx.send({ type: 'status', tag: '*', status: 'OK', code: appendUid(appended), text: 'Replacement message ready' });
  // Its EXISTS (when it went to the selected mailbox) before the old one's EXPUNGE, as in the RFC's example.
  await ctx.syncView(false);
  try {
    const removed = await ctx.imap.domain.expungeMessages(view.mailbox, [uid]);
    if (removed.length) view.markExpunged(removed);
  } catch (err) {
    return errorCompletion(err, ctx.log);
  }
  return ok('REPLACE completed');
}
