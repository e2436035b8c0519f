/**
 * One FETCH data item (RFC 9051 §7.5.2) from the message metadata, its stored
 * summary and, only for items that need the bytes, the raw message.
 * ENVELOPE, BODY, BODYSTRUCTURE and PREVIEW come from the summary computed at
 * ingest, so they never read or parse the message.
 */
import { binarySection, sectionBytes, type MessageSummary } from '../mail/index.js';
import { formatDateTime } from '../protocol/imap/datetime.js';
import type { FetchAttribute, ImapValue, Partial, Section } from '../protocol/imap/types.js';
import type { MessageMeta } from '../store/types.js';
import { flagAtoms } from './flags.js';
import type { LoadedMessage } from './message-loader.js';
import type { SummaryItems } from './summary-items.js';

/** Items that need the message bytes; the others are answered from metadata and the summary. */
export const NEEDS_BYTES = new Set<FetchAttribute['kind']>(['RFC822', 'RFC822.HEADER', 'RFC822.TEXT', 'BODY[]', 'BINARY[]', 'BINARY.SIZE']);
/** Items answered from the stored summary. */
export const NEEDS_SUMMARY = new Set<FetchAttribute['kind']>(['ENVELOPE', 'BODYSTRUCTURE', 'BODY', 'PREVIEW', ...NEEDS_BYTES]);

/** Summary items also kept encoded (summary-items.ts): a FETCH asking only these and metadata needs no parsed summary. */
export const ENCODED_SUMMARY_ITEMS = new Set<FetchAttribute['kind']>(['ENVELOPE', 'BODYSTRUCTURE', 'BODY']);

/** Thrown for BINARY of a part whose encoding cannot be undone: the command answers NO [UNKNOWN-CTE] (RFC 3516 §4.3). */
export class UnknownCteError extends Error {
  constructor(readonly encoding: string) {
    // The value comes from the message (anyone who can send mail): echo a short, printable prefix only.
    const shown = encoding.replace(/[^\x21-\x7e]/g, '?');
    super(`Unknown Content-Transfer-Encoding "${shown.length > 40 ? `${shown.slice(0, 40)}...` : shown}"`);
  }
}

export interface FetchSource {
  meta: MessageMeta;
  summary: MessageSummary | null;
  /** When given, ENVELOPE, BODY and BODYSTRUCTURE come from here and `summary` may be null. */
  items?: SummaryItems | null;
  message: LoadedMessage | null;
}

export function fetchItem(attr: FetchAttribute, src: FetchSource): [string, ImapValue] {
  const { meta } = src;
  const s = src.summary!;
  const m = src.message!;
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
      return ['ENVELOPE', src.items ? src.items.envelope : (s.envelope as ImapValue)];
    case 'BODYSTRUCTURE':
      return ['BODYSTRUCTURE', src.items ? src.items.bodyStructure : (s.bodyStructure as ImapValue)];
    case 'BODY':
      return ['BODY', src.items ? src.items.body : (s.body as ImapValue)];
    case 'PREVIEW':
      // RFC 8970 §3.2: the preview is computed at ingest, so LAZY never has to wait.
      return ['PREVIEW', s.preview];
    case 'EMAILID':
      return ['EMAILID', [{ atom: meta.emailId }]];
    case 'THREADID':
      // RFC 8474 §5.2: NIL when the server does not assign thread ids.
      return ['THREADID', null];
    case 'SAVEDATE':
      return ['SAVEDATE', meta.saveDate ? formatDateTime(meta.saveDate) : null];
    case 'RFC822':
      return ['RFC822', m.raw];
    case 'RFC822.HEADER':
      return ['RFC822.HEADER', sectionBytes(m.raw, m.structure, { part: [], text: 'HEADER' }) ?? Buffer.alloc(0)];
    case 'RFC822.TEXT':
      return ['RFC822.TEXT', sectionBytes(m.raw, m.structure, { part: [], text: 'TEXT' }) ?? Buffer.alloc(0)];
    case 'BODY[]': {
      const name = `BODY[${sectionName(attr.section)}]`;
      return withPartial(name, sectionBytes(m.raw, m.structure, attr.section), attr.partial);
    }
    case 'BINARY[]': {
      const name = `BINARY[${attr.section.part.join('.')}]`;
      const [itemName, data] = withPartial(name, binaryData(m, attr.section), attr.partial);
      // RFC 3516 §4.2 / RFC 9051 §7.5.2: data with NUL octets must go as literal8.
      return [itemName, Buffer.isBuffer(data) && data.includes(0) ? { literal8: data } : data];
    }
    case 'BINARY.SIZE':
      return [`BINARY.SIZE[${attr.section.part.join('.')}]`, binaryData(m, attr.section)?.length ?? 0];
    case 'MODSEQ':
      // RFC 7162 §3.1.4.1: a parenthesised list of one mod-sequence value.
      return ['MODSEQ', [meta.modSeq]];
  }
}

function binaryData(m: LoadedMessage, section: Section): Buffer | null {
  const result = binarySection(m.raw, m.structure, section.part);
  if (result.kind === 'unknown-cte') throw new UnknownCteError(result.encoding);
  return result.kind === 'ok' ? result.data : null;
}

/** RFC 9051 §6.4.5: a partial fetch answers with the origin only, e.g. BODY[]<0>. */
function withPartial(name: string, bytes: Buffer | null, partial: Partial | undefined): [string, ImapValue] {
  if (!partial) return [name, bytes];
  const data = bytes ?? Buffer.alloc(0);
  return [`${name}<${partial.offset}>`, data.subarray(partial.offset, partial.offset + partial.length)];
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
