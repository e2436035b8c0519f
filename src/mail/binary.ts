/**
 * BINARY[section] and BINARY.SIZE[section] (RFC 3516, RFC 9051 §6.4.5): a
 * part's body with its Content-Transfer-Encoding undone. The server decodes
 * identity encodings (none, 7bit, 8bit, binary), base64 and quoted-printable;
 * any other encoding is reported so the server answers NO [UNKNOWN-CTE].
 */
import { headerFields } from './headers.js';
import { readTransferEncoding, type MessageStructure } from './parse.js';
import { resolvePart, type ByteRange } from './sections.js';
import { decodeTransfer } from './text.js';

export type BinaryResult =
  | { kind: 'ok'; data: Buffer }
  /** No such part (the FETCH answers NIL, as for BODY[...]). */
  | { kind: 'missing' }
  /** RFC 3516 §4.3: the encoding is not one the server can undo. */
  | { kind: 'unknown-cte'; encoding: string };

const IDENTITY = new Set(['', '7bit', '8bit', 'binary']);

/** The octets binarySection reads for `path` (the part's header and body; the message for []), or null when there is no such part. */
export function binaryRange(s: MessageStructure, path: number[]): ByteRange | null {
  if (path.length === 0) return { start: 0, end: s.size };
  const part = resolvePart(s, path);
  return part ? { start: part.headerStart, end: part.end } : null;
}

/** `raw` is the message, or when `base` > 0 the octets from `base` on that hold the part (binaryRange). */
export function binarySection(raw: Buffer, s: MessageStructure, path: number[], base = 0): BinaryResult {
  // RFC 3516 §4.1: an empty section is the whole message, which has no encoding of its own to undo.
  if (path.length === 0) return { kind: 'ok', data: raw.subarray(0 - base, s.size - base) };
  const part = resolvePart(s, path);
  if (!part) return { kind: 'missing' };
  const fields = headerFields(raw, part.headerStart - base, part.bodyStart - base);
  const encoding = readTransferEncoding(raw, fields);
  const body = raw.subarray(part.bodyStart - base, part.end - base);
  if (IDENTITY.has(encoding)) return { kind: 'ok', data: body };
  if (encoding === 'base64' || encoding === 'quoted-printable') return { kind: 'ok', data: decodeTransfer(body, encoding) };
  return { kind: 'unknown-cte', encoding };
}
