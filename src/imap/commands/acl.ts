/**
 * SETACL, DELETEACL, GETACL, LISTRIGHTS, MYRIGHTS (RFC 4314 §3). Who may do
 * what is the domain's (domain/acl.ts); the mailbox may be the user's or one
 * shared with them (domain/shared-namespace.ts). Responses name the mailbox
 * as the client knows it.
 */
import type { Mailbox } from '../../store/types.js';
import type { CommandContext, CommandOf, Completion } from '../state.js';
import { accountOf, no, ok } from '../state.js';
import { astringValue, mailboxNameValue } from '../wire-names.js';

/** The mailbox and the name the client knows it by (shared ones come named so, domain/shared-namespace.ts). */
async function mailboxOf(ctx: CommandContext, arg: string): Promise<{ mailbox: Mailbox; name: string }> {
  const mailbox = await ctx.imap.domain.resolveMailbox(accountOf(ctx), ctx.mailboxName(arg));
  return { mailbox, name: mailbox.name };
}

export async function setAclCommand(cmd: CommandOf<'SETACL' | 'DELETEACL'>, ctx: CommandContext): Promise<Completion> {
  const { mailbox } = await mailboxOf(ctx, cmd.mailbox);
  // RFC 4314 §3.2: DELETEACL removes the identifier's entry.
  const rights = cmd.name === 'SETACL' ? cmd.rights : '';
  await ctx.imap.domain.changeAcl(accountOf(ctx), mailbox, cmd.identifier, rights);
  return ok(`${cmd.name} completed`);
}

export async function getAclCommand(cmd: CommandOf<'GETACL'>, ctx: CommandContext): Promise<Completion> {
  const { mailbox, name } = await mailboxOf(ctx, cmd.mailbox);
  const acl = await ctx.imap.domain.readAcl(accountOf(ctx), mailbox);
  // RFC 4314 §3.6: * ACL mailbox *(SP identifier SP rights)
  await ctx.send({
    type: 'untagged',
    values: [{ atom: 'ACL' }, mailboxNameValue(ctx, name), ...acl.flatMap((e) => [astringValue(e.identifier), astringValue(e.rights)])],
  });
  return ok('GETACL completed');
}

export async function listRightsCommand(cmd: CommandOf<'LISTRIGHTS'>, ctx: CommandContext): Promise<Completion> {
  const { mailbox, name } = await mailboxOf(ctx, cmd.mailbox);
  const { required, optional } = await ctx.imap.domain.listRights(accountOf(ctx), mailbox, cmd.identifier);
  // RFC 4314 §3.7: * LISTRIGHTS mailbox identifier required-rights *(SP optional-rights); "" when none are required.
  await ctx.send({
    type: 'untagged',
    values: [{ atom: 'LISTRIGHTS' }, mailboxNameValue(ctx, name), astringValue(cmd.identifier), required === '' ? '' : astringValue(required), ...optional.map(astringValue)],
  });
  return ok('LISTRIGHTS completed');
}

export async function myRightsCommand(cmd: CommandOf<'MYRIGHTS'>, ctx: CommandContext): Promise<Completion> {
  const { mailbox, name } = await mailboxOf(ctx, cmd.mailbox);
  const rights = await ctx.imap.domain.myRights(accountOf(ctx), mailbox);
  // RFC 4314 §3.5: MYRIGHTS needs any right at all (resolving the name already needed "l").
  if (rights === '') return no('Mailbox does not exist', { name: 'NONEXISTENT' });
  await ctx.send({ type: 'untagged', values: [{ atom: 'MYRIGHTS' }, mailboxNameValue(ctx, name), astringValue(rights)] });
  return ok('MYRIGHTS completed');
}
