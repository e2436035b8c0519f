/** SELECT, EXAMINE (RFC 9051 §6.3.2-3), CLOSE, UNSELECT (RFC 3691), CHECK. */
import type { CommandContext, CommandOf, Completion } from '../state.js';
import { accountOf, bad, ok, selectedState } from '../state.js';
import { MailboxView } from '../view.js';
import { errorCompletion } from '../errors.js';

export async function selectCommand(cmd: CommandOf<'SELECT' | 'EXAMINE'>, ctx: CommandContext): Promise<Completion> {
  const account = accountOf(ctx);
  const readOnly = cmd.name === 'EXAMINE';
  if (cmd.condstore) return bad('CONDSTORE is not supported');
  if (ctx.state.kind === 'selected') {
    // RFC 9051 §6.3.2: selecting deselects first, and the client is told with [CLOSED].
    ctx.setState({ kind: 'authenticated', account });
    await ctx.send({ type: 'status', tag: '*', status: 'OK', code: { name: 'CLOSED' }, text: 'Previous mailbox closed' });
  }
  let view: MailboxView;
  try {
    const mailbox = await ctx.imap.domain.requireMailbox(account.id, ctx.mailboxName(cmd.mailbox));
    view = await MailboxView.open(ctx.imap.domain.store, mailbox, readOnly);
  } catch (err) {
    return errorCompletion(err, ctx.log);
  }
  const rev1 = !ctx.enabled.has('IMAP4REV2');
  const flags = view.flagList();
  await ctx.send({ type: 'flags', flags });
  await ctx.send({ type: 'exists', count: view.exists });
  // RECENT and UNSEEN are IMAP4rev1 only (RFC 9051 Appendix E); \Recent is not kept.
  if (rev1) await ctx.send({ type: 'recent', count: 0 });
  await ctx.send({ type: 'status', tag: '*', status: 'OK', code: { name: 'UIDVALIDITY', value: view.uidValidity }, text: 'UIDs valid' });
  await ctx.send({ type: 'status', tag: '*', status: 'OK', code: { name: 'UIDNEXT', value: view.uidNext }, text: 'Predicted next UID' });
  const firstUnseen = view.firstUnseen();
  if (rev1 && firstUnseen > 0) {
    await ctx.send({ type: 'status', tag: '*', status: 'OK', code: { name: 'UNSEEN', value: firstUnseen }, text: 'First unseen' });
  }
  const permanent = readOnly ? [] : [...flags, '\\*'];
  await ctx.send({
    type: 'status',
    tag: '*',
    status: 'OK',
    code: { name: 'PERMANENTFLAGS', value: permanent.map((f) => ({ atom: f })) },
    text: readOnly ? 'No permanent flags permitted' : 'Flags permitted',
  });
  // RFC 9051 §6.3.2: the server MUST send a LIST response with the mailbox name (and its special use).
  await ctx.send({
    type: 'list',
    command: 'LIST',
    attributes: view.mailbox.specialUse ? [view.mailbox.specialUse] : [],
    delimiter: '/',
    mailbox: view.mailbox.name,
  });
  ctx.setState({ kind: 'selected', account, view });
  return readOnly
    ? ok('EXAMINE completed', { name: 'READ-ONLY' })
    : ok('SELECT completed', { name: 'READ-WRITE' });
}

/** CLOSE expunges \Deleted messages silently (not after EXAMINE) and deselects. */
export async function closeCommand(_cmd: CommandOf<'CLOSE'>, ctx: CommandContext): Promise<Completion> {
  const { account, view } = selectedState(ctx);
  ctx.setState({ kind: 'authenticated', account });
  if (!view.readOnly) {
    const messages = await ctx.imap.domain.store.listMessages(view.mailbox.id);
    const deleted = messages.filter((m) => m.flags.includes('\\Deleted')).map((m) => m.uid);
    if (deleted.length) await ctx.imap.domain.expungeMessages(view.mailbox, deleted);
  }
  return ok('CLOSE completed');
}

export async function unselectCommand(_cmd: CommandOf<'UNSELECT'>, ctx: CommandContext): Promise<Completion> {
  const { account } = selectedState(ctx);
  ctx.setState({ kind: 'authenticated', account });
  return ok('UNSELECT completed');
}

/** Writes are durable when they complete, so CHECK only reports changes (done by the session). */
export async function checkCommand(): Promise<Completion> {
  return ok('CHECK completed');
}
