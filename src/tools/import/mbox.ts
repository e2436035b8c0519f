/**
 * mbox parsing (RFC 4155, and the quoting variants of qmail's mbox(5)).
 * A message starts at a "From " line at the start of the file or after an
 * empty line, which also looks like a From_ line (sender, then a ctime date).
 * mboxrd quotes every ">*From " body line with one more ">", so unquoting
 * removes one ">" from each; mboxo quotes only "From " as ">From ", so only
 * ">From " is unquoted and ">>From " stays (that ambiguity is why mboxrd
 * exists). The mbox-only headers Status, X-Status, X-Keywords, X-UID,
 * X-IMAP and X-IMAPbase become flags or are dropped, as Dovecot does.
 */
import { scanHeader, unfoldedValue } from '../../mail/headers.js';

export type MboxVariant = 'mboxrd' | 'mboxo';

export interface MboxMessage {
  content: Buffer;
  flags: string[];
  /** Date of the From_ line (ctime, read as UTC), or null when unreadable. */
  fromLineDate: Date | null;
}

const FROM_LINE = /^From \S+\s+(?:\w{3}\s+)?(\w{3})\s+(\d{1,2})\s+(\d{1,2}):(\d{2})(?::(\d{2}))?\s+(?:[A-Za-z]{3,5}\s+|[+-]\d{4}\s+)?(\d{4})/;
const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const MBOX_HEADERS = new Set(['status', 'x-status', 'x-keywords', 'x-uid', 'x-imap', 'x-imapbase']);

export function parseFromLineDate(line: string): Date | null {
  const m = FROM_LINE.exec(line);
  if (!m) return null;
  const month = MONTHS.indexOf(m[1]!.toLowerCase());
  if (month < 0) return null;
  const date = new Date(Date.UTC(Number(m[6]), month, Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5] ?? 0)));
  return Number.isNaN(date.getTime()) ? null : date;
}

export function isMbox(head: Buffer): boolean {
  return head.subarray(0, 5).toString('latin1') === 'From ';
}

export function parseMbox(data: Buffer, variant: MboxVariant): MboxMessage[] {
  const starts: number[] = [];
  let pos = 0;
  while (pos < data.length) {
    const lf = data.indexOf(0x0a, pos);
    const end = lf === -1 ? data.length : lf + 1;
    if (data[pos] === 0x46 /* F */ && (pos === 0 || isEmptyLineBefore(data, pos))) {
      const line = data.toString('latin1', pos, Math.min(end, pos + 300));
      if (line.startsWith('From ') && (pos === 0 || FROM_LINE.test(line))) starts.push(pos);
    }
    pos = end;
  }
  const messages: MboxMessage[] = [];
  for (let i = 0; i < starts.length; i++) {
    const start = starts[i]!;
    const next = i + 1 < starts.length ? starts[i + 1]! : data.length;
    const lineEnd = data.indexOf(0x0a, start);
    if (lineEnd === -1 || lineEnd >= next) continue;
    const fromLine = data.toString('latin1', start, lineEnd).replace(/\r$/, '');
    let body = data.subarray(lineEnd + 1, next);
    // The empty line that separates messages belongs to the mbox, not to the message.
    if (i + 1 < starts.length || endsWithBlankLine(body)) body = stripOneLineEnd(body);
    messages.push(readMessage(unquote(body, variant), fromLine));
  }
  return messages;
}

function isEmptyLineBefore(data: Buffer, pos: number): boolean {
  if (data[pos - 1] !== 0x0a) return false;
  if (pos >= 2 && data[pos - 2] === 0x0a) return true;
  return pos >= 3 && data[pos - 2] === 0x0d && data[pos - 3] === 0x0a;
}

function endsWithBlankLine(body: Buffer): boolean {
  const s = body.subarray(Math.max(0, body.length - 4)).toString('latin1');
  return /\n\r?\n$/.test(s);
}

function stripOneLineEnd(body: Buffer): Buffer {
  if (body.length >= 2 && body[body.length - 2] === 0x0d && body[body.length - 1] === 0x0a) return body.subarray(0, body.length - 2);
  if (body.length >= 1 && body[body.length - 1] === 0x0a) return body.subarray(0, body.length - 1);
  return body;
}

function unquote(body: Buffer, variant: MboxVariant): Buffer {
  const pattern = variant === 'mboxrd' ? /^>+From / : /^>From /;
  const parts: Buffer[] = [];
  let pos = 0;
  let copied = 0;
  while (pos < body.length) {
    const lf = body.indexOf(0x0a, pos);
    const end = lf === -1 ? body.length : lf + 1;
    if (body[pos] === 0x3e /* > */ && pattern.test(body.toString('latin1', pos, Math.min(end, pos + 80)))) {
      parts.push(body.subarray(copied, pos));
      copied = pos + 1;
    }
    pos = end;
  }
  parts.push(body.subarray(copied));
  return Buffer.concat(parts);
}

function readMessage(raw: Buffer, fromLine: string): MboxMessage {
  const header = scanHeader(raw, 0, raw.length);
  const flags: string[] = [];
  const keep: Buffer[] = [];
  let copied = 0;
  for (const field of header.fields) {
    const name = field.name.toLowerCase();
    if (!MBOX_HEADERS.has(name)) continue;
    const value = unfoldedValue(raw, field).toString('latin1');
    if (name === 'status' && value.includes('R')) flags.push('\\Seen');
    if (name === 'x-status') {
      if (value.includes('A')) flags.push('\\Answered');
      if (value.includes('F')) flags.push('\\Flagged');
      if (value.includes('T')) flags.push('\\Draft');
      if (value.includes('D')) flags.push('\\Deleted');
    }
    if (name === 'x-keywords') {
      for (const kw of value.split(/[\s,]+/)) if (/^[!#-'*+\-.0-9;<-Z^-z|~]+$/.test(kw) && !kw.startsWith('\\')) flags.push(kw);
    }
    keep.push(raw.subarray(copied, field.start));
    copied = field.end;
  }
  keep.push(raw.subarray(copied));
  return { content: Buffer.concat(keep), flags: [...new Set(flags)], fromLineDate: parseFromLineDate(fromLine) };
}
