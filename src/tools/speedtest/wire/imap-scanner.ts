/**
 * Streams IMAP server responses past without building them: it splits lines,
 * skips literals (`{n}` and RFC 3516's `~{n}`) by their announced length and
 * hands each line to its sink as a range of the buffer it arrived in. A
 * literal is never copied, so a download of 1 MB messages allocates nothing
 * per message. A line (outside literals) is bounded: a server that sends a
 * longer one is broken or hostile, and buffering it would let it grow us
 * without limit.
 */

/** Longest response line kept while waiting for its end (literals excluded). */
export const MAX_LINE = 64 * 1024;

/** The server broke the protocol; the client turns it into a named failure. */
export class WireProtocolError extends Error {}

export interface ImapScanSink {
  /**
   * One line segment without its CRLF: `continued` is false for a response's first
   * segment, true for the text that follows one of its literals; `octets` is its length on the wire, CRLF included.
   */
  line(buf: Buffer, start: number, end: number, continued: boolean, octets: number): void;
  /** A literal of `size` octets has been skipped. */
  literal(size: number): void;
}

const LF = 0x0a;
const CR = 0x0d;
const OPEN = 0x7b;
const CLOSE = 0x7d;
/** Literal sizes beyond this many digits exceed any mailbox (and Number's exact range). */
const MAX_LITERAL_DIGITS = 15;

export class ImapScanner {
  /** Octets consumed so far. */
  octets = 0;
  /** Set by the sink to stop at the end of the current line (STARTTLS, COMPRESS): push() returns what was left. */
  halt = false;
  private partial: Buffer | null = null;
  private literalLeft = 0;
  private literalSize = 0;
  private continued = false;

  constructor(private readonly sink: ImapScanSink) {}

  /** Consumes a chunk; returns the octets after a halting line (empty unless the sink set halt). */
  push(chunk: Buffer): Buffer {
    let pos = 0;
    const n = chunk.length;
    while (pos < n && !this.halt) {
      if (this.literalLeft > 0) {
        const take = Math.min(this.literalLeft, n - pos);
        pos += take;
        this.literalLeft -= take;
        if (this.literalLeft === 0) this.sink.literal(this.literalSize);
        continue;
      }
      const nl = chunk.indexOf(LF, pos);
      if (nl < 0) {
        this.keep(chunk, pos, n);
        pos = n;
        break;
      }
      if (this.partial) {
        const kept = this.partial;
        this.partial = null;
        if (kept.length + (nl + 1 - pos) > MAX_LINE) throw new WireProtocolError(`response line longer than ${MAX_LINE} octets`);
        const line = Buffer.concat([kept, chunk.subarray(pos, nl + 1)]);
        this.onLine(line, 0, line.length);
      } else {
        if (nl + 1 - pos > MAX_LINE) throw new WireProtocolError(`response line longer than ${MAX_LINE} octets`);
        this.onLine(chunk, pos, nl + 1);
      }
      pos = nl + 1;
    }
    this.octets += pos;
    return pos < n ? chunk.subarray(pos) : EMPTY;
  }

  private keep(chunk: Buffer, start: number, end: number): void {
    const length = (this.partial?.length ?? 0) + end - start;
    if (length > MAX_LINE) throw new WireProtocolError(`response line longer than ${MAX_LINE} octets`);
    // Copied: the chunk it came in is not ours to hold.
    this.partial = this.partial ? Buffer.concat([this.partial, chunk.subarray(start, end)]) : Buffer.from(chunk.subarray(start, end));
  }

  /** A whole line [start, end) including its LF. */
  private onLine(buf: Buffer, start: number, end: number): void {
    let e = end - 1;
    if (e > start && buf[e - 1] === CR) e--;
    const continued = this.continued;
    const size = literalAtEnd(buf, start, e);
    this.continued = size >= 0;
    this.sink.line(buf, start, e, continued, end - start);
    if (size > 0) {
      this.literalLeft = size;
      this.literalSize = size;
    } else if (size === 0) this.sink.literal(0);
  }
}

const EMPTY = Buffer.alloc(0);

/** The n of a line ending in `{n}` (or `{n+}`, `~{n}`), else -1. RFC 9051 §4.3. */
function literalAtEnd(buf: Buffer, start: number, end: number): number {
  if (end - start < 3 || buf[end - 1] !== CLOSE) return -1;
  let i = end - 2;
  if (buf[i] === 0x2b /* + */ || buf[i] === 0x2d /* - */) i--;
  let value = 0;
  let digits = 0;
  let scale = 1;
  for (; i >= start && buf[i] >= 0x30 && buf[i] <= 0x39; i--) {
    if (++digits > MAX_LITERAL_DIGITS) throw new WireProtocolError('literal size out of range');
    value += (buf[i] - 0x30) * scale;
    scale *= 10;
  }
  if (digits === 0 || i < start || buf[i] !== OPEN) return -1;
  return value;
}

/** The number after `key` (e.g. "RFC822.SIZE ") within [start, end), or -1; reads the bytes without making a string. */
export function numberAfter(buf: Buffer, start: number, end: number, key: Buffer): number {
  // Searched within the line only: a search running on through a chunk's literals would cost a pass per line.
  const found = buf.subarray(start, end).indexOf(key);
  if (found < 0) return -1;
  const at = start + found;
  let value = 0;
  let i = at + key.length;
  const first = i;
  for (; i < end && buf[i] >= 0x30 && buf[i] <= 0x39 && i - first < MAX_LITERAL_DIGITS; i++) value = value * 10 + (buf[i] - 0x30);
  return i === first ? -1 : value;
}
