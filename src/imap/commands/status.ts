/** STATUS (RFC 9051 §6.3.11, STATUS=SIZE RFC 8438); also used by LIST RETURN (STATUS) (RFC 5819). */
import type { StatusItem } from '../../protocol/imap/types.js';
import type { Mailbox } from '../../store/types.js';
import { errorCompletion } from '../errors.js';
import type { CommandContext, CommandOf, Completion } from '../state.js';
import { accountOf, ok } from '../state.js';

export async function statusCommand(cmd: CommandOf<'STATUS'>, ctx: CommandContext): Promise<Completion> {
  const account = accountOf(ctx);
  try {
    const mailbox = await ctx.imap.domain.requireMailbox(account.id, ctx.mailboxName(cmd.mailbox));
    await sendStatus(ctx, mailbox, cmd.items);
  } catch (err) {
    return errorCompletion(err, ctx.log);
  }
  return ok('STATUS completed');
}

export async function sendStatus(ctx: CommandContext, mailbox: Mailbox, items: StatusItem[]): Promise<void> {
  const values: Array<[string, number]> = [];
  let deleted: number | null = null;
  for (const item of items) {
    switch (item) {
      case 'MESSAGES':
        values.push([item, mailbox.messageCount]);
        break;
      case 'UIDNEXT':
        values.push([item, mailbox.uidNext]);
        break;
      case 'UIDVALIDITY':
        values.push([item, mailbox.uidValidity]);
        break;
      case 'UNSEEN':
        values.push([item, mailbox.unseenCount]);
        break;
      case 'SIZE':
        values.push([item, mailbox.sizeBytes]);
        break;
      case 'RECENT':
        // \Recent is not kept (RFC 9051 removed it); IMAP4rev1 clients get 0.
        values.push([item, 0]);
        break;
      case 'HIGHESTMODSEQ':
        values.push([item, mailbox.highestModSeq]);
        break;
      case 'DELETED':
        deleted ??= (await ctx.imap.domain.store.listMessages(mailbox.id)).filter((m) =>
          m.flags.includes('\\Deleted'),
        ).length;
        values.push([item, deleted]);
        break;
    }
  }
  await ctx.send({ type: 'status-data', mailbox: mailbox.name, items: values });
}
