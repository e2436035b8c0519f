/**
 * MIME structure with exact octet offsets (RFC 2045, RFC 2046 §5.1, §5.2).
 *
 * The structure is plain JSON (offsets, counts and type names) so it can be
 * stored once at ingest; every other answer (ENVELOPE, BODYSTRUCTURE, section
 * bytes) is read from the raw message through these offsets.
 */
import libmime from 'libmime';
import { beforeTrailingComment, countLines, findField, HeaderBudget, MAX_HEADER_FIELDS, scanHeader, unfoldedValue, type HeaderField } from './headers.js';
import { rawParams } from './params.js';

/** How a part is written in BODYSTRUCTURE and how sections descend into it. */
export type PartKind = 'multipart' | 'message' | 'text' | 'basic';

export interface MimePart {
  /** First byte of the part's header (for a message, its RFC 5322 header). */
  headerStart: number;
  /** Where the empty line ending the header begins; equals `bodyStart` when there is none. */
  fieldsEnd: number;
  /** First body byte, just after the empty line (or `end` when the header never ends). */
  bodyStart: number;
  /** Just past the last body byte; the CRLF before a boundary delimiter is not part of the body (RFC 2046 §5.1.1). */
  end: number;
  /** LF octets in the body: the IMAP line count. */
  lines: number;
  kind: PartKind;
  /** Media type and subtype as written in the header, or the defaults. */
  type: string;
  subtype: string;
  /** False when the type is a default (no or invalid Content-Type, or a multipart we do not descend into). */
  typeFromHeader: boolean;
  /** Multipart: the body parts, in order (possibly none). */
  children?: MimePart[];
  /** message/rfc822 or message/global: the encapsulated message (its `headerStart` is this part's `bodyStart`). */
  message?: MimePart;
}

export interface MessageStructure {
  version: 1;
  /** Octets in the raw message (RFC822.SIZE). */
  size: number;
  /** Byte offset where the top-level body starts (after the empty line). */
  bodyStart: number;
  /** Octets of BODY[HEADER], the empty line included. */
  headerLength: number;
  root: MimePart;
}

/**
 * Nesting deeper than this is not descended into, so hostile mail cannot
 * exhaust the stack: a multipart at this depth is one opaque text/plain part,
 * a message/rfc822 an opaque message part with an empty envelope and body
 * (Dovecot's message parser allows 100, MESSAGE_PARSER_DEFAULT_MAX_NESTED_MIME_PARTS;
 * real mail nests a few levels).
 */
export const MAX_MIME_DEPTH = 50;

/**
 * Parts (the message itself, body parts and encapsulated messages) one message
 * may have; Dovecot's message parser stops at 10,000 too
 * (MESSAGE_PARSER_DEFAULT_MAX_TOTAL_MIME_PARTS).
 * Like Dovecot, once the budget is spent no further boundaries are looked for:
 * the multipart being split ends with a last part that runs to the end of its
 * body (the delimiters after it included), a multipart met later is one opaque
 * text/plain part, and a message/rfc822 met later an opaque message part. So
 * BODYSTRUCTURE and BODY[section] stay valid and agree with each other.
 */
export const MAX_MIME_PARTS = 10_000;

/**
 * Content-Type values up to this many octets are read by libmime as they are
 * (every real one: a long RFC 2231 file name is under 1 KB). libmime costs
 * about 1 µs an octet, so a longer value is first cut down, in linear time, to
 * its type and the parameters the server reads (boundary, charset), each
 * shortened to this length too; BODYSTRUCTURE lists all parameters (params.ts).
 */
export const CONTENT_TYPE_LIBMIME_OCTETS = 1024;
const USED_PARAMS = /^(boundary|charset)(\*|$)/;
const MAX_USED_PARAMS = 64;

function essentialContentType(value: string): string {
  const semicolon = value.indexOf(';');
  let out = value.slice(0, Math.min(semicolon === -1 ? value.length : semicolon, CONTENT_TYPE_LIBMIME_OCTETS));
  let kept = 0;
  for (const { key, value: param } of rawParams(value)) {
    if (!USED_PARAMS.test(key)) continue;
    if (++kept > MAX_USED_PARAMS) break;
    out += `; ${key}="${param.slice(0, CONTENT_TYPE_LIBMIME_OCTETS).replace(/["\\]/g, '\\$&')}"`;
  }
  return out;
}

