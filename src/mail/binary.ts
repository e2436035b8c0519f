/**
 * BINARY[section] and BINARY.SIZE[section] (RFC 3516, RFC 9051 §6.4.5): a
 * part's body with its Content-Transfer-Encoding undone. The server decodes
 * identity encodings (none, 7bit, 8bit, binary), base64 and quoted-printable;
 * any other encoding is reported so the server answers NO [UNKNOWN-CTE].
 */
import { Readable } from 'node:stream';
import { decodedChunks, withPauses } from './decode-stream.js';
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

/**
 * How BINARY[path] is read without holding the part: the octets of the stored
 * message to read and the encoding to undo on them ('' for none).
 */
export type BinaryPlan =
  | { kind: 'ok'; start: number; end: number; encoding: '' | 'base64' | 'quoted-printable' }
  | { kind: 'missing' }
  | { kind: 'unknown-cte'; encoding: string };

/** The part's header octets, which binaryPlan needs to know its encoding; null for [] (no header needed) or no such part. */
export function binaryHeaderRange(s: MessageStructure, path: number[]): ByteRange | null {
  if (path.length === 0) return null;
  const part = resolvePart(s, path);
  return part ? { start: part.headerStart, end: part.bodyStart } : null;
}

/** The plan for BINARY[path]; `header` holds the octets of binaryHeaderRange (null for []). Decides as binarySection does. */
export function binaryPlan(s: MessageStructure, path: number[], header: Buffer | null): BinaryPlan {
  if (path.length === 0) return { kind: 'ok', start: 0, end: s.size, encoding: '' };
  const part = resolvePart(s, path);
  if (!part || !header) return { kind: 'missing' };
  const encoding = readTransferEncoding(header, headerFields(header, 0, header.length));
  if (IDENTITY.has(encoding)) return { kind: 'ok', start: part.bodyStart, end: part.end, encoding: '' };
  if (encoding === 'base64' || encoding === 'quoted-printable') return { kind: 'ok', start: part.bodyStart, end: part.end, encoding };
  return { kind: 'unknown-cte', encoding };
}

/** What one pass over the decoded octets tells before they are sent: their size, and whether [from, from+length) holds a NUL. */
export async function decodedExtent(
  source: AsyncIterable<Buffer>,
  encoding: string,
  from = 0,
  length = Number.POSITIVE_INFINITY,
): Promise<{ size: number; hasNul: boolean }> {
  let size = 0;
  let hasNul = false;
  for await (const chunk of decodedChunks(withPauses(source), encoding)) {
    if (!hasNul) {
      const a = Math.max(0, from - size);
      const b = Math.min(chunk.length, from + length - size);
      if (a < b && chunk.subarray(a, b).includes(0)) hasNul = true;
    }
    size += chunk.length;
  }
  return { size, hasNul };
}

/** The decoded octets [from, from+length) of `source` as a stream; destroying it closes `source`. */
export function decodedSlice(source: Readable, encoding: string, from = 0, length = Number.POSITIVE_INFINITY): Readable {
  async function* slice(): AsyncGenerator<Buffer> {
    let at = 0;
    try {
      for await (const chunk of decodedChunks(withPauses(source), encoding)) {
        const a = Math.max(0, from - at);
        const b = Math.min(chunk.length, from + length - at);
        at += chunk.length;
        if (a < b) yield chunk.subarray(a, b);
        if (at >= from + length) return;
      }
    } finally {
      source.destroy();
    }
  }
  const out = Readable.from(slice(), { objectMode: false });
  // Destroyed before its first read, the generator never runs its `finally`.
  out.once('close', () => source.destroy());
  return out;
}
