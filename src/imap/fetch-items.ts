/**
 * One FETCH data item (RFC 9051 §7.5.2) from the message metadata, its stored
 * summary and, only for items that need the bytes, the raw message.
 * ENVELOPE, BODY, BODYSTRUCTURE and PREVIEW come from the summary computed at
 * ingest, so they never read or parse the message.
 */
import type { Readable } from 'node:stream';
import type { MailDomain } from '../domain/mail-domain.js';
import {
  binaryHeaderRange,
  binaryPlan,
  binaryRange,
  binarySection,
  decodedExtent,
  decodedSlice,
  type BinaryPlan,
  isSliceSection,
  sectionBytes,
  sectionRange,
  type ByteRange,
  type MessageStructure,
  type MessageSummary,
} from '../mail/index.js';
import { formatDateTime } from '../protocol/imap/datetime.js';
import type { FetchAttribute, ImapValue, Partial, Section } from '../protocol/imap/types.js';
import type { MessageMeta } from '../store/types.js';
import { flagAtoms } from './flags.js';
import type { SummaryItems } from './summary-items.js';

/** Items that need the message bytes; the others are answered from metadata and the summary. */
export const NEEDS_BYTES = new Set<FetchAttribute['kind']>(['RFC822', 'RFC822.HEADER', 'RFC822.TEXT', 'BODY[]', 'BINARY[]', 'BINARY.SIZE']);
/** Items answered from the stored summary. */
export const NEEDS_SUMMARY = new Set<FetchAttribute['kind']>(['ENVELOPE', 'BODYSTRUCTURE', 'BODY', 'PREVIEW', ...NEEDS_BYTES]);

/**
 * Whether the item needs the parsed summary. The whole message (BODY[],
 * BODY.PEEK[], RFC822) is octets 0 to the message size, known from the
 * metadata: a full download parses no summary.
 */
export function needsParsedSummary(attr: FetchAttribute): boolean {
  if (attr.kind === 'RFC822') return false;
  if (attr.kind === 'BODY[]') return attr.section.part.length > 0 || attr.section.text !== undefined;
  return NEEDS_SUMMARY.has(attr.kind);
}

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
}

/** The message bytes were removed (expunged by another session) while the FETCH ran. */
export const GONE = Symbol('gone');

/**
 * An item of NEEDS_BYTES. Slices of the message (BODY[], partials, HEADER,
 * TEXT, parts, MIME, RFC822*) are not read here: a stream over their range
 * is opened and sent as a deferred literal, which the session writes with
 * the socket's backpressure. HEADER.FIELDS reads only the header it picks
 * from; BINARY reads only the part it decodes (decoding needs the octets).
 */
