/**
 * A message APPENDed as a literal8 (RFC 3516 §4.4) made readable by clients
 * that know no BINARY: every leaf part sent with "Content-Transfer-Encoding:
 * binary", or holding NUL octets under an identity encoding (7bit, 8bit or
 * none), is re-encoded as base64 and its CTE field rewritten, as Dovecot does
 * when it saves such a message (imap cmd-append, istream-binary-converter).
 * Everything else stays byte for byte. FETCH BINARY[part] decodes the base64
 * again, so the client gets back exactly the octets it sent for each part;
 * BODY[], RFC822, sizes, BODYSTRUCTURE and POP3 all see one consistent stored
 * message with no NUL in it (RFC 9051 §4.3: a literal is CHAR8).
 */
import { scanHeader } from './headers.js';
import { parseMessage, readTransferEncoding, type MimePart } from './parse.js';

export type BinaryAppendResult =
  /** `data` is `raw` itself when nothing needed re-encoding. */
  | { kind: 'ok'; data: Buffer; converted: number }
  /** NUL octets remain where no re-encoding can remove them (a header, a base64 or quoted-printable body). */
  | { kind: 'nul' };

const IDENTITY = new Set(['', '7bit', '8bit', 'binary']);
/** RFC 2045 §6.8: encoded lines are at most 76 characters. */
export const BASE64_LINE = 76;
export const BASE64_LINE_INPUT = (BASE64_LINE / 4) * 3;
const CTE_BASE64 = Buffer.from('Content-Transfer-Encoding: base64\r\n', 'latin1');

/** Octets [start, end) of the message replaced by `bytes`, or (null) by their own base64 lines. */
export interface Edit {
  start: number;
  end: number;
  bytes: Buffer | null;
}

export function encodeBinaryParts(raw: Buffer): BinaryAppendResult {
  const edits: Edit[] = [];
  let converted = 0;
  for (const part of leafParts(parseMessage(raw).root)) if (convertLeaf(raw, part, edits)) converted++;
  if (edits.length === 0) return raw.includes(0) ? { kind: 'nul' } : { kind: 'ok', data: raw, converted: 0 };
  const pieces: Buffer[] = [];
  let at = 0;
  for (const edit of edits) {
    pieces.push(raw.subarray(at, edit.start), edit.bytes ?? base64Lines(raw.subarray(edit.start, edit.end)));
    at = edit.end;
  }
  pieces.push(raw.subarray(at));
  const data = Buffer.concat(pieces);
  return data.includes(0) ? { kind: 'nul' } : { kind: 'ok', data, converted };
}

/** Adds the edits (header field, then body) that re-encode one leaf part, if it needs it. */
function convertLeaf(raw: Buffer, part: MimePart, edits: Edit[]): boolean {
  const leaf = leafEncoding(raw.subarray(part.headerStart, part.bodyStart));
  if (!leaf) return false;
  if (!leaf.binary && !raw.subarray(part.bodyStart, part.end).includes(0)) return false;
  edits.push(...leafEdits(part, leaf.cteFields));
  return true;
}

/**
 * What a leaf part's header (its octets alone) says about re-encoding it: null when its encoding is
 * not an identity one (nothing to do); else whether it is marked binary (always re-encoded; other
 * identity parts only when their body holds a NUL) and its Content-Transfer-Encoding fields, by
 * offset in `header`.
 */
export function leafEncoding(header: Buffer): { binary: boolean; cteFields: Array<{ start: number; end: number }> } | null {
  const { fields } = scanHeader(header, 0, header.length);
  const cte = readTransferEncoding(header, fields);
  if (!IDENTITY.has(cte)) return null;
  const cteFields = fields.filter((f) => f.name.toLowerCase() === 'content-transfer-encoding').map((f) => ({ start: f.start, end: f.end }));
  return { binary: cte === 'binary', cteFields };
}

/** The edits that re-encode one leaf part, in message order: its CTE field (given by offset in its header), then its body. */
export function leafEdits(part: MimePart, cteFields: Array<{ start: number; end: number }>): Edit[] {
  const edits: Edit[] = [];
  if (cteFields.length === 0) {
    edits.push({ start: part.fieldsEnd, end: part.fieldsEnd, bytes: CTE_BASE64 });
  } else {
    // The first CTE field becomes base64 in place; any repeated one goes (it would contradict it).
    const at = part.headerStart;
    cteFields.forEach((f, i) => edits.push({ start: at + f.start, end: at + f.end, bytes: i === 0 ? CTE_BASE64 : Buffer.alloc(0) }));
  }
  edits.push({ start: part.bodyStart, end: part.end, bytes: null });
  return edits;
}

/** Leaf parts in document order, depth first (the parser already bounds depth and part count). */
export function* leafParts(root: MimePart): Generator<MimePart> {
  const stack: MimePart[] = [root];
  while (stack.length > 0) {
    const part = stack.pop()!;
    if (part.children) {
      for (let i = part.children.length - 1; i >= 0; i--) stack.push(part.children[i]!);
      continue;
    }
    if (part.message) {
      stack.push(part.message);
      continue;
    }
    yield part;
  }
}

function base64Lines(body: Buffer): Buffer {
  const lines: string[] = [];
  for (let i = 0; i < body.length; i += BASE64_LINE_INPUT) lines.push(body.toString('base64', i, Math.min(i + BASE64_LINE_INPUT, body.length)));
  return Buffer.from(lines.join('\r\n'), 'latin1');
}
