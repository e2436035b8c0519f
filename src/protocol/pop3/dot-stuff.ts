/**
 * Message bytes onto the POP3 wire, exactly (RFC 1939 §3):
 *  - every line that begins with "." gets one more "." (byte-stuffing);
 *  - a bare LF line end in stored mail becomes CRLF (the wire is CRLF only;
 *    a bare CR that is not before LF is left as it is);
 *  - a message not ending in a line end gets CRLF, so the terminating
 *    ".\r\n" starts a line of its own.
 *
 * `DotStuffer` streams: chunks may split anywhere, including between CR and
 * LF or just before a ".", and the output is the same as for the whole.
 * `wireSize` gives the size RETR reports (LIST/STAT): the message after line
 * end normalisation, before dot-stuffing, including a CRLF that had to be
 * added at the end — the octets a client has once it removed the stuffing.
 */

const LF = 0x0a;
const CR = 0x0d;
const DOT = 0x2e;
const CRLF = Buffer.from('\r\n');
const DOT_BUF = Buffer.from('.');
const TERMINATOR = Buffer.from('.\r\n');

export class DotStuffer {
  private atLineStart = true;
  private lastByte = -1;
  private written = false;

  /** Encodes one chunk; returns the bytes to send (possibly empty). */
  push(chunk: Buffer): Buffer {
    if (chunk.length === 0) return Buffer.alloc(0);
    const out: Buffer[] = [];
    let start = 0;
    while (start < chunk.length) {
      if (this.atLineStart && chunk[start] === DOT) out.push(DOT_BUF);
      this.atLineStart = false;
      const lf = chunk.indexOf(LF, start);
      if (lf === -1) {
        out.push(chunk.subarray(start));
        break;
      }
      const before = lf > start ? chunk[lf - 1] : this.lastByteBefore(start, chunk);
      if (before === CR) {
        out.push(chunk.subarray(start, lf + 1));
      } else {
        out.push(chunk.subarray(start, lf), CRLF);
      }
      this.atLineStart = true;
      start = lf + 1;
    }
    this.lastByte = chunk[chunk.length - 1];
    this.written = true;
    return out.length === 1 ? out[0] : Buffer.concat(out);
  }

  /** The final CRLF when the message did not end with a line end, then ".\r\n". */
  end(): Buffer {
    return Buffer.concat([this.finalLineEnd(), TERMINATOR]);
  }

  /** CRLF, LF (after a trailing bare CR, which then pairs with it) or nothing. */
  finalLineEnd(): Buffer {
    if (!this.written || this.atLineStart) return Buffer.alloc(0);
    return this.lastByte === CR ? Buffer.from('\n') : CRLF;
  }

  /** The byte before position `start` of `chunk`: inside the chunk, or the last byte of the previous one. */
  private lastByteBefore(start: number, chunk: Buffer): number {
    return start > 0 ? chunk[start - 1] : this.lastByte;
  }
}

/** The whole message dot-stuffed and terminated: what follows "+OK" for RETR. */
export function dotStuff(message: Buffer): Buffer {
  const stuffer = new DotStuffer();
  return Buffer.concat([stuffer.push(message), stuffer.end()]);
}

const LF_DOT = Buffer.from('\n.');

/**
 * dotStuff of a message already in wire form: CRLF line ends only, ending
 * with one (or empty), which is when wireSize(message) === message.length.
 * Only the rare lines that begin with "." are touched, found by a native
 * search, so a message costs a few copies, not a step per line.
 */
export function dotStuffCrlf(message: Buffer): Buffer {
  const out: Buffer[] = [];
  let start = 0;
  if (message[0] === DOT) out.push(DOT_BUF);
  for (let at = message.indexOf(LF_DOT); at !== -1; at = message.indexOf(LF_DOT, at + 1)) {
    out.push(message.subarray(start, at + 1), DOT_BUF);
    start = at + 1;
  }
  out.push(start === 0 ? message : message.subarray(start), TERMINATOR);
  return Buffer.concat(out);
}

/**
 * Octets of the message as a client receives it after un-stuffing: CRLF line
 * ends, plus the final line end RETR adds. Counted without building a copy.
 */
export function wireSize(message: Buffer): number {
  let size = message.length;
  let start = 0;
  for (;;) {
    const lf = message.indexOf(LF, start);
    if (lf === -1) break;
    if (lf === 0 || message[lf - 1] !== CR) size += 1;
    start = lf + 1;
  }
  if (message.length > 0 && message[message.length - 1] !== LF) size += message[message.length - 1] === CR ? 1 : 2;
  return size;
}