export interface ContentType {
  type: string;
  subtype: string;
  params: Record<string, string>;
  /** Parameter names that came from RFC 2231 encoded or continued segments (already decoded). */
  decodedParams: string[];
}

/** The first Content-Type field parsed, or null when absent or without a "type/subtype". */
export function readContentType(raw: Buffer, fields: HeaderField[], budget?: HeaderBudget): ContentType | null {
  const field = findField(fields, 'Content-Type');
  if (!field) return null;
  let parsed: { value: string; params: Record<string, string>; decodedParams?: string[] };
  try {
    const value = (budget ? budget.structural(raw, field) : unfoldedValue(raw, field)).toString('utf8');
    // Past the message's header budget only the type and the parameters the server reads are parsed.
    const input = value.length > CONTENT_TYPE_LIBMIME_OCTETS || budget?.spent ? essentialContentType(value) : value;
    parsed = libmime.parseHeaderValue(input, { stripComments: true });
  } catch {
    return null; // hostile parameter syntax: treat as no Content-Type at all
  }
  const slash = parsed.value.indexOf('/');
  if (slash <= 0) return null;
  const type = parsed.value.slice(0, slash).trim();
  const subtype = parsed.value.slice(slash + 1).trim();
  if (!type || !subtype || /\s/.test(type) || /\s/.test(subtype)) return null;
  return { type, subtype, params: parsed.params, decodedParams: parsed.decodedParams ?? [] };
}

/** Lowercased Content-Transfer-Encoding token, or '' when absent. */
export function readTransferEncoding(raw: Buffer, fields: HeaderField[], budget?: HeaderBudget): string {
  const field = findField(fields, 'Content-Transfer-Encoding');
  if (!field) return '';
  return beforeTrailingComment((budget ? budget.structural(raw, field) : unfoldedValue(raw, field)).toString('latin1')).trim().toLowerCase();
}

export function parseMessage(raw: Buffer): MessageStructure {
  const walk: Walk = { raw, parts: 1, budget: new HeaderBudget() };
  const root = parsePart(walk, 0, raw.length, 0, false);
  return { version: 1, size: raw.length, bodyStart: root.bodyStart, headerLength: root.bodyStart, root };
}

/**
 * The message as one opaque text/plain body under its top-level header: the
 * structure a summary falls back to when the full one is too large
 * (summary.ts) or could not be computed. Sections, BODYSTRUCTURE and FETCH
 * BODY[] stay valid and agree with each other; only the inner parts are not
 * addressable.
 */
export function opaqueMessage(raw: Buffer): MessageStructure {
  const block = scanHeader(raw, 0, raw.length, 0);
  const root: MimePart = {
    headerStart: 0,
    fieldsEnd: block.fieldsEnd,
    bodyStart: block.bodyStart,
    end: raw.length,
    lines: countLines(raw, block.bodyStart, raw.length),
    kind: 'text',
    type: 'text',
    subtype: 'plain',
    typeFromHeader: false,
  };
  return { version: 1, size: raw.length, bodyStart: root.bodyStart, headerLength: root.bodyStart, root };
}

/** One message being parsed: its bytes, the parts made so far (MAX_MIME_PARTS) and the header octets left to read. */
interface Walk {
  raw: Buffer;
  parts: number;
  budget: HeaderBudget;
}

