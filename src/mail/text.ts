/**
 * Decoded body text for SEARCH BODY/TEXT (RFC 9051 §6.4.4): text/* parts with
 * their transfer encoding (RFC 2045 §6.7, §6.8) and charset undone, walking
 * into multiparts and encapsulated messages.
 */
import { StringDecoder } from 'node:string_decoder';
import iconv from 'iconv-lite';
import { casemap } from './casemap.js';
import { TextFinder } from './find.js';
import { headerFields } from './headers.js';
import { readContentType, readTransferEncoding, type MimePart } from './parse.js';

/** Undoes a Content-Transfer-Encoding; unknown encodings are returned as they are. */
export function decodeTransfer(body: Buffer, encoding: string): Buffer {
  switch (encoding.toLowerCase()) {
    case 'base64':
      // Node skips whitespace and invalid characters in base64 input, which is the tolerance mail needs.
      return Buffer.from(body.toString('latin1'), 'base64');
    case 'quoted-printable':
      return decodeQuotedPrintable(body);
    default:
      return body;
  }
}

const SP = 0x20;
const HT = 0x09;
const CR = 0x0d;
const LF = 0x0a;
const EQUALS = 0x3d;

/** The value of a hex digit octet (either case), or -1. */
export function hexValue(c: number | undefined): number {
  if (c === undefined) return -1;
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

/**
 * RFC 2045 §6.7: "=XX" octets, soft line breaks "=" CRLF; trailing whitespace on lines dropped.
 * One pass each, linear: a regular expression for the trailing whitespace took quadratic time
 * on a long run of spaces that a line end does not follow.
 */
export function decodeQuotedPrintable(body: Buffer): Buffer {
  // Rule (3): whitespace before a line end (CRLF or LF) or at the very end is not data.
  const text = Buffer.allocUnsafe(body.length);
  let m = 0;
  for (let i = 0; i < body.length; ) {
    const c = body[i]!;
    if (c !== SP && c !== HT) {
      text[m++] = c;
      i++;
      continue;
    }
    let j = i;
    while (j < body.length && (body[j] === SP || body[j] === HT)) j++;
    const atLineEnd = j === body.length || body[j] === LF || (body[j] === CR && body[j + 1] === LF);
    if (!atLineEnd) m += body.copy(text, m, i, j);
    i = j;
  }
  const out = Buffer.allocUnsafe(m);
  let n = 0;
  for (let i = 0; i < m; i++) {
    const c = text[i]!;
    if (c === EQUALS) {
      const hi = i + 2 < m ? hexValue(text[i + 1]) : -1;
      const lo = hi === -1 ? -1 : hexValue(text[i + 2]);
      if (lo !== -1) {
        out[n++] = hi * 16 + lo;
        i += 2;
        continue;
      }
      // A soft line break, or a "=" that ends the body.
      if (i + 1 === m) continue;
      if (text[i + 1] === LF) {
        i += 1;
        continue;
      }
      if (text[i + 1] === CR && i + 2 < m && text[i + 2] === LF) {
        i += 2;
        continue;
      }
    }
    out[n++] = c;
  }
  return out.subarray(0, n);
}

/** Bytes in a charset to a string; unknown or ASCII labels fall back to UTF-8, which is what 8-bit mail usually is. */
export function decodeCharset(bytes: Buffer, charset: string | undefined): string {
  const label = (charset ?? '').trim().toLowerCase();
  if (label && label !== 'us-ascii' && label !== 'ascii' && iconv.encodingExists(label)) {
    try {
      return iconv.decode(bytes, label);
    } catch {
      // fall through to UTF-8
    }
  }
  return bytes.toString('utf8');
}

/** One piece of searchable text: a decoded text/* part, or (for TEXT) an attached message's header. */
interface TextPiece {
  bytes: Buffer;
  charset: string | undefined;
}

/** The text pieces of a message in order; each part's bytes are decoded only when the walk reaches it. */
function* textPieces(raw: Buffer, part: MimePart, nestedHeaders: boolean): Generator<TextPiece> {
  if (part.kind === 'multipart') {
    for (const child of part.children ?? []) yield* textPieces(raw, child, nestedHeaders);
    return;
  }
  if (part.kind === 'message' && part.message) {
    // An attached message's header is body text of the outer message: TEXT finds it (as Dovecot does).
    if (nestedHeaders) yield { bytes: raw.subarray(part.message.headerStart, part.message.bodyStart), charset: 'utf-8' };
    yield* textPieces(raw, part.message, nestedHeaders);
    return;
  }
  if (part.kind !== 'text') return;
  const fields = headerFields(raw, part.headerStart, part.bodyStart);
  const bytes = decodeTransfer(raw.subarray(part.bodyStart, part.end), readTransferEncoding(raw, fields));
  const charset = part.typeFromHeader ? readContentType(raw, fields)?.params['charset'] : undefined;
  yield { bytes, charset };
}

/** `nestedHeaders`: include the headers of attached messages (SEARCH TEXT), not only decoded text parts (SEARCH BODY). */
export function bodyTextOf(raw: Buffer, root: MimePart, nestedHeaders = false): string {
  const out: string[] = [];
  for (const piece of textPieces(raw, root, nestedHeaders)) out.push(decodeCharset(piece.bytes, piece.charset));
  return out.join('\n');
}

/** Decoded bytes turned into text at once when searching: bounds the strings one SEARCH builds per message. */
const SEARCH_WINDOW_BYTES = 256 * 1024;

/** A streaming decoder for `charset`, with the same fallbacks as decodeCharset. */
export function charsetDecoder(charset: string | undefined): { write(b: Buffer): string; end(): string | undefined } {
  const label = (charset ?? '').trim().toLowerCase();
  if (label && label !== 'us-ascii' && label !== 'ascii' && iconv.encodingExists(label)) {
    try {
      return iconv.getDecoder(label);
    } catch {
      // fall through to UTF-8
    }
  }
  return new StringDecoder('utf8');
}

/**
 * Whether the decoded body text (as bodyTextOf joins it) contains `needle`, compared case-insensitively
 * (`needle` already lower-cased). Text is decoded and lower-cased a window at a time and fed to a
 * streaming finder (linear whatever the needle), so a 50 MB text part never becomes one 100 MB string
 * and then another.
 */
export function bodyTextContains(raw: Buffer, root: MimePart, needle: string, nestedHeaders = false): boolean {
  const finder = new TextFinder(needle);
  if (finder.found) return true;
  // The needle comes mapped by casemap (i;unicode-casemap, RFC 5051); so is the text.
  const seen = (text: string): boolean => finder.push(casemap(text));
  let first = true;
  for (const piece of textPieces(raw, root, nestedHeaders)) {
    if (!first && seen('\n')) return true;
    first = false;
    const decoder = charsetDecoder(piece.charset);
    for (let at = 0; at < piece.bytes.length; at += SEARCH_WINDOW_BYTES) {
      if (seen(decoder.write(piece.bytes.subarray(at, at + SEARCH_WINDOW_BYTES)))) return true;
    }
    if (seen(decoder.end() ?? '')) return true;
  }
  return false;
}
