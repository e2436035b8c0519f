/**
 * SELECT, EXAMINE (RFC 9051 §6.3.2-3, RFC 7162 §3.1.8 CONDSTORE and §3.2.5
 * QRESYNC), CLOSE, UNSELECT (RFC 3691), CHECK.
 */
import type { QresyncParams } from '../../protocol/imap/types.js';
import { HIERARCHY_SEPARATOR } from '../../domain/mailbox-names.js';
import { flagAtoms } from '../flags.js';
import type { CommandContext, CommandOf, Completion } from '../state.js';
import { accountOf, bad, ok, selectedState } from '../state.js';
import { inSet, MailboxView, vanishedResponse } from '../view.js';
import { errorCompletion } from '../errors.js';
import { startRecent } from '../recent.js';

export async function selectCommand(cmd: CommandOf<'SELECT' | 'EXAMINE'>, ctx: CommandContext): Promise<Completion> {
  const account = accountOf(ctx);
  const readOnly = cmd.name === 'EXAMINE';
  // RFC 7162 §3.2.5: the QRESYNC parameter is a client error unless QRESYNC was enabled.
  if (cmd.qresync && !ctx.enabled.has('QRESYNC')) return bad('QRESYNC parameter requires ENABLE QRESYNC');
  // SELECT (CONDSTORE) enables CONDSTORE; the HIGHESTMODSEQ it owes is sent below in any case.
  if (cmd.condstore) ctx.enabled.add('CONDSTORE');
  if (ctx.state.kind === 'selected') {
    // RFC 9051 §6.3.2: selecting deselects first, and the client is told with [CLOSED].
    ctx.setState({ kind: 'authenticated', account });
    await ctx.send({ type: 'status', tag: '*', status: 'OK', code: { name: 'CLOSED' }, text: 'Previous mailbox closed' });
  }
  let view: MailboxView;
  try {
    const mailbox = await ctx.imap.domain.requireMailbox(account.id, ctx.mailboxName(cmd.mailbox));
    view = await MailboxView.open(ctx.imap.domain, mailbox, readOnly);
  } catch (err) {
    return errorCompletion(err, ctx.log);
  }
  const rev1 = !ctx.enabled.has('IMAP4REV2');
  const flags = view.flagList();
  await ctx.send({ type: 'flags', flags });
  await ctx.send({ type: 'exists', count: view.exists });
  // RECENT and UNSEEN are IMAP4rev1 only (RFC 9051 Appendix E); SELECT takes the recent messages, EXAMINE looks.
  if (rev1) await ctx.send({ type: 'recent', count: await startRecent(ctx, view) });
  await ctx.send({ type: 'status', tag: '*', status: 'OK', code: { name: 'UIDVALIDITY', value: view.uidValidity }, text: 'UIDs valid' });
  await ctx.send({ type: 'status', tag: '*', status: 'OK', code: { name: 'UIDNEXT', value: view.uidNext }, text: 'Predicted next UID' });
  // RFC 7162 §3.1.2.1: every mailbox has MODSEQs, so HIGHESTMODSEQ always (never NOMODSEQ).
  await ctx.send({
    type: 'status',
    tag: '*',
    status: 'OK',
    code: { name: 'HIGHESTMODSEQ', value: view.highestModSeq },
    text: 'Highest mailbox mod-sequence',
  });
  // RFC 8474 §4.1: the mailbox's object id.
  await ctx.send({
    type: 'status',
    tag: '*',
    status: 'OK',
    code: { name: 'MAILBOXID', value: [{ atom: view.mailbox.objectId }] },
    text: 'Mailbox id',
  });
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
  // RFC 9051 §6.3.2: the server MUST send a LIST response with the mailbox name, its attributes "accurate"
  // (the same as LIST gives). IMAP4rev1 has no such response, so like Dovecot only after ENABLE IMAP4rev2.
  if (!rev1) {
    const all = await ctx.imap.domain.listMailboxes(account.id);
    const hasChildren = all.some((m) => m.name.startsWith(view.mailbox.name + HIERARCHY_SEPARATOR));
    const attributes = [hasChildren ? '\\HasChildren' : '\\HasNoChildren'];
    if (view.mailbox.specialUse) attributes.push(view.mailbox.specialUse);
    await ctx.send({ type: 'list', command: 'LIST', attributes, delimiter: HIERARCHY_SEPARATOR, mailbox: view.mailbox.name });
  }
  if (cmd.qresync && cmd.qresync.uidValidity === view.uidValidity) await sendResync(ctx, view, cmd.qresync);
  ctx.setState({ kind: 'selected', account, view });
  return readOnly
    ? ok('EXAMINE completed', { name: 'READ-ONLY' })
    : ok('SELECT completed', { name: 'READ-WRITE' });
}

/**
 * RFC 7162 §3.2.5.1: what changed since the client's MODSEQ: "* VANISHED
 * (EARLIER)" with the UIDs expunged since (from the expunge log, which is kept
 * for the life of the mailbox, so seq-match-data is not needed and is
 * ignored), then FETCH (UID FLAGS MODSEQ) of every message changed or added
 * since; both limited to the known UIDs when the client sent them. A UID
 * expunged after the view was loaded is still in it and goes out with the
 * next sync as a plain VANISHED instead.
 */
async function sendResync(ctx: CommandContext, view: MailboxView, q: QresyncParams): Promise<void> {
  const known = q.knownUids === '$' ? null : q.knownUids;
  const star = Math.max(view.uidNext - 1, 0);
  const changes = await ctx.imap.domain.changesSince(view.mailbox, q.modSeq);
  const gone = changes.expunged.filter((uid) => view.seqOf(uid) === undefined && (!known || inSet(known, uid, star)));
  if (gone.length) await ctx.send(vanishedResponse(gone, true));
  for (const seq of view.changedSince(q.modSeq, known)) {
    await ctx.send({
      type: 'fetch',
      seq,
      items: [
        ['UID', view.uidAt(seq)],
        ['FLAGS', flagAtoms(view.flagsAt(seq))],
        ['MODSEQ', [view.modSeqAt(seq)]],
      ],
    });
  }
}

/** CLOSE expunges \Deleted messages silently (not after EXAMINE) and deselects. */
export async function closeCommand(_cmd: CommandOf<'CLOSE'>, ctx: CommandContext): Promise<Completion> {
  const { account, view } = selectedState(ctx);
  ctx.setState({ kind: 'authenticated', account });
  if (!view.readOnly) await ctx.imap.domain.expungeDeleted(view.mailbox);
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