function parsePart(walk: Walk, start: number, end: number, depth: number, inDigest: boolean): MimePart {
  const raw = walk.raw;
  const block = scanHeader(raw, start, end, MAX_HEADER_FIELDS);
  const part: MimePart = {
    headerStart: start,
    fieldsEnd: block.fieldsEnd,
    bodyStart: block.bodyStart,
    end,
    lines: 0, // set below, from the children's counts where there are children
    kind: 'text',
    type: 'text',
    subtype: 'plain',
    typeFromHeader: false,
  };
  const ct = readContentType(raw, block.fields, walk.budget);
  if (ct) {
    part.type = ct.type;
    part.subtype = ct.subtype;
    part.typeFromHeader = true;
  } else if (inDigest) {
    // RFC 2046 §5.1.5: in multipart/digest the default is message/rfc822.
    part.type = 'message';
    part.subtype = 'rfc822';
  }
  const type = part.type.toLowerCase();
  const subtype = part.subtype.toLowerCase();
  const deepEnough = depth >= MAX_MIME_DEPTH;
  const partsLeft = MAX_MIME_PARTS - walk.parts;

  if (type === 'multipart') {
    const boundary = ct?.params['boundary'];
    if (!boundary || deepEnough || partsLeft <= 0) {
      // No boundary (or too deep): one opaque text/plain body, the RFC 2045 §5.2 default for an
      // unusable Content-Type (Dovecot shows an empty multipart instead; docs/compatibility.md C11).
      part.type = 'text';
      part.subtype = 'plain';
      part.typeFromHeader = false;
      part.lines = countLines(raw, part.bodyStart, end);
      return part;
    }
    part.kind = 'multipart';
    const ranges = splitMultipart(raw, part.bodyStart, end, Buffer.from(boundary, 'utf8'), partsLeft);
    // The children are counted before any is descended into, so a sibling's parts cannot overdraw the budget.
    walk.parts += ranges.length;
    part.children = ranges.map(([s, e]) => parsePart(walk, s, e, depth + 1, subtype === 'digest'));
    part.lines = linesAround(raw, part.bodyStart, end, part.children);
    return part;
  }
  if (type === 'message' && (subtype === 'rfc822' || subtype === 'global') && !deepEnough && partsLeft > 0) {
    // An encoded message/rfc822 is not allowed (RFC 2046 §5.2.1); shown as an opaque part, as Dovecot does.
    const cte = readTransferEncoding(raw, block.fields, walk.budget);
    if (cte === '' || cte === '7bit' || cte === '8bit' || cte === 'binary') {
      part.kind = 'message';
      walk.parts++;
      part.message = parsePart(walk, part.bodyStart, end, depth + 1, false);
      part.lines = countLines(raw, part.message.headerStart, part.message.bodyStart) + part.message.lines;
      return part;
    }
  }
  part.kind = type === 'text' ? 'text' : 'basic';
  part.lines = countLines(raw, part.bodyStart, end);
  return part;
}

/**
 * LF count of `start..end` given its children's: only the octets outside the
 * children's bodies are counted here, so each octet is counted once however
 * deep the nesting (not once per level).
 */
function linesAround(raw: Buffer, start: number, end: number, children: MimePart[]): number {
  let n = 0;
  let pos = start;
  for (const child of children) {
    n += countLines(raw, pos, child.bodyStart) + child.lines;
    pos = child.end;
  }
  return n + countLines(raw, pos, end);
}

const LF = 0x0a;
const CR = 0x0d;
const DASH = 0x2d;

/**
 * Body part ranges of a multipart body (RFC 2046 §5.1.1). The CRLF before a
 * delimiter belongs to the delimiter; preamble and epilogue are dropped; a
 * missing close delimiter ends the last part at the end of the body. At most
 * `maxParts` ranges: the last one allowed runs to the end of the body.
 */
export function splitMultipart(
  raw: Buffer,
  bodyStart: number,
  end: number,
  boundary: Buffer,
  maxParts = MAX_MIME_PARTS,
): Array<[number, number]> {
  const dashBoundary = Buffer.concat([Buffer.from('--'), boundary]);
  const parts: Array<[number, number]> = [];
  let partStart = -1; // -1 while in the preamble
  let pos = bodyStart;
  while (pos < end) {
    if (partStart !== -1 && parts.length + 1 >= maxParts) break; // the last part allowed: no more boundaries

    const hit = raw.indexOf(dashBoundary, pos);
    if (hit === -1 || hit + dashBoundary.length > end) break;
    pos = hit + 1;
    if (hit !== bodyStart && raw[hit - 1] !== LF) continue;
    const after = hit + dashBoundary.length;
    const close = after + 1 < end && raw[after] === DASH && raw[after + 1] === DASH;
    if (!close && after < end && !isLineEndOrSpace(raw[after]!)) continue; // a longer boundary sharing our prefix
    if (partStart !== -1) parts.push([partStart, cutBefore(raw, hit, partStart)]);
    if (close) return parts;
    const lf = raw.indexOf(LF, after);
    partStart = lf === -1 || lf >= end ? end : lf + 1;
    pos = partStart;
  }
  if (partStart !== -1) parts.push([partStart, end]);
  return parts;
}

function isLineEndOrSpace(c: number): boolean {
  return c === CR || c === LF || c === 0x20 || c === 0x09;
}

/** End of the part before a delimiter found at `hit`: the line end before it belongs to the delimiter. */
function cutBefore(raw: Buffer, hit: number, partStart: number): number {
  let cut = hit;
  if (cut > partStart && raw[cut - 1] === LF) {
    cut--;
    if (cut > partStart && raw[cut - 1] === CR) cut--;
  }
  return cut;
}
