/**
 * STORE and UID STORE (RFC 9051 §6.4.6). Unless .SILENT, the new flags of every
 * message in the set are returned as if fetched; UID STORE adds the UID.
 */
import { flagAtoms, validateFlags } from '../flags.js';
import { metasByUid } from '../message-loader.js';
import type { CommandContext, CommandOf, Completion } from '../state.js';
import { bad, no, ok, selectedState } from '../state.js';

export async function storeCommand(cmd: CommandOf<'STORE'>, ctx: CommandContext): Promise<Completion> {
  const { view } = selectedState(ctx);
  if (cmd.unchangedSince !== null) return bad('UNCHANGEDSINCE is not supported');
  const flags = validateFlags(cmd.flags);
  if ('error' in flags) return bad(flags.error);
  const seqs = view.resolve(cmd.set, cmd.uid);
  if (!seqs) return bad('Invalid message sequence number');
  if (view.readOnly) return no('Mailbox is read-only (EXAMINE)', { name: 'CANNOT' });
  const live = seqs.filter((seq) => !view.isExpunged(seq));
  if (live.length) {
    const uids = live.map((seq) => view.uidAt(seq));
    await ctx.imap.domain.updateFlags(view.mailbox, uids, cmd.op, flags);
    // Read back every message of the set: one whose flags did not change here may have been changed by another session.
    const metas = await metasByUid(ctx.imap.domain.store, view.mailbox.id, uids);
    for (const m of metas.values()) view.setFlags(m.uid, m.flags);
  }
  if (!cmd.silent) {
    for (const seq of live) {
      const items: Array<[string, ReturnType<typeof flagAtoms> | number]> = [];
      if (cmd.uid) items.push(['UID', view.uidAt(seq)]);
      items.push(['FLAGS', flagAtoms(view.flagsAt(seq))]);
      await ctx.send({ type: 'fetch', seq, items });
    }
  }
  if (live.length < seqs.length) return no('Some of the messages no longer exist', { name: 'EXPUNGEISSUED' });
  return ok('STORE completed');
}
