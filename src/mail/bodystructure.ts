/**
 * BODY and BODYSTRUCTURE (RFC 9051 §7.5.2), written the way Dovecot writes
 * them: type and subtype as in the header, "text" "plain" ("charset"
 * "us-ascii") by default, encoding "7bit" by default, sizes and LF counts
 * exact to the octet of the stored message.
 */
import libmime from 'libmime';
import { envelopeOf, type ImapLikeValue } from './envelope.js';
import { findField, imapString, scanHeader, unfoldedValue, type HeaderField } from './headers.js';
import { readContentType, type MimePart } from './parse.js';

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

function rawNString(raw: Buffer, fields: HeaderField[], name: string): string | Buffer | null {
  const field = findField(fields, name);
  // Raw bytes kept exactly (8-bit included), as the value is not decoded.
  return field ? imapString(unfoldedValue(raw, field).toString('latin1')) : null;
}

/**
 * Parameters as a flat (key value ...) list. RFC 2231 continuations arrive
 * merged and decoded from libmime; a non-ASCII result is re-encoded as
 * key*=utf-8''... so the list stays 7-bit, like Dovecot's key* form.
 */
function paramList(params: Record<string, string>, decoded: string[], defaultCharset: boolean): ImapLikeValue[] | null {
  const out: ImapLikeValue[] = [];
  for (const [key, value] of Object.entries(params)) {
    // eslint-disable-next-line no-control-regex
    if (decoded.includes(key) && /[^\x00-\x7f]/.test(value)) {
      out.push(`${key}*`, `utf-8''${encodeRfc2231(value)}`);
    } else {
      out.push(wire(key), wire(value));
    }
  }
  if (defaultCharset && !Object.keys(params).some((k) => k.toLowerCase() === 'charset')) out.push('charset', 'us-ascii');
  return out.length > 0 ? out : null;
}

function encodeRfc2231(value: string): string {
  return Array.from(Buffer.from(value, 'utf8'))
    .map((b) => (/[A-Za-z0-9!#$&+.^_`|~-]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`))
    .join('');
}

function disposition(raw: Buffer, fields: HeaderField[]): ImapLikeValue {
  const field = findField(fields, 'Content-Disposition');
  if (!field) return null;
  let parsed: { value: string; params: Record<string, string>; decodedParams?: string[] };
  try {
    parsed = libmime.parseHeaderValue(unfoldedValue(raw, field).toString('utf8'), { stripComments: true });
  } catch {
    return null;
  }
  const type = parsed.value.trim();
  if (!type) return null;
  return [wire(type), paramList(parsed.params, parsed.decodedParams ?? [], false)];
}

/** Content-Language (RFC 3282): a comma-separated list of language tags. */
function language(raw: Buffer, fields: HeaderField[]): ImapLikeValue {
  const field = findField(fields, 'Content-Language');
  if (!field) return null;
  const tags = unfoldedValue(raw, field)
    .toString('utf8')
    .replace(/\([^)]*\)/g, ' ')
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '');
  return tags.length > 0 ? tags.map(wire) : null;
}

function transferEncoding(raw: Buffer, fields: HeaderField[]): string | Buffer {
  const field = findField(fields, 'Content-Transfer-Encoding');
  const token = field ? unfoldedValue(raw, field).toString('utf8').replace(/\(.*$/, '').trim() : '';
  return token === '' ? '7bit' : wire(token);
}

/** The body structure of one part, BODY when `extended` is false. */
export function partStructure(raw: Buffer, part: MimePart, extended: boolean): ImapLikeValue[] {
  const { fields } = scanHeader(raw, part.headerStart, part.bodyStart);
  const ct = part.typeFromHeader ? readContentType(raw, fields) : null;
  const tail = (): ImapLikeValue[] => [disposition(raw, fields), language(raw, fields), rawNString(raw, fields, 'Content-Location')];

  if (part.kind === 'multipart') {
    const children = part.children && part.children.length > 0 ? part.children.map((c) => partStructure(raw, c, extended)) : [emptyPart(extended)];
    const out: ImapLikeValue[] = [...children, wire(part.subtype)];
    if (extended) out.push(ct ? paramList(ct.params, ct.decodedParams, false) : null, ...tail());
    return out;
  }

  const isText = part.type.toLowerCase() === 'text';
  const params = ct ? paramList(ct.params, ct.decodedParams, isText) : isText ? ['charset', 'us-ascii'] : null;
  const out: ImapLikeValue[] = [
    wire(part.type),
    wire(part.subtype),
    params,
    rawNString(raw, fields, 'Content-ID'),
    rawNString(raw, fields, 'Content-Description'),
    transferEncoding(raw, fields),
    part.end - part.bodyStart,
  ];
  if (part.kind === 'message' && part.message) {
    // body-type-msg: envelope, the encapsulated body, then the line count.
    out.push(envelopeOf(raw, part.message), partStructure(raw, part.message, extended), part.lines);
  } else if (isText) {
    out.push(part.lines);
  }
  if (extended) out.push(rawNString(raw, fields, 'Content-MD5'), ...tail());
  return out;
}

export function bodyStructureOf(raw: Buffer, root: MimePart, extended: boolean): ImapLikeValue {
  return partStructure(raw, root, extended);
}
