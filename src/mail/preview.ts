/**
 * PREVIEW text (RFC 8970 §3): up to 256 characters of the message's first
 * text part, decoded, without markup, whitespace collapsed. text/plain is
 * preferred over text/html; attachments are skipped. Computed at ingest.
 */
import { findField, scanHeader, unfoldedValue } from './headers.js';
import { readContentType, readTransferEncoding, type MimePart } from './parse.js';
import { decodeCharset, decodeTransfer } from './text.js';

/** RFC 8970 §3.1: "no more than 256 characters". */
export const PREVIEW_MAX_CHARS = 256;

function textParts(raw: Buffer, part: MimePart, out: MimePart[]): void {
  if (part.kind === 'multipart') {
    for (const child of part.children ?? []) textParts(raw, child, out);
  } else if (part.kind === 'text') {
    const { fields } = scanHeader(raw, part.headerStart, part.bodyStart);
    const disposition = findField(fields, 'Content-Disposition');
    if (disposition && /^\s*attachment/i.test(unfoldedValue(raw, disposition).toString('latin1'))) return;
    out.push(part);
  }
  // An attached message (message/rfc822) is not the message's own text.
}

function decoded(raw: Buffer, part: MimePart): string {
  const { fields } = scanHeader(raw, part.headerStart, part.bodyStart);
  const body = decodeTransfer(raw.subarray(part.bodyStart, part.end), readTransferEncoding(raw, fields));
  const charset = part.typeFromHeader ? readContentType(raw, fields)?.params['charset'] : undefined;
  return decodeCharset(body, charset);
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };

function htmlToText(html: string): string {
  return html
    .replace(/<(script|style|head)\b[\s\S]*?<\/\1\s*>/gi, ' ')
    .replace(/<!--[\s\S]*?-->/g, ' ')
    .replace(/<[^>]*>/g, ' ')
    .replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (whole, name: string) => {
      if (name[0] === '#') {
        const code = name[1] === 'x' || name[1] === 'X' ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
        return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : ' ';
      }
      return ENTITIES[name.toLowerCase()] ?? whole;
    });
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
  return Array.from(clean).slice(0, PREVIEW_MAX_CHARS).join('').trimEnd();
}
