/** CREATE (with RFC 6154 USE), DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE (RFC 9051 §6.3.4-8). */
import { HIERARCHY_SEPARATOR } from '../../domain/mailbox-names.js';
import type { Mailbox, SpecialUse } from '../../store/types.js';
import { errorCompletion } from '../errors.js';
import type { CommandContext, CommandOf, Completion } from '../state.js';
import { accountOf, no, ok } from '../state.js';

/** Special uses a client may give a new mailbox; \All and \Flagged would need virtual mailboxes. */
const CREATABLE_USES: SpecialUse[] = ['\\Sent', '\\Drafts', '\\Trash', '\\Junk', '\\Archive'];

export async function createCommand(cmd: CommandOf<'CREATE'>, ctx: CommandContext): Promise<Completion> {
  const account = accountOf(ctx);
  if (cmd.specialUse.length > 1) return no('Only one special use per mailbox', { name: 'USEATTR' });
  let use: SpecialUse | null = null;
  if (cmd.specialUse.length === 1) {
    use = CREATABLE_USES.find((u) => u.toLowerCase() === cmd.specialUse[0].toLowerCase()) ?? null;
    if (!use) return no(`Special use ${cmd.specialUse[0]} is not supported`, { name: 'USEATTR' });
  }
  let created: Mailbox;
  try {
    let name = ctx.mailboxName(cmd.mailbox);
    // RFC 9051 §6.3.4: a trailing separator says the client intends to create children under it.
    if (name.endsWith(HIERARCHY_SEPARATOR)) name = name.slice(0, -1);
    created = await ctx.imap.domain.createMailbox(account.id, name, use, ctx.sessionId);
  } catch (err) {
    return errorCompletion(err, ctx.log);
  }
  // RFC 8474 §4.1: the new mailbox's MAILBOXID in the tagged OK.
  return ok('CREATE completed', { name: 'MAILBOXID', value: [{ atom: created.objectId }] });
}

export async function deleteCommand(cmd: CommandOf<'DELETE'>, ctx: CommandContext): Promise<Completion> {
  const account = accountOf(ctx);
  const state = ctx.state;
  try {
    const mailbox = await ctx.imap.domain.requireMailbox(account.id, ctx.mailboxName(cmd.mailbox));
    await ctx.imap.domain.deleteMailbox(account.id, mailbox.name, ctx.sessionId);
    if (state.kind === 'selected' && state.view.mailbox.id === mailbox.id) {
      ctx.setState({ kind: 'authenticated', account });
      await ctx.send({ type: 'status', tag: '*', status: 'OK', code: { name: 'CLOSED' }, text: 'Selected mailbox deleted' });
    }
  } catch (err) {
    return errorCompletion(err, ctx.log);
  }
  return ok('DELETE completed');
}

export async function renameCommand(cmd: CommandOf<'RENAME'>, ctx: CommandContext): Promise<Completion> {
  const account = accountOf(ctx);
  try {
    await ctx.imap.domain.renameMailbox(account.id, ctx.mailboxName(cmd.from), ctx.mailboxName(cmd.to), ctx.sessionId);
    const state = ctx.state;
    if (state.kind === 'selected') {
      const fresh = await ctx.imap.domain.mailboxById(state.view.mailbox.id);
      if (fresh) state.view.mailbox = fresh;
    }
  } catch (err) {
    return errorCompletion(err, ctx.log);
  }
  return ok('RENAME completed');
}

export async function subscribeCommand(cmd: CommandOf<'SUBSCRIBE' | 'UNSUBSCRIBE'>, ctx: CommandContext): Promise<Completion> {
  const account = accountOf(ctx);
  const subscribe = cmd.name === 'SUBSCRIBE';
  try {
    const name = ctx.mailboxName(cmd.mailbox);
    // RFC 9051 §6.3.7: SUBSCRIBE to a missing mailbox may fail; we refuse so that typos do not linger.
    if (subscribe) await ctx.imap.domain.requireMailbox(account.id, name);
    await ctx.imap.domain.setSubscribed(account.id, name, subscribe, ctx.sessionId);
  } catch (err) {
    return errorCompletion(err, ctx.log);
  }
  return ok(`${cmd.name} completed`);
}
