/**
 * BODY and BODYSTRUCTURE (RFC 9051 §7.5.2), written the way Dovecot writes
 * them: type and subtype as in the header, "text" "plain" ("charset"
 * "us-ascii") by default, encoding "7bit" by default, sizes and LF counts
 * exact to the octet of the stored message.
 */
import { envelopeOf, type ImapLikeValue } from './envelope.js';
import { beforeTrailingComment, findField, HeaderBudget, headerFields, imapString, type HeaderField } from './headers.js';
import { mergedParams } from './params.js';
import type { MimePart } from './parse.js';

/** What Dovecot writes for a multipart with no body parts, which MIME does not allow. */
function emptyPart(extended: boolean): ImapLikeValue[] {
  const basic: ImapLikeValue[] = ['text', 'plain', ['charset', 'us-ascii'], null, null, '7bit', 0, 0];
  return extended ? [...basic, null, null, null, null] : basic;
}

/** A header-derived string for the wire: 7-bit as a string, anything else as its UTF-8 bytes. */
function wire(value: string): string | Buffer {
  // eslint-disable-next-line no-control-regex
  return /[^\x00-\x7f]/.test(value) ? Buffer.from(value, 'utf8') : value;
}

/**
 * `s.replace(/\([^)]*\)/g, by)` in linear time: that expression rescans to the
 * end of the value from every "(" when no ")" follows (quadratic on a run of "(").
 */
function replaceComments(s: string, by: string): string {
  let out = '';
  let copied = 0;
  for (let open = s.indexOf('('); open !== -1; open = s.indexOf('(', copied)) {
    const close = s.indexOf(')', open + 1);
    if (close === -1) break; // no ")" after this "(", so none after a later one
    out += s.slice(copied, open) + by;
    copied = close + 1;
  }
  return copied === 0 ? s : out + s.slice(copied);
}

function rawNString(raw: Buffer, fields: HeaderField[], name: string, budget: HeaderBudget): string | Buffer | null {
  const field = findField(fields, name);
  const value = field ? budget.descriptive(raw, field) : null;
  // Raw bytes kept exactly (8-bit included), as the value is not decoded.
  return value ? imapString(value.toString('latin1')) : null;
}

/**
 * Parameters as a flat (key value ...) list, raw as written with RFC 2231
 * continuations merged (params.ts); text parts get the RFC 2045 §5.2
 * default charset when they name none, as Dovecot and Cyrus do.
 */
function paramList(raw: Buffer, field: HeaderField | undefined, defaultCharset: boolean, budget: HeaderBudget): ImapLikeValue[] | null {
  const value = field ? budget.descriptive(raw, field) : null;
  const flat = value ? mergedParams(value.toString('latin1')) : [];
  const out: ImapLikeValue[] = flat.map((v) => imapString(v));
  if (defaultCharset && !flat.some((v, i) => i % 2 === 0 && v === 'charset')) out.push('charset', 'us-ascii');
  return out.length > 0 ? out : null;
}

function disposition(raw: Buffer, fields: HeaderField[], budget: HeaderBudget): ImapLikeValue {
  const field = findField(fields, 'Content-Disposition');
  const bytes = field ? budget.descriptive(raw, field) : null;
  if (!bytes) return null;
  const value = bytes.toString('latin1');
  const semicolon = value.indexOf(';');
  const type = replaceComments(semicolon === -1 ? value : value.slice(0, semicolon), '').trim();
  if (!type) return null;
  return [imapString(type), paramList(raw, field, false, budget)];
}

/** Content-Language (RFC 3282): a comma-separated list of language tags. */
function language(raw: Buffer, fields: HeaderField[], budget: HeaderBudget): ImapLikeValue {
  const field = findField(fields, 'Content-Language');
  const bytes = field ? budget.descriptive(raw, field) : null;
  if (!bytes) return null;
  const tags = replaceComments(bytes.toString('utf8'), ' ')
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '');
  return tags.length > 0 ? tags.map(wire) : null;
}

function transferEncoding(raw: Buffer, fields: HeaderField[], budget: HeaderBudget): string | Buffer {
  const field = findField(fields, 'Content-Transfer-Encoding');
  const token = field ? beforeTrailingComment(budget.structural(raw, field).toString('utf8')).trim() : '';
  return token === '' ? '7bit' : wire(token);
}

