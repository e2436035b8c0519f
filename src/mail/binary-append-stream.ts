/**
 * encodeBinaryParts (binary-append.ts) for a literal8 already in the store,
 * without holding it: the same octets out, written chunk by chunk. The MIME
 * structure is the one the summarizer computed when the literal was stored
 * (parseMessage of these octets), so only each leaf part's header is read
 * whole; a leaf's body is scanned for NUL as a stream when that decides, and
 * the message is then read once, in order, with the binary bodies base64
 * encoded on the way into lines of 76 characters (RFC 2045 §6.8).
 */
import { BASE64_LINE, BASE64_LINE_INPUT, leafEdits, leafEncoding, leafParts, type Edit } from './binary-append.js';
import { withPauses } from './decode-stream.js';
import { HeaderBudget, MAX_HEADER_FIELDS, scanHeader } from './headers.js';
import { readContentType, type MessageStructure } from './parse.js';
import { readRange, type OpenRange } from './text-stream.js';

export interface StoredLiteral {
  /** parseMessage of the octets (a stored summary's structure that isFullStructure accepts). */
  structure: MessageStructure;
  open: OpenRange;
  /** Whether any octet is NUL (counted as the literal arrived). */
  hasNul: boolean;
}

export type StreamedBinaryAppendResult =
  /** Nothing needed re-encoding: the stored octets are the message (nothing was written). */
  | { kind: 'unchanged' }
  /** The re-encoded message was written. */
  | { kind: 'ok'; converted: number }
  /** NUL octets remain where no re-encoding can remove them; what was written must be dropped. */
  | { kind: 'nul' };

class Gone extends Error {
  constructor() {
    super('the stored literal vanished while it was re-encoded');
  }
}

/** encodeBinaryParts of the stored octets, written to `write` in order; same result, same octets. */
export async function encodeStoredBinaryParts(literal: StoredLiteral, write: (chunk: Buffer) => Promise<void>): Promise<StreamedBinaryAppendResult> {
  const edits: Edit[] = [];
  let converted = 0;
  for (const part of leafParts(literal.structure.root)) {
    const header = await readRange(literal.open, part.headerStart, part.bodyStart);
    if (!header) throw new Gone();
    const leaf = leafEncoding(header);
    if (!leaf) continue;
    if (!leaf.binary && !(literal.hasNul && (await holdsNul(literal.open, part.bodyStart, part.end)))) continue;
    edits.push(...leafEdits(part, leaf.cteFields));
    converted++;
  }
  if (edits.length === 0) return literal.hasNul ? { kind: 'nul' } : { kind: 'unchanged' };
  const source = await literal.open(0, literal.structure.size);
  if (!source) throw new Gone();
  let nul = false;
  await applyEdits(withPauses(source), edits, async (chunk) => {
    // Base64 and the new field hold no NUL: only copied octets can.
    if (chunk.includes(0)) nul = true;
    else await write(chunk);
    return !nul;
  });
  return nul ? { kind: 'nul' } : { kind: 'ok', converted };
}

async function holdsNul(open: OpenRange, start: number, end: number): Promise<boolean> {
  const stream = await open(start, end);
  if (!stream) throw new Gone();
  for await (const chunk of withPauses(stream)) {
    if (chunk.includes(0)) {
      (stream as { destroy?: () => void }).destroy?.();
      return true;
    }
  }
  return false;
}

/**
 * The octets of `source` (the whole message, from offset 0) with the edits
 * (sorted, not overlapping) applied, handed to `out` in order; stops when
 * `out` answers false.
 */
async function applyEdits(source: AsyncIterable<Buffer>, edits: Edit[], out: (chunk: Buffer) => Promise<boolean>): Promise<void> {
  const cursor = new EditCursor(edits, out);
  let pos = 0;
  for await (const chunk of source) {
    if (!(await cursor.pass(chunk, pos))) return;
    pos += chunk.length;
  }
  // Edits at the very end: an insertion, or the body edit of an empty last part.
  await cursor.enter(pos);
}

/** Where applyEdits is in its edits: the one whose range is being passed over, if any, and its encoder. */
class EditCursor {
  private next = 0;
  private current: Edit | null = null;
  private encoder: Base64Lines | null = null;

