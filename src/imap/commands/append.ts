/**
 * APPEND (RFC 9051 §6.3.12) with MULTIAPPEND (RFC 3502) and APPENDUID
 * (RFC 4315). Sizes and flags of every message are checked before the first
 * is stored; the messages are then stored one by one, each durably, so a
 * failure part-way (over quota) leaves the earlier ones in place: MULTIAPPEND
 * is not atomic here.
 */
import { errorCompletion } from '../errors.js';
import { validateFlags } from '../flags.js';
import type { CommandContext, CommandOf, Completion } from '../state.js';
import { accountOf, bad, no, ok } from '../state.js';
import { compactSet } from '../view.js';

export async function appendCommand(cmd: CommandOf<'APPEND'>, ctx: CommandContext): Promise<Completion> {
  const account = accountOf(ctx);
  const prepared: Array<{ content: Buffer; flags: string[]; internalDate?: Date }> = [];
  for (const message of cmd.messages) {
    if (message.content.length > ctx.imap.maxMessageBytes) {
      return no(`Message is larger than ${ctx.imap.maxMessageBytes} bytes`, { name: 'TOOBIG' });
    }
    const flags = validateFlags(message.flags);
    if ('error' in flags) return bad(flags.error);
    prepared.push({ content: message.content, flags, ...(message.internalDate ? { internalDate: message.internalDate } : {}) });
  }
  try {
    const mailbox = await ctx.imap.domain.getMailbox(account.id, ctx.mailboxName(cmd.mailbox));
    if (!mailbox) return no('Mailbox does not exist', { name: 'TRYCREATE' });
    const uids: number[] = [];
    let uidValidity = mailbox.uidValidity;
    for (const message of prepared) {
      const result = await ctx.imap.domain.ingest(mailbox, message);
      uids.push(result.uid);
      uidValidity = result.uidValidity;
    }
    return ok('APPEND completed', { name: 'APPENDUID', value: { atom: `${uidValidity} ${compactSet(uids)}` } });
  } catch (err) {
    return errorCompletion(err, ctx.log, { target: true });
  }
}