export async function fetchBytesItem(
  attr: FetchAttribute,
  meta: MessageMeta,
  structure: MessageStructure | null,
  domain: MailDomain,
): Promise<[string, ImapValue] | typeof GONE> {
  // Null only for the items needsParsedSummary() exempts: whole-message reads.
  if (!structure) {
    if (attr.kind === 'RFC822') return streamed('RFC822', meta, domain, { start: 0, end: meta.size });
    if (attr.kind === 'BODY[]' && !needsParsedSummary(attr)) {
      const range = { start: 0, end: meta.size };
      if (!attr.partial) return streamed('BODY[]', meta, domain, range);
      const start = Math.min(attr.partial.offset, range.end);
      return streamed(`BODY[]<${attr.partial.offset}>`, meta, domain, { start, end: Math.min(start + attr.partial.length, range.end) });
    }
    throw new TypeError(`${attr.kind} needs the message structure`);
  }
  switch (attr.kind) {
    case 'RFC822':
      return streamed('RFC822', meta, domain, { start: 0, end: structure.size });
    case 'RFC822.HEADER':
    case 'RFC822.TEXT': {
      const text = attr.kind === 'RFC822.HEADER' ? 'HEADER' : 'TEXT';
      return streamed(attr.kind, meta, domain, sectionRange(structure, { part: [], text }) ?? { start: 0, end: 0 });
    }
    case 'BODY[]': {
      const name = `BODY[${sectionName(attr.section)}]`;
      const range = sectionRange(structure, attr.section);
      if (!range) return withPartial(name, null, attr.partial);
      if (isSliceSection(attr.section)) {
        if (!attr.partial) return streamed(name, meta, domain, range);
        // RFC 9051 §6.4.5: a partial fetch answers with the origin only, e.g. BODY[]<0>.
        const start = Math.min(range.start + attr.partial.offset, range.end);
        const end = Math.min(start + attr.partial.length, range.end);
        return streamed(`${name}<${attr.partial.offset}>`, meta, domain, { start, end });
      }
      const header = await domain.readBodyRange(meta, range.start, range.end);
      if (!header) return GONE;
      return withPartial(name, sectionBytes(header, structure, attr.section, range.start), attr.partial);
    }
    case 'BINARY[]': {
      if (largePart(structure, attr.section)) {
        return streamedBinary(`BINARY[${attr.section.part.join('.')}]`, meta, structure, attr.section, attr.partial, domain);
      }
      const data = await binaryData(meta, structure, attr.section, domain);
      if (data === GONE) return GONE;
      const [itemName, value] = withPartial(`BINARY[${attr.section.part.join('.')}]`, data, attr.partial);
      // RFC 3516 §4.2 / RFC 9051 §7.5.2: data with NUL octets must go as literal8.
      return [itemName, Buffer.isBuffer(value) && value.includes(0) ? { literal8: value } : value];
    }
    case 'BINARY.SIZE': {
      const name = `BINARY.SIZE[${attr.section.part.join('.')}]`;
      // The whole message has no encoding to undo: its size needs no read.
      if (attr.section.part.length === 0) return [name, structure.size];
      if (largePart(structure, attr.section)) {
        const plan = await planBinary(meta, structure, attr.section, domain);
        if (plan === GONE || plan.kind === 'missing') return plan === GONE ? GONE : [name, 0];
        if (plan.encoding === '') return [name, plan.end - plan.start];
        const source = await domain.openBody(meta, plan.start, plan.end);
        return source ? [name, (await decodedExtent(source, plan.encoding)).size] : GONE;
      }
      const data = await binaryData(meta, structure, attr.section, domain);
      return data === GONE ? GONE : [name, data?.length ?? 0];
    }
    default:
      throw new TypeError(`${attr.kind} needs no message bytes`);
  }
}

/**
 * Octets of a message up to this size are read at once and sent as a plain
 * literal, which the FETCH batch joins with its neighbours into one large
 * write; those of a larger one are streamed.
 */
const WHOLE_READ_MAX_OCTETS = 128 * 1024;

/** A literal of the range's octets: read now from a small message, else streamed from the store when the response is written. */
async function streamed(name: string, meta: MessageMeta, domain: MailDomain, range: ByteRange): Promise<[string, ImapValue] | typeof GONE> {
  const length = Math.max(0, range.end - range.start);
  if (length === 0) return [name, Buffer.alloc(0)];
  if (meta.size <= WHOLE_READ_MAX_OCTETS) {
    // The whole message in one file read; a part of it as a range (its bytes only).
    const bytes = range.start === 0 && range.end >= meta.size ? await domain.readBody(meta) : await domain.readBodyRange(meta, range.start, range.end);
    return bytes ? [name, bytes] : GONE;
  }
  const stream: Readable | null = await domain.openBody(meta, range.start, range.end);
  return stream ? [name, { deferred: { length, source: stream } }] : GONE;
}

/**
 * The decoded part (the message itself for BINARY[]), or null when there is no such part.
 * Only the part's octets are read; base64 and quoted-printable are decoded in memory.
 */
async function binaryData(meta: MessageMeta, structure: MessageStructure, section: Section, domain: MailDomain): Promise<Buffer | null | typeof GONE> {
  const range = binaryRange(structure, section.part);
  if (!range) return null;
  const octets = await domain.readBodyRange(meta, range.start, range.end);
  if (!octets) return GONE;
  const result = binarySection(octets, structure, section.part, range.start);
  if (result.kind === 'unknown-cte') throw new UnknownCteError(result.encoding);
  return result.kind === 'ok' ? result.data : null;
}

