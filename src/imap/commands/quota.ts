/**
 * QUOTA (RFC 9208) over the account-wide storage quota: one quota root, "",
 * holding every mailbox of the account, with the STORAGE resource in units
 * of 1024 octets. An account without a quota has no quota root. Quotas are
 * set by the administrator (`mailstead user`), so SETQUOTA is refused and
 * QUOTASET is not advertised.
 */
import type { QuotaUsage } from '../../domain/mail-domain.js';
import { errorCompletion } from '../errors.js';
import type { CommandContext, CommandOf, Completion } from '../state.js';
import { accountOf, no, ok } from '../state.js';

/** The one quota root; RFC 9208 §4.1 allows the empty name. */
export const QUOTA_ROOT = '';

export async function getQuotaRootCommand(cmd: CommandOf<'GETQUOTAROOT'>, ctx: CommandContext): Promise<Completion> {
  try {
    const account = accountOf(ctx);
    const mailbox = await ctx.imap.domain.requireMailbox(account.id, ctx.mailboxName(cmd.mailbox));
    const quota = await ctx.imap.domain.quotaOf(account);
    await ctx.send({ type: 'quotaroot', mailbox: mailbox.name, roots: quota ? [QUOTA_ROOT] : [] });
    if (quota) await sendQuota(ctx, quota);
  } catch (err) {
    return errorCompletion(err, ctx.log);
  }
  return ok('GETQUOTAROOT completed');
}

export async function getQuotaCommand(cmd: CommandOf<'GETQUOTA'>, ctx: CommandContext): Promise<Completion> {
  const quota = await ctx.imap.domain.quotaOf(accountOf(ctx));
  if (cmd.root !== QUOTA_ROOT || !quota) return no('No such quota root', { name: 'NONEXISTENT' });
  await sendQuota(ctx, quota);
  return ok('GETQUOTA completed');
}

export async function setQuotaCommand(_cmd: CommandOf<'SETQUOTA'>, _ctx: CommandContext): Promise<Completion> {
  return no('Quotas are set by the administrator', { name: 'NOPERM' });
}

/** STORAGE usage and limit in KiB (RFC 9208 §5.1): usage rounds up, so a nearly full account never looks emptier. */
export function storageKiB(bytes: number): number {
  return Math.ceil(bytes / 1024);
}

async function sendQuota(ctx: CommandContext, quota: QuotaUsage): Promise<void> {
  const limit = Math.floor(quota.limitBytes / 1024);
  await ctx.send({ type: 'quota', root: QUOTA_ROOT, resources: [['STORAGE', storageKiB(quota.usedBytes), limit]] });
}
