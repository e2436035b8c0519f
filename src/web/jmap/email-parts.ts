/**
 * The JMAP view of one stored message (RFC 8621 §4.1): header fields in
 * their parsed forms and the body parts, read from the raw bytes through the
 * MIME structure src/mail/ computed at ingest. Pure: bytes in, JSON out.
 */
import libmime from 'libmime';
import { parseAddressList } from '../../mail/address.js';
import { parseMailDate } from '../../mail/date.js';
import { decodedValue, findField, headerFields, type HeaderField, unfoldedValue } from '../../mail/headers.js';
import { type MessageStructure, type MimePart, readContentType, readTransferEncoding } from '../../mail/parse.js';
import { decodeCharset, decodeTransfer } from '../../mail/text.js';

export interface EmailAddress {
  name: string | null;
  email: string;
}

export interface BodyPart {
  partId: string | null;
  blobId: string | null;
  size: number;
  name: string | null;
  type: string;
  charset: string | null;
  disposition: string | null;
  cid: string | null;
  language: string[] | null;
  location: string | null;
  subParts?: BodyPart[];
}

function decodeWords(text: string): string {
  try {
    return libmime.decodeWords(text);
  } catch {
    return text;
  }
}

/** The top-level header fields of a message (a read of its header octets is enough). */
export function topFields(raw: Buffer, s: MessageStructure): HeaderField[] {
  return headerFields(raw, s.root.headerStart, s.root.bodyStart);
}

/** RFC 8621 §4.1.2.3 Addresses form of the first such field; groups are flattened. Null when absent. */
export function addressesOf(raw: Buffer, fields: HeaderField[], name: string): EmailAddress[] | null {
  const field = findField(fields, name);
  if (!field) return null;
  const out: EmailAddress[] = [];
  for (const a of parseAddressList(unfoldedValue(raw, field).toString('utf8'))) {
    if (a.host === null || a.mailbox === null || a.mailbox === 'MISSING_MAILBOX' || a.host === 'MISSING_DOMAIN') continue;
    out.push({ name: a.name ? decodeWords(a.name) : null, email: `${a.mailbox}@${a.host}` });
  }
  return out;
}

/** RFC 8621 §4.1.2.5 MessageIds form: the ids without angle brackets, or null when there are none. */
export function messageIdsOf(raw: Buffer, fields: HeaderField[], name: string): string[] | null {
  const field = findField(fields, name);
  if (!field) return null;
  const ids = [...unfoldedValue(raw, field).toString('latin1').matchAll(/<([^<>\s]+)>/g)].map((m) => m[1]!);
  return ids.length > 0 ? ids : null;
}

/** RFC 8621 §4.1.2.2 Text form. */
export function textOf(raw: Buffer, fields: HeaderField[], name: string): string | null {
  const field = findField(fields, name);
  return field ? decodedValue(raw, field).trim() : null;
}

/** RFC 8621 §4.1.2.4 Date form, as UTC. */
export function dateOf(raw: Buffer, fields: HeaderField[], name: string): string | null {
  const field = findField(fields, name);
  if (!field) return null;
  const date = parseMailDate(unfoldedValue(raw, field).toString('latin1'));
  return date ? utcDate(date) : null;
}

