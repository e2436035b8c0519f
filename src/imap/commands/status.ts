/**
 * STATUS (RFC 9051 §6.3.11, STATUS=SIZE RFC 8438, APPENDLIMIT RFC 7889,
 * DELETED-STORAGE RFC 9208 §4.3.3); also used by LIST RETURN (STATUS) (RFC 5819).
 */
import type { ImapValue, StatusItem } from '../../protocol/imap/types.js';
import type { Mailbox } from '../../store/types.js';
import { enableCondstore } from '../condstore.js';
import { errorCompletion } from '../errors.js';
import type { CommandContext, CommandOf, Completion } from '../state.js';
import { accountOf, ok } from '../state.js';
import { storageKiB } from './quota.js';

export async function statusCommand(cmd: CommandOf<'STATUS'>, ctx: CommandContext): Promise<Completion> {
  const account = accountOf(ctx);
  try {
    const mailbox = await ctx.imap.domain.requireMailbox(account.id, ctx.mailboxName(cmd.mailbox));
    // RFC 7162 §3.1: STATUS (HIGHESTMODSEQ) is a CONDSTORE-enabling command.
    if (cmd.items.includes('HIGHESTMODSEQ')) await enableCondstore(ctx);
    await sendStatus(ctx, mailbox, cmd.items);
  } catch (err) {
    return errorCompletion(err, ctx.log);
  }
  return ok('STATUS completed');
}

export async function sendStatus(ctx: CommandContext, mailbox: Mailbox, items: StatusItem[]): Promise<void> {
  // Every count comes from the counters the store keeps with the mailbox: STATUS costs the same whatever the mailbox holds.
  const values: Array<[string, number | ImapValue]> = [];
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
        // IMAP4rev1 (RFC 3501 §6.3.10): messages no session has been told of yet (recent.ts).
        values.push([item, await ctx.imap.domain.countRecent(mailbox)]);
        break;
      case 'HIGHESTMODSEQ':
        values.push([item, mailbox.highestModSeq]);
        break;
      case 'DELETED':
        values.push([item, mailbox.deletedCount]);
        break;
      case 'DELETED-STORAGE':
        // In the unit of the STORAGE quota resource (KiB), as RFC 9208 §4.3.3 asks.
        values.push([item, storageKiB(mailbox.deletedBytes)]);
        break;
      case 'MAILBOXID':
        // RFC 8474 §4.2.
        values.push([item, [{ atom: mailbox.objectId }]]);
        break;
      case 'APPENDLIMIT':
        // RFC 7889 §3: the same limit for every mailbox, the one APPENDLIMIT=n announces.
        values.push([item, ctx.imap.maxMessageBytes]);
        break;
    }
  }
  await ctx.send({ type: 'status-data', mailbox: mailbox.name, items: values });
}
