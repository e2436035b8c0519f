/**
 * QUOTA (RFC 9208) over the account-wide storage quota: one quota root, "",
 * holding every mailbox of the account, with the STORAGE resource in units
 * of 1024 octets. An account without a quota has no quota root. Quotas are
 * set by the administrator (`mailstead user`), so SETQUOTA is refused and
 * QUOTASET is not advertised.
 */
import type { Account } from '../../store/types.js';
import { errorCompletion } from '../errors.js';
import type { CommandContext, CommandOf, Completion } from '../state.js';
import { accountOf, no, ok } from '../state.js';

/** The one quota root; RFC 9208 §4.1 allows the empty name. */
export const QUOTA_ROOT = '';

export async function getQuotaRootCommand(cmd: CommandOf<'GETQUOTAROOT'>, ctx: CommandContext): Promise<Completion> {
  try {
    const account = await freshAccount(ctx);
    const mailbox = await ctx.imap.domain.requireMailbox(account.id, ctx.mailboxName(cmd.mailbox));
    const roots = account.quotaBytes === null ? [] : [QUOTA_ROOT];
    await ctx.send({ type: 'quotaroot', mailbox: mailbox.name, roots });
    if (account.quotaBytes !== null) await sendQuota(ctx, account);
  } catch (err) {
    return errorCompletion(err, ctx.log);
  }
  return ok('GETQUOTAROOT completed');
}

export async function getQuotaCommand(cmd: CommandOf<'GETQUOTA'>, ctx: CommandContext): Promise<Completion> {
  const account = await freshAccount(ctx);
  if (cmd.root !== QUOTA_ROOT || account.quotaBytes === null) return no('No such quota root', { name: 'NONEXISTENT' });
  await sendQuota(ctx, account);
  return ok('GETQUOTA completed');
}

export async function setQuotaCommand(_cmd: CommandOf<'SETQUOTA'>, _ctx: CommandContext): Promise<Completion> {
  return no('Quotas are set by the administrator', { name: 'NOPERM' });
}

/** STORAGE usage and limit in KiB (RFC 9208 §5.1): usage rounds up, so a nearly full account never looks emptier. */
export function storageKiB(bytes: number): number {
  return Math.ceil(bytes / 1024);
}

async function sendQuota(ctx: CommandContext, account: Account): Promise<void> {
  const limit = Math.floor((account.quotaBytes ?? 0) / 1024);
  await ctx.send({ type: 'quota', root: QUOTA_ROOT, resources: [['STORAGE', storageKiB(account.usedBytes), limit]] });
}

/** The session's account object dates from login; usage must be read now. */
async function freshAccount(ctx: CommandContext): Promise<Account> {
  const account = accountOf(ctx);
  return (await ctx.imap.domain.store.getAccountById(account.id)) ?? account;
}
