/**
 * APPEND (RFC 9051 §6.3.12) with MULTIAPPEND (RFC 3502) and APPENDUID
 * (RFC 4315). RFC 3502 §3 asks that all messages are stored or none:
 * sizes, flags and the quota for the whole batch are checked before the
 * first is stored; the messages are then stored one by one, each durably,
 * and if one still fails (a delivery raced us past the quota, a disk error)
 * those already stored are expunged again. Other sessions may glimpse them
 * in between, and a crash in that window keeps them: true atomicity needs a
 * batch append in the store (one transaction), which it does not offer yet.
 */
import type { AppendResult } from '../../store/types.js';
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
    const fresh = await ctx.imap.domain.store.getAccountById(account.id);
    const total = prepared.reduce((n, m) => n + m.content.length, 0);
    if (fresh && fresh.quotaBytes !== null && fresh.usedBytes + total > fresh.quotaBytes) {
      return no('Quota exceeded', { name: 'OVERQUOTA' });
    }
    const stored: AppendResult[] = [];
    try {
      for (const message of prepared) stored.push(await ctx.imap.domain.ingest(mailbox, message));
    } catch (err) {
      if (stored.length > 0) {
        await ctx.imap.domain.expungeMessages(mailbox, stored.map((r) => r.uid)).catch((undo) => {
          ctx.log.error({ err: undo }, 'could not undo a partial MULTIAPPEND');
        });
      }
      throw err;
    }
    const uidValidity = stored[stored.length - 1]?.uidValidity ?? mailbox.uidValidity;
    const uids = stored.map((r) => r.uid);
    return ok('APPEND completed', { name: 'APPENDUID', value: { atom: `${uidValidity} ${compactSet(uids)}` } });
  } catch (err) {
    return errorCompletion(err, ctx.log, { target: true });
  }
}
