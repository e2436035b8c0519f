/**
 * Decoded body text for SEARCH BODY/TEXT (RFC 9051 §6.4.4): text/* parts with
 * their transfer encoding (RFC 2045 §6.7, §6.8) and charset undone, walking
 * into multiparts and encapsulated messages.
 */
import iconv from 'iconv-lite';
import { scanHeader } from './headers.js';
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

const HEX = /^[0-9A-Fa-f]{2}$/;

/** RFC 2045 §6.7: "=XX" octets, soft line breaks "=" CRLF; trailing whitespace on lines dropped. */
export function decodeQuotedPrintable(body: Buffer): Buffer {
  const text = body.toString('latin1').replace(/[ \t]+(?=\r?\n|$)/g, '');
  const out = Buffer.alloc(text.length);
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '=') {
      const pair = text.slice(i + 1, i + 3);
      if (HEX.test(pair)) {
        out[n++] = parseInt(pair, 16);
        i += 2;
        continue;
      }
      const soft = /^(\r?\n|$)/.exec(text.slice(i + 1, i + 3));
      if (soft) {
        i += soft[0].length;
        continue;
      }
    }
    out[n++] = text.charCodeAt(i);
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

function collect(raw: Buffer, part: MimePart, out: string[], nestedHeaders: boolean): void {
  if (part.kind === 'multipart') {
    for (const child of part.children ?? []) collect(raw, child, out, nestedHeaders);
    return;
  }
  if (part.kind === 'message' && part.message) {
    // An attached message's header is body text of the outer message: TEXT finds it (as Dovecot does).
    if (nestedHeaders) out.push(raw.subarray(part.message.headerStart, part.message.bodyStart).toString('utf8'));
    collect(raw, part.message, out, nestedHeaders);
    return;
  }
  if (part.kind !== 'text') return;
  const { fields } = scanHeader(raw, part.headerStart, part.bodyStart);
  const body = decodeTransfer(raw.subarray(part.bodyStart, part.end), readTransferEncoding(raw, fields));
  const charset = part.typeFromHeader ? readContentType(raw, fields)?.params['charset'] : undefined;
  out.push(decodeCharset(body, charset));
}

/** `nestedHeaders`: include the headers of attached messages (SEARCH TEXT), not only decoded text parts (SEARCH BODY). */
export function bodyTextOf(raw: Buffer, root: MimePart, nestedHeaders = false): string {
  const out: string[] = [];
  collect(raw, root, out, nestedHeaders);
  return out.join('\n');
}