/** RFC 8620 §1.4 UTCDate: seconds precision, "Z". */
export function utcDate(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Content of a leaf part after transfer decoding (the blob a client downloads). */
export function decodedContent(raw: Buffer, part: MimePart): Buffer {
  const fields = headerFields(raw, part.headerStart, part.bodyStart);
  return decodeTransfer(raw.subarray(part.bodyStart, part.end), readTransferEncoding(raw, fields));
}

/** The text of a text part (its charset decoded), cut at `maxBytes` UTF-8 octets when that is not 0. */
export function textValue(raw: Buffer, part: BodyPart, mime: MimePart, maxBytes: number): { value: string; isTruncated: boolean } {
  const text = decodeCharset(decodedContent(raw, mime), part.charset ?? undefined);
  if (maxBytes <= 0 || Buffer.byteLength(text) <= maxBytes) return { value: text, isTruncated: false };
  // Cut on a character boundary: decoding a cut UTF-8 sequence would end in U+FFFD.
  let cut = Buffer.from(text).subarray(0, maxBytes).toString('utf8');
  if (cut.endsWith('\uFFFD')) cut = cut.slice(0, -1);
  return { value: cut, isTruncated: true };
}

export interface EmailBody {
  bodyStructure: BodyPart;
  textBody: BodyPart[];
  htmlBody: BodyPart[];
  attachments: BodyPart[];
  /** partId → the MIME part, for bodyValues and downloads. */
  parts: Map<string, MimePart>;
}

/** Blob id of a part: the message's blob id and the part's IMAP section number. */
export function partBlobId(messageBlobId: string, partId: string): string {
  return `${messageBlobId}_${partId.replace(/\./g, '-')}`;
}

/** The MIME part a partId (IMAP section number, "1.2") names, or null. */
export function partById(s: MessageStructure, partId: string): MimePart | null {
  if (!/^\d{1,4}(\.\d{1,4}){0,49}$/.test(partId)) return null;
  let part = s.root;
  const path = partId.split('.').map(Number);
  if (part.kind !== 'multipart') return path.length === 1 && path[0] === 1 ? part : null;
  for (const n of path) {
    const child = part.children?.[n - 1];
    if (!child) return null;
    part = child;
  }
  return part.kind === 'multipart' ? null : part;
}

/** The parts of a message in JMAP form, and textBody/htmlBody/attachments by RFC 8621 §4.1.4's algorithm. */
export function emailBody(raw: Buffer, s: MessageStructure, messageBlobId: string): EmailBody {
  const parts = new Map<string, MimePart>();
  const describe = (part: MimePart, partId: string | null): BodyPart => {
    const fields = headerFields(raw, part.headerStart, part.bodyStart);
    const ct = part.typeFromHeader ? readContentType(raw, fields) : null;
    const type = `${part.type}/${part.subtype}`.toLowerCase();
    const disp = findField(fields, 'Content-Disposition');
    let disposition: string | null = null;
    let filename: string | null = null;
    if (disp) {
      try {
        const parsed = libmime.parseHeaderValue(unfoldedValue(raw, disp).toString('utf8'));
        disposition = parsed.value.trim().toLowerCase() || null;
        filename = parsed.params.filename ?? null;
      } catch {
        // A hostile parameter list: the part stays without a disposition.
      }
    }
    const name = filename ?? ct?.params.name ?? null;
    const cid = findField(fields, 'Content-ID');
    const language = textOf(raw, fields, 'Content-Language');
    const json: BodyPart = {
      partId: part.kind === 'multipart' ? null : partId,
      blobId: part.kind === 'multipart' || partId === null ? null : partBlobId(messageBlobId, partId),
      size: part.kind === 'multipart' ? 0 : decodedContent(raw, part).length,
      name: name === null ? null : decodeWords(name),
      type,
      charset: ct?.params.charset ?? (part.type.toLowerCase() === 'text' ? 'us-ascii' : null),
      disposition,
      cid: cid ? unfoldedValue(raw, cid).toString('latin1').replace(/^<|>$/g, '') : null,
      language: language ? language.split(',').map((l) => l.trim()).filter(Boolean) : null,
      location: textOf(raw, fields, 'Content-Location'),
    };
    if (part.kind === 'multipart') {
      const prefix = partId === null ? '' : `${partId}.`;
      json.subParts = (part.children ?? []).map((child, i) => describe(child, `${prefix}${i + 1}`));
    } else if (partId !== null) {
      parts.set(partId, part);
    }
    return json;
  };
  const root = describe(s.root, s.root.kind === 'multipart' ? null : '1');
  const textBody: BodyPart[] = [];
  const htmlBody: BodyPart[] = [];
  const attachments: BodyPart[] = [];
  parseStructure(root.subParts ?? [root], root.subParts ? root.type.split('/')[1]! : 'mixed', false, htmlBody, textBody, attachments);
  return { bodyStructure: root, textBody, htmlBody, attachments, parts };
}

const isMedia = (type: string) => /^(image|audio|video)\//.test(type);

/** RFC 8621 §4.1.4, the parseStructure pseudo-code, as written there. */
function parseStructure(
  parts: BodyPart[],
  multipartType: string,
  inAlternative: boolean,
  htmlBodyIn: BodyPart[] | null,
  textBodyIn: BodyPart[] | null,
  attachments: BodyPart[],
): void {
  let htmlBody = htmlBodyIn;
  let textBody = textBodyIn;
  const textLength = textBody ? textBody.length : -1;
  const htmlLength = htmlBody ? htmlBody.length : -1;
  parts.forEach((part, i) => {
    const isMultipart = part.type.startsWith('multipart/');
    const isInline =
      part.disposition !== 'attachment' &&
      (part.type === 'text/plain' || part.type === 'text/html' || isMedia(part.type)) &&
      (i === 0 || (multipartType !== 'related' && (isMedia(part.type) || !part.name)));
    if (isMultipart) {
      const subMultiType = part.type.split('/')[1]!;
      parseStructure(part.subParts ?? [], subMultiType, inAlternative || subMultiType === 'alternative', htmlBody, textBody, attachments);
    } else if (isInline) {
      if (multipartType === 'alternative') {
        if (part.type === 'text/plain') textBody?.push(part);
        else if (part.type === 'text/html') htmlBody?.push(part);
        else attachments.push(part);
        return;
      } else if (inAlternative) {
        if (part.type === 'text/plain') htmlBody = null;
        if (part.type === 'text/html') textBody = null;
      }
      textBody?.push(part);
      htmlBody?.push(part);
      if ((!textBody || !htmlBody) && isMedia(part.type)) attachments.push(part);
    } else {
      attachments.push(part);
    }
  });
  if (multipartType === 'alternative' && textBody && htmlBody) {
    // Found HTML part only: use it as the text body too, and the other way round.
    if (textLength === textBody.length && htmlLength !== htmlBody.length) textBody.push(...htmlBody.slice(htmlLength));
    if (htmlLength === htmlBody.length && textLength !== textBody.length) htmlBody.push(...textBody.slice(textLength));
  }
}
