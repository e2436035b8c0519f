/**
 * The client side of the POP3 codec: reads server replies from a byte
 * stream. Single-line replies (`+OK ...`, `-ERR ...`, `+ challenge`) and
 * multi-line bodies ended by `.` CRLF, dot-unstuffed exactly on bytes
 * (RFC 1939 §3) — the body keeps its CRLF line ends and 8-bit bytes, and the
 * terminator may be split across any number of reads.
 */

export interface Pop3StatusLine {
  ok: boolean;
  /** True for a SASL continuation (`+ base64`). */
  continuation: boolean;
  /** Text after `+OK ` / `-ERR ` / `+ `. */
  text: string;
}

/** Protects the client against a server that never ends a line. */
const MAX_STATUS_LINE = 64 * 1024;

export class Pop3ResponseReader {
  /** Bytes received and not yet consumed: `storage[start, end)`. Grows by doubling, so a large RETR is linear. */
  private storage: Buffer = Buffer.alloc(0);
  private start = 0;
  private end = 0;
  /** How far (relative to `start`) a multi-line terminator was already searched for without success. */
  private scanned = 0;

  private get buffer(): Buffer {
    return this.storage.subarray(this.start, this.end);
  }

  private consume(n: number): void {
    this.start += n;
    this.scanned = 0;
    if (this.start === this.end) this.start = this.end = 0;
  }

  push(chunk: Buffer): void {
    if (this.end + chunk.length > this.storage.length) {
      const live = this.end - this.start;
      const needed = live + chunk.length;
      const next = needed > this.storage.length / 2 ? Buffer.allocUnsafe(Math.max(needed * 2, 16 * 1024)) : this.storage;
      this.storage.copy(next, 0, this.start, this.end);
      this.storage = next;
      this.start = 0;
      this.end = live;
    }
    chunk.copy(this.storage, this.end);
    this.end += chunk.length;
  }

  /** The next status line, or null when no complete line is buffered yet. */
  readStatus(): Pop3StatusLine | null {
    const end = this.buffer.indexOf('\r\n');
    if (end === -1) {
      if (this.buffer.length > MAX_STATUS_LINE) throw new Error('POP3 server sent an over-long reply line');
      return null;
    }
    const line = this.buffer.subarray(0, end).toString('utf8');
    this.consume(end + 2);
    if (line.startsWith('+OK')) return { ok: true, continuation: false, text: line.slice(3).trimStart() };
    if (line.startsWith('-ERR')) return { ok: false, continuation: false, text: line.slice(4).trimStart() };
    if (line.startsWith('+')) return { ok: true, continuation: true, text: line.slice(1).trimStart() };
    throw new Error(`POP3 server sent a malformed reply: ${line.slice(0, 200)}`);
  }

  /**
   * The body of a multi-line reply (after its status line was read), dot-unstuffed,
   * or null when its terminating `.` line has not arrived yet. Bytes are never altered
   * except for removing the stuffing dot and the terminator.
   */
  readMultiline(): Buffer | null {
    const buf = this.buffer;
    let terminator = -1;
    if (buf.length >= 3 && buf[0] === 0x2e && buf[1] === 0x0d && buf[2] === 0x0a) terminator = 0;
    else {
      // Resume where the last search stopped (less the 4 bytes a split terminator may straddle).
      const i = buf.indexOf('\r\n.\r\n', Math.max(0, this.scanned - 4));
      if (i !== -1) terminator = i + 2;
      else this.scanned = buf.length;
    }
    if (terminator === -1) return null;
    // Copy out: the storage is reused for later replies.
    const body = Buffer.from(buf.subarray(0, terminator));
    this.consume(terminator + 3);
    return unstuff(body);
  }

  get bufferedBytes(): number {
    return this.end - this.start;
  }
}

/** Removes the extra "." at the start of each line that begins with ".". */
export function unstuff(body: Buffer): Buffer {
  const parts: Buffer[] = [];
  let lineStart = 0;
  let copyFrom = 0;
  while (lineStart < body.length) {
    if (body[lineStart] === 0x2e) {
      parts.push(body.subarray(copyFrom, lineStart));
      copyFrom = lineStart + 1;
    }
    const nl = body.indexOf(0x0a, lineStart);
    if (nl === -1) break;
    lineStart = nl + 1;
  }
  if (copyFrom === 0) return body;
  parts.push(body.subarray(copyFrom));
  return Buffer.concat(parts);
}
