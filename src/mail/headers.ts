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

/**
 * Octets of a field value that ENVELOPE, BODYSTRUCTURE, sort keys, PREVIEW
 * and SEARCH HEADER read (counted from the colon, folds included). Real fields
 * are far shorter (RFC 5322 §2.1.1 lines are at most 998 octets; a long
 * References or To folds to a few KB); a hostile 50 MB one-line header costs
 * no more than this to interpret. The field's raw bytes stay exact for
 * BODY[HEADER] and BODY[HEADER.FIELDS], which are served from offsets.
 */
export const MAX_FIELD_VALUE_OCTETS = 64 * 1024;

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
 * A field name is looked for in the first octets of a line only: a line is at
 * most 998 octets (RFC 5322 §2.1.1), so a colon further on does not end a
 * field name, and a 50 MB line without a colon costs no more than a short one.
 */
export const MAX_FIELD_NAME_OCTETS = 998;

/**
 * Header fields that ENVELOPE, BODYSTRUCTURE, sort keys, PREVIEW and SEARCH
 * HEADER look at, per header: the first this many. Real mail has tens, a long
 * Received chain a few hundred; 500,000 To: lines are not read 500,000 times.
 * BODY[HEADER] and BODY[HEADER.FIELDS] are served from all fields.
 */
export const MAX_HEADER_FIELDS = 1000;

/**
 * Scans the header that starts at `start`, not looking past `limit`.
 * The header ends at the first empty line (RFC 5322 §2.1); with no empty line
 * everything up to `limit` is header and the body is empty. Only the first
 * `maxFields` fields are returned; the header's end is found all the same.
 */
export function scanHeader(raw: Buffer, start: number, limit: number, maxFields = Number.POSITIVE_INFINITY): HeaderBlock {
  return scan(raw, start, limit, maxFields, false);
}

