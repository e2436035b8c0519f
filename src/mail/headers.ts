/**
 * Header block scanning with exact octet offsets (RFC 5322 §2.2, §3.2.2).
 *
 * Works on the raw bytes: a field's span covers its name, value and every
 * folded continuation line including the final line terminator, so
 * BODY[HEADER.FIELDS (...)] can return it byte for byte. Both CRLF and bare LF
 * line ends are accepted, since stored mail is not always canonical.
 */
import libmime from 'libmime';

const LF = 0x0a;
const CR = 0x0d;
const SP = 0x20;
const HT = 0x09;
const COLON = 0x3a;

/** One header field: `start..end` is the raw field including folds and its line end. */
export interface HeaderField {
  /** Field name as written, without trailing whitespace. */
  name: string;
  start: number;
  /** First byte after the colon. */
  valueStart: number;
  /** Just past the last line terminator of the field (or the header end when unterminated). */
  end: number;
}

export interface HeaderBlock {
  fields: HeaderField[];
  /** Where the empty line begins (equals `bodyStart` when the header has no empty line). */
  fieldsEnd: number;
  /** First body byte: just after the empty line, or `limit` when there is none. */
  bodyStart: number;
}

/**
 * Scans the header that starts at `start`, not looking past `limit`.
 * The header ends at the first empty line (RFC 5322 §2.1); with no empty line
 * everything up to `limit` is header and the body is empty.
 */
export function scanHeader(raw: Buffer, start: number, limit: number): HeaderBlock {
  const fields: HeaderField[] = [];
  let current: HeaderField | null = null;
  let pos = start;
  while (pos < limit) {
    const lf = raw.indexOf(LF, pos);
    const terminated = lf !== -1 && lf < limit;
    const next = terminated ? lf + 1 : limit;
    let contentEnd = terminated ? lf : limit;
    if (terminated && contentEnd > pos && raw[contentEnd - 1] === CR) contentEnd--;
    if (contentEnd === pos) {
      // The empty line: CRLF CRLF, or LF LF in a bare-LF message. It belongs to the header.
      return { fields, fieldsEnd: pos, bodyStart: next };
    }
    const first = raw[pos];
    if (first === SP || first === HT) {
      // Folded continuation (RFC 5322 §2.2.3); a stray one before any field is kept out of every field.
      if (current) current.end = next;
    } else {
      // Search only this line, so a long colon-less line cannot make the scan quadratic.
      const at = raw.subarray(pos, contentEnd).indexOf(COLON);
      const colon = at === -1 ? -1 : pos + at;
      if (colon !== -1) {
        current = { name: raw.toString('latin1', pos, colon).replace(/[ \t]+$/, ''), start: pos, valueStart: colon + 1, end: next };
        fields.push(current);
      } else {
        // Not a field (an mbox "From " line, garbage): it belongs to no field.
        current = null;
      }
    }
    pos = next;
  }
  return { fields, fieldsEnd: limit, bodyStart: limit };
}

/** The raw value bytes of a field: folds removed (RFC 5322 §2.2.3), surrounding whitespace trimmed. */
export function unfoldedValue(raw: Buffer, field: HeaderField): Buffer {
  const bytes: number[] = [];
  for (let i = field.valueStart; i < field.end; i++) {
    const c = raw[i]!;
    if (c === CR || c === LF) continue;
    bytes.push(c);
  }
  let a = 0;
  let b = bytes.length;
  while (a < b && (bytes[a] === SP || bytes[a] === HT)) a++;
  while (b > a && (bytes[b - 1] === SP || bytes[b - 1] === HT)) b--;
  return Buffer.from(bytes.slice(a, b));
}

/** First field with the given name (case-insensitive), or undefined. */
export function findField(fields: HeaderField[], name: string): HeaderField | undefined {
  const lower = name.toLowerCase();
  return fields.find((f) => f.name.toLowerCase() === lower);
}

/** Unfolded value of the first field with that name, as a byte-preserving latin1 string, or null. */
export function fieldLatin1(raw: Buffer, fields: HeaderField[], name: string): string | null {
  const field = findField(fields, name);
  return field ? unfoldedValue(raw, field).toString('latin1') : null;
}

/** Unfolded value decoded for display: 8-bit bytes as UTF-8 (RFC 6532), RFC 2047 words decoded. */
export function decodedValue(raw: Buffer, field: HeaderField): string {
  const text = unfoldedValue(raw, field).toString('utf8');
  try {
    return libmime.decodeWords(text);
  } catch {
    return text;
  }
}

/**
 * A byte string for an IMAP response: plain string when 7-bit, otherwise the
 * original bytes as a Buffer so the encoder can send a literal unchanged.
 */
export function imapString(latin1: string): string | Buffer {
  // eslint-disable-next-line no-control-regex
  return /[^\x00-\x7f]/.test(latin1) ? Buffer.from(latin1, 'latin1') : latin1;
}

/** Counts LF octets, the line count IMAP reports for text parts (as Dovecot does). */
export function countLines(raw: Buffer, start: number, end: number): number {
  let n = 0;
  let pos = start;
  while (pos < end) {
    const lf = raw.indexOf(LF, pos);
    if (lf === -1 || lf >= end) break;
    n++;
    pos = lf + 1;
  }
  return n;
}