/** A part (or message) this large is decoded as a stream for BINARY, never held: smaller ones are read and decoded at once. */
function largePart(structure: MessageStructure, section: Section): boolean {
  const range = binaryRange(structure, section.part);
  return range !== null && range.end - range.start > WHOLE_READ_MAX_OCTETS;
}

/** Where BINARY[section] reads and what it undoes; only the part's header is read. Throws UnknownCteError as binaryData does. */
async function planBinary(
  meta: MessageMeta,
  structure: MessageStructure,
  section: Section,
  domain: MailDomain,
): Promise<Exclude<BinaryPlan, { kind: 'unknown-cte' }> | typeof GONE> {
  const headerRange = binaryHeaderRange(structure, section.part);
  const header = headerRange ? await domain.readBodyRange(meta, headerRange.start, headerRange.end) : null;
  if (headerRange && !header) return GONE;
  const plan = binaryPlan(structure, section.part, header);
  if (plan.kind === 'unknown-cte') throw new UnknownCteError(plan.encoding);
  return plan;
}

/**
 * BINARY[section]<partial> of a large part as a deferred literal: a first pass over the decoded octets
 * finds their size and whether they hold a NUL (RFC 3516 §4.2: then a literal8), which the literal's
 * prefix needs before any octet goes; the second, opened first so an expunge meanwhile cannot take the
 * octets away, is decoded as the session writes it with the socket's backpressure.
 */
async function streamedBinary(
  name: string,
  meta: MessageMeta,
  structure: MessageStructure,
  section: Section,
  partial: Partial | undefined,
  domain: MailDomain,
): Promise<[string, ImapValue] | typeof GONE> {
  const plan = await planBinary(meta, structure, section, domain);
  if (plan === GONE) return GONE;
  if (plan.kind === 'missing') return withPartial(name, null, partial);
  const itemName = partial ? `${name}<${partial.offset}>` : name;
  const from = partial?.offset ?? 0;
  const length = partial?.length ?? Number.POSITIVE_INFINITY;
  // Undecoded octets are sliced by range; decoded ones are sliced after decoding.
  const start = plan.encoding === '' ? Math.min(plan.start + from, plan.end) : plan.start;
  const end = plan.encoding === '' ? Math.min(start + length, plan.end) : plan.end;
  const sending = await domain.openBody(meta, start, end);
  if (!sending) return GONE;
  let extent: { size: number; hasNul: boolean };
  try {
    const scanning = await domain.openBody(meta, start, end);
    if (!scanning) {
      sending.destroy();
      return GONE;
    }
    extent = plan.encoding === '' ? await decodedExtent(scanning, '') : await decodedExtent(scanning, plan.encoding, from, length);
  } catch (err) {
    sending.destroy();
    throw err;
  }
  const size = plan.encoding === '' ? extent.size : Math.max(0, Math.min(extent.size, from + length) - from);
  if (size === 0) {
    sending.destroy();
    return [itemName, Buffer.alloc(0)];
  }
  const source = plan.encoding === '' ? sending : decodedSlice(sending, plan.encoding, from, length);
  return [itemName, { deferred: { length: size, literal8: extent.hasNul, source } }];
}

export function fetchItem(attr: FetchAttribute, src: FetchSource): [string, ImapValue] {
  const { meta } = src;
  const s = src.summary!;
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
      return ['ENVELOPE', src.items ? wire(src.items.envelope) : (s.envelope as ImapValue)];
    case 'BODYSTRUCTURE':
      return ['BODYSTRUCTURE', src.items ? wire(src.items.bodyStructure) : (s.bodyStructure as ImapValue)];
    case 'BODY':
      return ['BODY', src.items ? wire(src.items.body) : (s.body as ImapValue)];
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
    case 'RFC822.HEADER':
    case 'RFC822.TEXT':
    case 'BODY[]':
    case 'BINARY[]':
    case 'BINARY.SIZE':
      throw new TypeError(`${attr.kind} needs the message bytes: fetchBytesItem`);
    case 'MODSEQ':
      // RFC 7162 §3.1.4.1: a parenthesised list of one mod-sequence value.
      return ['MODSEQ', [meta.modSeq]];
  }
}

/** An item kept in wire form (summary-items.ts: latin1, one character per octet). */
function wire(text: string): ImapValue {
  return { encoded: Buffer.from(text, 'latin1') };
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
