/**
 * STORE and UID STORE (RFC 9051 §6.4.6, RFC 7162 §3.1.3 UNCHANGEDSINCE). Unless
 * .SILENT, the new flags of every message in the set are returned as if
 * fetched; UID STORE adds the UID; once CONDSTORE is enabled MODSEQ is added,
 * and even a .SILENT STORE reports the new MODSEQ of what it changed (as
 * RFC 7162's example 10 shows). Messages that fail the UNCHANGEDSINCE test are
 * left alone and named in the tagged OK's [MODIFIED set].
 */
import type { ImapValue } from '../../protocol/imap/types.js';
import type { MessageMeta } from '../../store/types.js';
import { condstoreEnabled, enableCondstore } from '../condstore.js';
import { applyFlagOperation, checkClientFlags } from '../../domain/flags.js';
import { flagAtoms } from '../flags.js';
import { metasByUid } from '../message-loader.js';
import type { CommandContext, CommandOf, Completion } from '../state.js';
import { bad, no, ok, selectedState } from '../state.js';
import { compactSet, sameFlags } from '../view.js';

export async function storeCommand(cmd: CommandOf<'STORE'>, ctx: CommandContext): Promise<Completion> {
  const { view } = selectedState(ctx);
  const flags = checkClientFlags(cmd.flags);
  if ('error' in flags) return bad(flags.error);
  const seqs = view.resolve(cmd.set, cmd.uid);
  if (!seqs) return bad('Invalid message sequence number');
  if (view.readOnly) return no('Mailbox is read-only (EXAMINE)', { name: 'CANNOT' });
  if (cmd.unchangedSince !== null) await enableCondstore(ctx);
  const condstore = condstoreEnabled(ctx);
  const live = seqs.filter((seq) => !view.isExpunged(seq));
  const modified = new Set<number>();
  const changedHere = new Set<number>();
  let current = new Map<number, MessageMeta>();
  if (live.length) {
    const uids = live.map((seq) => view.uidAt(seq));
    const domain = ctx.imap.domain;
    if (cmd.unchangedSince !== null) {
      const result = await domain.updateFlagsUnchangedSince(view.mailbox, uids, cmd.op, flags, cmd.unchangedSince);
      for (const uid of result.modified) modified.add(uid);
      for (const m of result.changed) changedHere.add(m.uid);
    } else {
      for (const m of await domain.updateFlags(view.mailbox, uids, cmd.op, flags)) changedHere.add(m.uid);
    }
    // Read back every message of the set: one whose flags did not change here may have been changed by another session.
    current = await metasByUid(ctx.imap.domain, view.mailbox, uids);
  }
  // A keyword new to the mailbox is announced in FLAGS before the FETCH responses that carry it.
  const flagsUpdate = cmd.silent ? null : view.flagsUpdateFor([...current.values()].map((m) => m.flags));
  if (flagsUpdate) await ctx.send(flagsUpdate);
  for (const seq of live) {
    const uid = view.uidAt(seq);
    const meta = current.get(uid);
    if (!meta || modified.has(uid)) continue;
    const items: Array<[string, ImapValue]> = [];
    if (cmd.uid) items.push(['UID', uid]);
    if (!cmd.silent) {
      items.push(['FLAGS', flagAtoms(meta.flags)]);
      if (condstore) items.push(['MODSEQ', [meta.modSeq]]);
      view.setFlags(uid, meta.flags, condstore ? meta.modSeq : undefined);
    } else {
      // The client assumes its change was applied; if the result differs, another session changed
      // the message too, and leaving the view as it was lets the sync after the command report it.
      const expected = applyFlagOperation(view.flagsAt(seq), cmd.op, flags);
      if (!sameFlags(expected, meta.flags)) continue;
      view.setFlags(uid, meta.flags, condstore && changedHere.has(uid) ? meta.modSeq : undefined);
      if (!condstore || !changedHere.has(uid)) continue;
      items.push(['MODSEQ', [meta.modSeq]]);
    }
    await ctx.send({ type: 'fetch', seq, items });
  }
  if (modified.size > 0) {
    const ids = [...modified].map((uid) => (cmd.uid ? uid : view.seqOf(uid)!)).sort((a, b) => a - b);
    return ok('Conditional STORE failed', { name: 'MODIFIED', value: { atom: compactSet(ids) } });
  }
  // A message another session expunged (its EXPUNGE not sent yet) is skipped and the STORE
  // still succeeds, as RFC 2180 §4.2.1 allows and Dovecot does: a NO here reads to clients
  // (imaptest among them) as a failed STORE of the messages that do exist.
  return ok('STORE completed');
}