const EMPTY_ENVELOPE: ImapLikeValue[] = [null, null, null, null, null, null, null, null, null, null];

function isMessageType(part: MimePart): boolean {
  return part.type.toLowerCase() === 'message' && ['rfc822', 'global'].includes(part.subtype.toLowerCase());
}

/**
 * The BODYSTRUCTURE of one part. Header octets are read in the order of the
 * answer and charged to `budget` (MESSAGE_HEADER_BUDGET_OCTETS), so parts
 * late in a hostile message get NIL for their descriptive fields.
 */
function partStructure(raw: Buffer, part: MimePart, budget: HeaderBudget): ImapLikeValue[] {
  const fields = headerFields(raw, part.headerStart, part.bodyStart);
  const ctField = part.typeFromHeader ? findField(fields, 'Content-Type') : undefined;
  const tail = (): ImapLikeValue[] => [disposition(raw, fields, budget), language(raw, fields, budget), rawNString(raw, fields, 'Content-Location', budget)];

  if (part.kind === 'multipart') {
    const children = part.children && part.children.length > 0 ? part.children.map((c) => partStructure(raw, c, budget)) : [emptyPart(true)];
    const out: ImapLikeValue[] = [...children, wire(part.subtype)];
    out.push(ctField ? paramList(raw, ctField, false, budget) : null, ...tail());
    return out;
  }

  const isText = part.type.toLowerCase() === 'text';
  const params = paramList(raw, ctField, isText, budget);
  const out: ImapLikeValue[] = [
    wire(part.type),
    wire(part.subtype),
    params,
    rawNString(raw, fields, 'Content-ID', budget),
    rawNString(raw, fields, 'Content-Description', budget),
    transferEncoding(raw, fields, budget),
    part.end - part.bodyStart,
  ];
  if (part.kind === 'message' && part.message) {
    // body-type-msg: envelope, the encapsulated body, then the line count.
    out.push(envelopeOf(raw, part.message, budget), partStructure(raw, part.message, budget), part.lines);
  } else if (isMessageType(part)) {
    // A message/rfc822 we do not descend into (encoded, which RFC 2046 §5.2.1
    // forbids, or too deep) still needs the body-type-msg form: the RFC 9051
    // grammar reads an envelope and a body after the fields of any
    // "MESSAGE" "RFC822"/"GLOBAL" part. Both are empty, as Dovecot writes them.
    out.push(EMPTY_ENVELOPE, emptyPart(true), part.lines);
  } else if (isText) {
    out.push(part.lines);
  }
  out.push(rawNString(raw, fields, 'Content-MD5', budget), ...tail());
  return out;
}

/** BODYSTRUCTURE, or BODY when `extended` is false (derived from it, so both read the same header octets). */
export function bodyStructureOf(raw: Buffer, root: MimePart, extended: boolean): ImapLikeValue {
  const structure = partStructure(raw, root, new HeaderBudget());
  return extended ? structure : bodyFromStructure(root, structure);
}

/**
 * BODY from an already computed BODYSTRUCTURE of the same part: the same
 * values without the extension data (RFC 9051 §7.5.2), so ingest reads each
 * part's header once for both instead of twice.
 */
export function bodyFromStructure(part: MimePart, extended: ImapLikeValue[]): ImapLikeValue[] {
  if (part.kind === 'multipart') {
    // (child ... subtype params disposition language location)
    const childCount = extended.length - 5;
    const children = extended.slice(0, childCount).map((child, i) => {
      const sub = part.children?.[i];
      return sub ? bodyFromStructure(sub, child as ImapLikeValue[]) : emptyPart(false);
    });
    return [...children, extended[childCount]!];
  }
  const isText = part.type.toLowerCase() === 'text';
  const isMessage = (part.kind === 'message' && part.message !== undefined) || isMessageType(part);
  const basic = extended.slice(0, 7 + (isMessage ? 3 : isText ? 1 : 0));
  if (isMessage) basic[8] = part.message ? bodyFromStructure(part.message, basic[8] as ImapLikeValue[]) : emptyPart(false);
  return basic;
}
