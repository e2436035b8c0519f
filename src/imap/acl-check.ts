/**
 * The one rights check (RFC 4314 §4) every IMAP command goes through: the
 * session calls it before a command runs. It names the rights the command
 * needs on the mailboxes it touches: the selected one, and one named in its
 * arguments. A user holds every right on their own mailboxes, so for those
 * nothing is read; only a mailbox of another account (selected, or named
 * "Shared/<owner>/…") costs a read of its ACL.
 *
 * Resolving a shared name already needs "l" (shared-namespace.ts), answered
 * as a missing mailbox without it. Decisions where RFC 4314 leaves room:
 * a shared mailbox is opened READ-ONLY by SELECT unless the user holds "s"
 * (so FETCH never sets \Seen without it); CLOSE without "e" deselects without
 * expunging; CREATE and RENAME in the shared namespace are refused.
 */
import type { ImapCommand } from '../protocol/imap/types.js';
import type { Account, Mailbox } from '../store/types.js';
import { AclDenied } from '../domain/acl.js';
import type { CommandContext, Completion } from './state.js';
import { ok } from './state.js';

/** Resolves to null when the command may run, or to the completion that replaces it; throws AclDenied. */
export async function checkRights(command: ImapCommand, ctx: CommandContext): Promise<Completion | null> {
  const s = ctx.state;
  if (s.kind !== 'authenticated' && s.kind !== 'selected') return null;
  const user = s.account;
  const selected = s.kind === 'selected' && s.view.mailbox.accountId !== user.id ? s.view.mailbox : null;
  const onSelected = async (rights: string) => {
    if (selected) await ctx.imap.domain.requireRights(user, selected, rights);
  };
  switch (command.name) {
    case 'SELECT':
    case 'EXAMINE': {
      const mailbox = await named(ctx, user, command.mailbox, 'r');
      if (!mailbox) return null;
      if (command.name === 'SELECT' && !(await ctx.imap.domain.myRights(user, mailbox)).includes('s')) {
        (command as { name: string }).name = 'EXAMINE';
      }
      // Changes by the owner and other grantees must reach this session (IDLE included).
      ctx.followAccount?.(mailbox.accountId);
      return null;
    }
    case 'STATUS':
      await named(ctx, user, command.mailbox, 'r');
      return null;
    case 'APPEND':
      await named(ctx, user, command.mailbox, 'i');
      return null;
    case 'DELETE':
      await named(ctx, user, command.mailbox, 'x');
      return null;
    case 'CREATE':
      if (await ctx.imap.domain.isSharedName(user, ctx.mailboxName(command.mailbox))) throw new AclDenied('k', true);
      return null;
    case 'RENAME':
      for (const arg of [command.from, command.to]) {
        if (await ctx.imap.domain.isSharedName(user, ctx.mailboxName(arg))) throw new AclDenied('x', true);
      }
      return null;
    case 'FETCH':
    case 'SEARCH':
    case 'SORT':
    case 'THREAD':
      await onSelected('r');
      return null;
    case 'STORE':
      await onSelected(storeRights(command.op, command.flags));
      return null;
    case 'EXPUNGE':
    case 'UID EXPUNGE':
      await onSelected('e');
      return null;
    case 'CLOSE':
      if (selected && s.kind === 'selected' && !(await ctx.imap.domain.myRights(user, selected)).includes('e')) {
        // RFC 4314 §4: CLOSE expunges only with "e"; without it, it only deselects.
        ctx.setState({ kind: 'authenticated', account: user });
        return ok('CLOSE completed');
      }
      return null;
    case 'COPY':
    case 'MOVE':
      await onSelected(command.name === 'MOVE' ? 'rte' : 'r');
      await named(ctx, user, command.mailbox, 'i');
      return null;
    case 'REPLACE':
      await onSelected('te');
      await named(ctx, user, command.mailbox, 'i');
      return null;
    default:
      return null;
  }
}

/** The mailbox a name argument stands for when it is another account's (checking `rights`), else null. */
async function named(ctx: CommandContext, user: Account, arg: string, rights: string): Promise<Mailbox | null> {
  const name = ctx.mailboxName(arg);
  if (!(await ctx.imap.domain.isSharedName(user, name))) return null;
  const mailbox = await ctx.imap.domain.resolveMailbox(user, name);
  await ctx.imap.domain.requireRights(user, mailbox, rights);
  return mailbox;
}

/** RFC 4314 §4 STORE: \Seen needs "s", \Deleted "t", any other flag "w"; replacing the flags may change all three. */
function storeRights(op: 'add' | 'remove' | 'replace', flags: readonly string[]): string {
  if (op === 'replace') return 'stw';
  let rights = '';
  for (const flag of flags) {
    const lower = flag.toLowerCase();
    const right = lower === '\\seen' ? 's' : lower === '\\deleted' ? 't' : 'w';
    if (!rights.includes(right)) rights += right;
  }
  return rights;
}
