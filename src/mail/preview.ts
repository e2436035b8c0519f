/**
 * PREVIEW text (RFC 8970 §3): up to 256 characters of the message's first
 * text part, decoded, without markup, whitespace collapsed. text/plain is
 * preferred over text/html; attachments are skipped. Computed at ingest.
 */
import { findField, headerFields, unfoldedValue } from './headers.js';
import { htmlToText } from './html.js';
import { readContentType, readTransferEncoding, type MimePart } from './parse.js';
import { decodeCharset, decodeTransfer } from './text.js';

/** RFC 8970 §3.1: "no more than 256 characters". */
export const PREVIEW_MAX_CHARS = 256;

/**
 * Octets of the chosen part's body the preview is made from. 256 characters
 * of text need far less, but an HTML part may open with a long style sheet
 * (newsletters carry 50-100 KB of CSS in their head). The rest of the part
 * is never read, so a hostile 50 MB part costs what 256 KB does.
 */
export const PREVIEW_SOURCE_OCTETS = 256 * 1024;

function textParts(raw: Buffer, part: MimePart, out: MimePart[]): void {
  if (part.kind === 'multipart') {
    for (const child of part.children ?? []) textParts(raw, child, out);
  } else if (part.kind === 'text') {
    const fields = headerFields(raw, part.headerStart, part.bodyStart);
    const disposition = findField(fields, 'Content-Disposition');
    if (disposition && /^\s*attachment/i.test(unfoldedValue(raw, disposition).toString('latin1'))) return;
    out.push(part);
  }
  // An attached message (message/rfc822) is not the message's own text.
}

/** The start of the body: at most PREVIEW_SOURCE_OCTETS, cut after a line end so no escape or character is split. */
function bodyPrefix(raw: Buffer, part: MimePart): Buffer {
  if (part.end - part.bodyStart <= PREVIEW_SOURCE_OCTETS) return raw.subarray(part.bodyStart, part.end);
  const limit = part.bodyStart + PREVIEW_SOURCE_OCTETS;
  const prefix = raw.subarray(part.bodyStart, limit);
  const lf = prefix.lastIndexOf(0x0a);
  return lf === -1 ? prefix : prefix.subarray(0, lf + 1);
}

function decoded(raw: Buffer, part: MimePart): string {
  const fields = headerFields(raw, part.headerStart, part.bodyStart);
  const body = decodeTransfer(bodyPrefix(raw, part), readTransferEncoding(raw, fields));
  const charset = part.typeFromHeader ? readContentType(raw, fields)?.params['charset'] : undefined;
  return decodeCharset(body, charset);
}

export function previewOf(raw: Buffer, root: MimePart): string {
  const parts: MimePart[] = [];
  textParts(raw, root, parts);
  const part = parts.find((p) => p.subtype.toLowerCase() === 'plain') ?? parts.find((p) => p.subtype.toLowerCase() === 'html');
  if (!part) return '';
  let text = decoded(raw, part);
  if (part.subtype.toLowerCase() === 'html') text = htmlToText(text);
  // Control characters never belong in a preview; whitespace runs become one space.
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/[\u0000-\u001f\u007f\s]+/g, ' ').trim();
  let out = '';
  let chars = 0;
  for (const c of clean) {
    if (chars++ === PREVIEW_MAX_CHARS) break;
    out += c;
  }
  return out.trimEnd();
}