  constructor(
    private readonly edits: Edit[],
    private readonly out: (chunk: Buffer) => Promise<boolean>,
  ) {}

  /** The octets of `chunk`, which starts at `pos`; false to stop. */
  async pass(chunk: Buffer, pos: number): Promise<boolean> {
    let i = 0;
    while (i < chunk.length) {
      if (!(await this.enter(pos + i))) return false;
      const edit = this.current;
      if (edit) {
        const take = Math.min(chunk.length - i, edit.end - (pos + i));
        if (this.encoder && !(await this.emit(this.encoder.push(chunk.subarray(i, i + take))))) return false;
        i += take;
        if (pos + i === edit.end && !(await this.leave())) return false;
        continue;
      }
      const until = this.next < this.edits.length ? this.edits[this.next]!.start : Number.POSITIVE_INFINITY;
      const take = Math.min(chunk.length - i, until - (pos + i));
      if (!(await this.emit(chunk.subarray(i, i + take)))) return false;
      i += take;
    }
    return true;
  }

  /** Starts the edits that begin at `at` (finishing those with nothing to pass over); false to stop. */
  async enter(at: number): Promise<boolean> {
    while (!this.current && this.next < this.edits.length && this.edits[this.next]!.start === at) {
      const edit = this.edits[this.next++]!;
      this.current = edit;
      if (edit.bytes) {
        if (!(await this.emit(edit.bytes))) return false;
      } else this.encoder = new Base64Lines();
      if (edit.end === at && !(await this.leave())) return false;
    }
    return true;
  }

  private async leave(): Promise<boolean> {
    const tail = this.encoder ? this.encoder.end() : null;
    this.current = null;
    this.encoder = null;
    return tail === null || this.emit(tail);
  }

  private emit(chunk: Buffer): Promise<boolean> {
    return chunk.length === 0 ? Promise.resolve(true) : this.out(chunk);
  }
}

const CRLF = Buffer.from('\r\n');

/** base64Lines (binary-append.ts) as a stream: BASE64_LINE_INPUT octets a line, lines joined by CRLF. */
class Base64Lines {
  private carry: Buffer = Buffer.alloc(0);
  private first = true;

  push(chunk: Buffer): Buffer {
    const data = this.carry.length > 0 ? Buffer.concat([this.carry, chunk]) : chunk;
    const whole = data.length - (data.length % BASE64_LINE_INPUT);
    this.carry = Buffer.from(data.subarray(whole));
    if (whole === 0) return Buffer.alloc(0);
    // Whole lines encode without padding, so one call gives the lines' characters back to back.
    const text = data.toString('base64', 0, whole);
    const lines = text.length / BASE64_LINE;
    const out = Buffer.allocUnsafe(text.length + lines * 2 - (this.first ? 2 : 0));
    let o = 0;
    for (let l = 0; l < lines; l++) {
      if (!this.first) o += CRLF.copy(out, o);
      this.first = false;
      o += out.write(text.slice(l * BASE64_LINE, (l + 1) * BASE64_LINE), o, 'latin1');
    }
    return out;
  }

  end(): Buffer {
    if (this.carry.length === 0) return Buffer.alloc(0);
    const line = Buffer.from(this.carry.toString('base64'), 'latin1');
    return this.first ? line : Buffer.concat([CRLF, line]);
  }
}

/**
 * Whether a stored summary's structure is parseMessage's own, which the
 * re-encoding must follow: a summary that fell back to one opaque part (its
 * worker failed, or the full one was too large) is not, unless the message
 * parses as one leaf part anyway. `header`: the octets [0, bodyStart).
 */
export function isFullStructure(structure: MessageStructure, header: Buffer): boolean {
  const root = structure.root;
  if (root.typeFromHeader || root.children || root.message) return true;
  // As parsePart decides for the top level: no usable Content-Type, or a multipart without a boundary, is one leaf.
  const ct = readContentType(header, scanHeader(header, 0, header.length, MAX_HEADER_FIELDS).fields, new HeaderBudget());
  return ct === null || (ct.type.toLowerCase() === 'multipart' && !ct.params['boundary']);
}