function scan(raw: Buffer, start: number, limit: number, maxFields: number, stopAtMax: boolean): HeaderBlock {
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
    } else if (fields.length >= maxFields) {
      // Past the last field wanted: only the header's end is still looked for, unless the caller needs no end.
      if (stopAtMax) return { fields, fieldsEnd: pos, bodyStart: pos };
      current = null;
    } else {
      // Search only the start of this line, so long colon-less lines cannot make the scan quadratic.
      const searchEnd = Math.min(contentEnd, pos + MAX_FIELD_NAME_OCTETS);
      let colon = pos;
      while (colon < searchEnd && raw[colon] !== COLON) colon++;
      if (colon < searchEnd) {
        // Trailing whitespace before the colon is not part of the name (obs-optional, RFC 5322 §4.5).
        let nameEnd = colon;
        while (nameEnd > pos && (raw[nameEnd - 1] === SP || raw[nameEnd - 1] === HT)) nameEnd--;
        current = { name: raw.toString('latin1', pos, nameEnd), start: pos, valueStart: colon + 1, end: next };
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

/** The last header scanned by headerFields: summarize() reads the top-level header from several places. */
let lastScan: { raw: WeakRef<Buffer>; start: number; limit: number; fields: HeaderField[] } | null = null;

/**
 * The fields of the header `start..limit` that derived data is computed from
 * (the first MAX_HEADER_FIELDS). The answer is shared with the next caller
 * asking for the same header of the same Buffer: treat it as read-only.
 */
export function headerFields(raw: Buffer, start: number, limit: number): HeaderField[] {
  if (lastScan && lastScan.start === start && lastScan.limit === limit && lastScan.raw.deref() === raw) return lastScan.fields;
  const fields = scan(raw, start, limit, MAX_HEADER_FIELDS, true).fields;
  lastScan = { raw: new WeakRef(raw), start, limit, fields };
  return fields;
}

/**
 * The raw value bytes of a field: folds removed (RFC 5322 §2.2.3), surrounding
 * whitespace trimmed. Only the first MAX_FIELD_VALUE_OCTETS of the value are
 * read, so a hostile field costs a bounded amount of work.
 */
export function unfoldedValue(raw: Buffer, field: HeaderField, maxOctets = MAX_FIELD_VALUE_OCTETS): Buffer {
  const end = Math.min(field.end, field.valueStart + maxOctets);
  const bytes = Buffer.allocUnsafe(Math.max(0, end - field.valueStart));
  let n = 0;
  for (let i = field.valueStart; i < end; i++) {
    const c = raw[i]!;
    if (c !== CR && c !== LF) bytes[n++] = c;
  }
  let a = 0;
  let b = n;
  while (a < b && (bytes[a] === SP || bytes[a] === HT)) a++;
  while (b > a && (bytes[b - 1] === SP || bytes[b - 1] === HT)) b--;
  return Buffer.from(bytes.subarray(a, b));
}

/**
 * Header octets one message's derived data (MIME structure, BODYSTRUCTURE and
 * the ENVELOPEs of attached messages) interprets in full, summed over all its
 * parts. Real mail uses a few KB; a message of 10,000 parts each with a 5 KB
 * Content-Type, or 5,000 attached messages each with a 5 KB To:, would
 * otherwise cost seconds and a summary twice its size.
 */
export const MESSAGE_HEADER_BUDGET_OCTETS = 512 * 1024;

/**
 * Past the budget, the fields that decide the structure (Content-Type,
 * Content-Transfer-Encoding) are read up to this many octets: the type, the
 * subtype and a boundary are at their start. Every other field is then left
 * out (NIL in BODYSTRUCTURE and ENVELOPE).
 */
export const OVER_BUDGET_FIELD_OCTETS = 256;

/** The header octets left to one message (MESSAGE_HEADER_BUDGET_OCTETS); spent in the order parts are read, so the answer is the same on every run. */
export class HeaderBudget {
  private used = 0;

  constructor(private readonly total = MESSAGE_HEADER_BUDGET_OCTETS) {}

  private read(raw: Buffer, field: HeaderField, maxOctets: number): Buffer {
    this.used += Math.max(0, Math.min(field.end, field.valueStart + maxOctets) - field.valueStart);
    return unfoldedValue(raw, field, maxOctets);
  }

  /** True once the budget is spent. */
  get spent(): boolean {
    return this.used >= this.total;
  }

  /** A field that decides the structure: in full while the budget lasts, then its first OVER_BUDGET_FIELD_OCTETS. */
  structural(raw: Buffer, field: HeaderField): Buffer {
    return this.read(raw, field, this.used < this.total ? MAX_FIELD_VALUE_OCTETS : OVER_BUDGET_FIELD_OCTETS);
  }

  /** A descriptive field: in full while the budget lasts, then null (read as absent). */
  descriptive(raw: Buffer, field: HeaderField): Buffer | null {
    return this.used < this.total ? this.read(raw, field, MAX_FIELD_VALUE_OCTETS) : null;
  }
}

/**
 * `value.replace(/\(.*$/, '')` in linear time: the text before a trailing comment
 * (as in `Content-Transfer-Encoding: base64 (comment)`). `.` stops at line
 * terminators, so the expression matches from the first "(" after the last one;
 * it retried from every "(" before it.
 */
export function beforeTrailingComment(value: string): string {
  let from = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 0x0a || c === 0x0d || c === 0x2028 || c === 0x2029) from = i + 1;
  }
  const open = value.indexOf('(', from);
  return open === -1 ? value : value.slice(0, open);
}

/** First field with the given name (case-insensitive), or undefined. */
export function findField(fields: HeaderField[], name: string): HeaderField | undefined {
  const lower = name.toLowerCase();
  // The length check first: a header of 500,000 fields is searched without lowercasing each name.
  return fields.find((f) => f.name.length === lower.length && f.name.toLowerCase() === lower);
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

/**
 * Counts LF octets, the line count IMAP reports for text parts (as Dovecot
 * does). indexOf skips fast over long lines; where line ends come close
 * together a plain loop counts the next stretch, so a body of bare LFs costs
 * a few ns an octet instead of a call per octet.
 */
export function countLines(raw: Buffer, start: number, end: number): number {
  let n = 0;
  let pos = start;
  while (pos < end) {
    const lf = raw.indexOf(LF, pos);
    if (lf === -1 || lf >= end) break;
    n++;
    if (lf - pos < 32) {
      const stop = Math.min(end, lf + 1 + 4096);
      for (let i = lf + 1; i < stop; i++) if (raw[i] === LF) n++;
      pos = stop;
    } else {
      pos = lf + 1;
    }
  }
  return n;
}
