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
  private buffer: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
  }

  /** The next status line, or null when no complete line is buffered yet. */
  readStatus(): Pop3StatusLine | null {
    const end = this.buffer.indexOf('\r\n');
    if (end === -1) {
      if (this.buffer.length > MAX_STATUS_LINE) throw new Error('POP3 server sent an over-long reply line');
      return null;
    }
    const line = this.buffer.subarray(0, end).toString('utf8');
    this.buffer = this.buffer.subarray(end + 2);
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
      const i = buf.indexOf('\r\n.\r\n');
      if (i !== -1) terminator = i + 2;
    }
    if (terminator === -1) return null;
    const body = buf.subarray(0, terminator);
    this.buffer = buf.subarray(terminator + 3);
    return unstuff(body);
  }

  get bufferedBytes(): number {
    return this.buffer.length;
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
