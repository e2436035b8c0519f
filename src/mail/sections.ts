/**
 * BODY[section] bytes (RFC 9051 §6.4.5), read from the raw message through
 * the offsets of a MessageStructure.
 */
import { scanHeader } from './headers.js';
import type { MessageStructure, MimePart } from './parse.js';

export type SectionText = 'HEADER' | 'TEXT' | 'MIME' | 'HEADER.FIELDS' | 'HEADER.FIELDS.NOT';

export interface SectionSpec {
  part: number[];
  text?: SectionText;
  fields?: string[];
}

const CRLF = Buffer.from('\r\n');

/**
 * Finds the part a section path names, following the rules of RFC 9051 §6.4.5:
 * a non-multipart part has only part 1 (itself), and a path that goes on past
 * a message/rfc822 part continues inside the encapsulated message.
 */
export function resolvePart(s: MessageStructure, path: number[]): MimePart | null {
  let part: MimePart | null = s.root;
  for (let i = 0; i < path.length && part; i++) {
    const num = path[i]!;
    if (!Number.isInteger(num) || num < 1) return null;
    const more = i + 1 < path.length;
    if (part.kind === 'multipart') {
      part = part.children?.[num - 1] ?? null;
    } else if (num !== 1 || (more && part.kind !== 'message')) {
      return null;
    }
    if (part && more && part.kind === 'message') part = part.message ?? null;
  }
  return part;
}

/** Octets [start, end) of the stored message. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * The octets of the stored message a section is read from, so that it can be
 * streamed (or read alone) without loading the message: for HEADER.FIELDS
 * and HEADER.FIELDS.NOT the header they pick from (then give those octets to
 * sectionBytes with `base` = start). Null when the section does not exist.
 */
export function sectionRange(s: MessageStructure, section: SectionSpec): ByteRange | null {
  const { part: path, text } = section;
  let part = path.length === 0 ? s.root : resolvePart(s, path);
  if (!part) return null;
  if (text === 'MIME') return path.length === 0 ? null : { start: part.headerStart, end: part.bodyStart };
  if (text === undefined) return path.length === 0 ? { start: 0, end: s.size } : { start: part.bodyStart, end: part.end };
  if (path.length > 0) {
    if (part.kind !== 'message' || !part.message) return null;
    part = part.message;
  }
  return text === 'TEXT' ? { start: part.bodyStart, end: part.end } : { start: part.headerStart, end: part.bodyStart };
}

/** True when a section's octets are a slice of the message (sectionRange), not built from it. */
export function isSliceSection(section: SectionSpec): boolean {
  return section.text !== 'HEADER.FIELDS' && section.text !== 'HEADER.FIELDS.NOT';
}

/**
 * The section's octets. `raw` is the message, or when `base` > 0 the octets
 * of the message from `base` on that hold the section (see sectionRange).
 */
export function sectionBytes(raw: Buffer, s: MessageStructure, section: SectionSpec, base = 0): Buffer | null {
  const { part: path, text } = section;
  let part = path.length === 0 ? s.root : resolvePart(s, path);
  if (!part) return null;
  if (text === 'MIME') {
    // RFC 9051 §6.4.5: MIME needs a part number; it is that part's own header, empty line included.
    if (path.length === 0) return null;
    return raw.subarray(part.headerStart - base, part.bodyStart - base);
  }
  if (text === undefined) {
    return path.length === 0 ? raw.subarray(0 - base, s.size - base) : raw.subarray(part.bodyStart - base, part.end - base);
  }
  if (path.length > 0) {
    // HEADER/TEXT of a part only exist for an encapsulated message.
    if (part.kind !== 'message' || !part.message) return null;
    part = part.message;
  }
  switch (text) {
    case 'HEADER':
      return raw.subarray(part.headerStart - base, part.bodyStart - base);
    case 'TEXT':
      return raw.subarray(part.bodyStart - base, part.end - base);
    case 'HEADER.FIELDS':
    case 'HEADER.FIELDS.NOT':
      return headerFields(raw, part, section.fields ?? [], text === 'HEADER.FIELDS.NOT', base);
  }
}

/**
 * The matching fields, raw and in original order (folds kept), then the empty
 * line: the "subset of the header" of RFC 9051 §6.4.5.
 */
function headerFields(raw: Buffer, part: MimePart, names: string[], exclude: boolean, base: number): Buffer {
  const wanted = new Set(names.map((n) => n.toLowerCase()));
  const block = scanHeader(raw, part.headerStart - base, part.bodyStart - base);
  const chunks: Buffer[] = [];
  for (const field of block.fields) {
    if (wanted.has(field.name.toLowerCase()) === exclude) continue;
    const bytes = raw.subarray(field.start, field.end);
    chunks.push(bytes);
    // A last field without a line end (header with no empty line) still gets one.
    if (bytes[bytes.length - 1] !== 0x0a) chunks.push(CRLF);
  }
  chunks.push(CRLF);
  return Buffer.concat(chunks);
}
