/**
 * GETMETADATA and SETMETADATA (RFC 5464): entries of the server (mailbox
 * "") and of mailboxes. The rules (names, whose an entry is, limits, DEPTH
 * and MAXSIZE) are the domain's (domain/metadata.ts); errors become replies
 * in errors.ts ([METADATA MAXSIZE n], [METADATA TOOMANY], BAD for a name).
 */
import type { Mailbox } from '../../store/types.js';
import type { ImapValue } from '../../protocol/imap/types.js';
import type { CommandContext, CommandOf, Completion } from '../state.js';
import { accountOf, ok } from '../state.js';
import { astringValue, mailboxNameValue } from '../wire-names.js';

export async function getMetadataCommand(cmd: CommandOf<'GETMETADATA'>, ctx: CommandContext): Promise<Completion> {
  const account = accountOf(ctx);
  const mailbox = await metadataMailbox(ctx, cmd.mailbox);
  const answer = await ctx.imap.domain.readMetadata(account, mailbox, cmd.entries, { depth: cmd.depth, maxSize: cmd.maxSize });
  if (answer.entries.length > 0) {
    // RFC 5464 §4.4.1: * METADATA mailbox (entry value ...); values as literals (literal8 when they hold NUL), as Dovecot sends them.
    const values: ImapValue[] = answer.entries.flatMap((e) => [astringValue(e.name), e.value === null ? null : e.value.includes(0) ? { literal8: e.value } : e.value]);
    await ctx.send({ type: 'untagged', values: [{ atom: 'METADATA' }, mailbox === null ? '' : mailboxNameValue(ctx, mailbox.name), values] });
  }
  // RFC 5464 §4.2.1: the largest value MAXSIZE left out.
  if (answer.longest !== null) return ok('GETMETADATA completed', { name: 'METADATA', value: `LONGENTRIES ${answer.longest}` });
  return ok('GETMETADATA completed');
}

export async function setMetadataCommand(cmd: CommandOf<'SETMETADATA'>, ctx: CommandContext): Promise<Completion> {
  const account = accountOf(ctx);
  const mailbox = await metadataMailbox(ctx, cmd.mailbox);
  await ctx.imap.domain.writeMetadata(account, mailbox, cmd.entries);
  return ok('SETMETADATA completed');
}

/** "" names the server (RFC 5464 §4.2); anything else a mailbox that must exist. */
async function metadataMailbox(ctx: CommandContext, arg: string): Promise<Mailbox | null> {
  if (arg === '') return null;
  return ctx.imap.domain.resolveMailbox(accountOf(ctx), ctx.mailboxName(arg));
}
