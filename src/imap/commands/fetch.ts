/**
 * FETCH and UID FETCH (RFC 9051 §6.4.5, §7.5.2). BODY[...] without PEEK,
 * RFC822 and RFC822.TEXT set \Seen (not in a read-only mailbox); the FETCH
 * response then carries the new FLAGS even when they were not asked for.
 */
import { bodyStructure, envelope, sectionBytes } from '../../mail/index.js';
import { formatDateTime } from '../../protocol/imap/datetime.js';
import type { FetchAttribute, ImapValue, Section } from '../../protocol/imap/types.js';
import type { MessageMeta } from '../../store/types.js';
import { flagAtoms } from '../flags.js';
import { chunks, loadMessage, META_BATCH, metasByUid, type LoadedMessage } from '../message-loader.js';
import type { CommandContext, CommandOf, Completion } from '../state.js';
import { bad, no, ok, selectedState } from '../state.js';

const NEEDS_CONTENT = new Set(['ENVELOPE', 'BODYSTRUCTURE', 'BODY', 'RFC822', 'RFC822.HEADER', 'RFC822.TEXT', 'BODY[]']);

export async function fetchCommand(cmd: CommandOf<'FETCH'>, ctx: CommandContext): Promise<Completion> {
  const { view } = selectedState(ctx);
  const store = ctx.imap.domain.store;
  const unsupported = cmd.attributes.find((a) => a.kind === 'MODSEQ' || a.kind === 'BINARY[]' || a.kind === 'BINARY.SIZE');
  if (unsupported || cmd.changedSince !== null) return bad(`${unsupported?.kind ?? 'CHANGEDSINCE'} is not supported`);
  const seqs = view.resolve(cmd.set, cmd.uid);
  if (!seqs) return bad('Invalid message sequence number');

  const setsSeen =
    !view.readOnly &&
    cmd.attributes.some((a) => a.kind === 'RFC822' || a.kind === 'RFC822.TEXT' || (a.kind === 'BODY[]' && !a.peek));
  const needsContent = cmd.attributes.some((a) => NEEDS_CONTENT.has(a.kind));
  const wantsFlags = cmd.attributes.some((a) => a.kind === 'FLAGS');
  const wantsUid = cmd.attributes.some((a) => a.kind === 'UID');
  let vanished = 0;

  const live = seqs.filter((seq) => !view.isExpunged(seq));
  vanished += seqs.length - live.length;
  for (const batch of chunks(live, META_BATCH)) {
    const metas = await metasByUid(store, view.mailbox.id, batch.map((seq) => view.uidAt(seq)));
    const seenNow = new Set<number>();
    if (setsSeen) {
      const unseen = [...metas.values()].filter((m) => !m.flags.includes('\\Seen')).map((m) => m.uid);
      if (unseen.length) {
        for (const changed of await ctx.imap.domain.updateFlags(view.mailbox, unseen, 'add', ['\\Seen'])) {
          metas.set(changed.uid, changed);
          seenNow.add(changed.uid);
        }
      }
    }
    for (const seq of batch) {
      const meta = metas.get(view.uidAt(seq));
      if (!meta) {
        vanished++;
        continue;
      }
      view.setFlags(meta.uid, meta.flags);
      const message = needsContent ? await loadMessage(store, meta) : null;
      if (needsContent && !message) {
        vanished++;
        continue;
      }
      const items: Array<[string, ImapValue]> = [];
      // RFC 9051 §6.4.9: UID FETCH responses always include UID.
      if (cmd.uid && !wantsUid) items.push(['UID', meta.uid]);
      for (const attr of cmd.attributes) items.push(fetchItem(attr, meta, message));
      if (seenNow.has(meta.uid) && !wantsFlags) items.push(['FLAGS', flagAtoms(meta.flags)]);
      await ctx.send({ type: 'fetch', seq, items });
    }
  }
  // RFC 9051 §7.1 EXPUNGEISSUED: some requested messages were expunged by another session.
  if (vanished > 0) return no('Some of the requested messages no longer exist', { name: 'EXPUNGEISSUED' });
  return ok('FETCH completed');
}

function fetchItem(attr: FetchAttribute, meta: MessageMeta, message: LoadedMessage | null): [string, ImapValue] {
  const m = message!;
  switch (attr.kind) {
    case 'FLAGS':
      return ['FLAGS', flagAtoms(meta.flags)];
    case 'UID':
      return ['UID', meta.uid];
    case 'INTERNALDATE':
      return ['INTERNALDATE', formatDateTime(meta.internalDate)];
    case 'RFC822.SIZE':
      return ['RFC822.SIZE', meta.size];
    case 'ENVELOPE':
      return ['ENVELOPE', envelope(m.raw, m.structure) as ImapValue];
    case 'BODYSTRUCTURE':
      return ['BODYSTRUCTURE', bodyStructure(m.raw, m.structure, true) as ImapValue];
    case 'BODY':
      return ['BODY', bodyStructure(m.raw, m.structure, false) as ImapValue];
    case 'RFC822':
      return ['RFC822', m.raw];
    case 'RFC822.HEADER':
      return ['RFC822.HEADER', sectionBytes(m.raw, m.structure, { part: [], text: 'HEADER' }) ?? Buffer.alloc(0)];
    case 'RFC822.TEXT':
      return ['RFC822.TEXT', sectionBytes(m.raw, m.structure, { part: [], text: 'TEXT' }) ?? Buffer.alloc(0)];
    case 'BODY[]': {
      const bytes = sectionBytes(m.raw, m.structure, attr.section);
      let name = `BODY[${sectionName(attr.section)}]`;
      if (!attr.partial) return [name, bytes];
      // RFC 9051 §6.4.5: a partial fetch answers with the origin only: BODY[]<0>.
      name += `<${attr.partial.offset}>`;
      const data = bytes ?? Buffer.alloc(0);
      return [name, data.subarray(attr.partial.offset, attr.partial.offset + attr.partial.length)];
    }
    case 'MODSEQ':
    case 'BINARY[]':
    case 'BINARY.SIZE':
      throw new Error(`unsupported fetch attribute ${attr.kind}`);
  }
}

/** "1.2.HEADER.FIELDS (From To)" as the client wrote it. */
export function sectionName(section: Section): string {
  const parts: string[] = [];
  if (section.part.length) parts.push(section.part.join('.'));
  if (section.text) parts.push(section.text);
  let name = parts.join('.');
  if (section.fields) name += ` (${section.fields.map(quoteIfNeeded).join(' ')})`;
  return name;
}

function quoteIfNeeded(field: string): string {
  return /^[!#$&'+\-.0-9A-Z^_`a-z|~:;<=>?@/,]+$/.test(field) ? field : JSON.stringify(field);
}
