/**
 * Incremental POP3 command-line reader. Bytes go in with `push` in whatever
 * pieces the socket delivers; complete lines come out one at a time with
 * `next`, so a session can take pipelined commands (RFC 2449 §6.6) strictly
 * in order and leave the rest queued while an async command runs.
 *
 * Threat guarded against: a peer that never sends a line end. A line longer
 * than `maxLineBytes` (terminator included) is dropped while it streams in —
 * only the bytes of the current line up to the limit are ever held — and is
 * reported once, as `{ tooLong: true }`, when its line end finally arrives.
 *
 * Lines end in CRLF (RFC 1939 §3); a bare LF is accepted as well, as Dovecot
 * and most servers do, since some clients send it.
 */
import { limits } from '../limits.js';

export interface TooLongLine {
  tooLong: true;
}

export type ReadLine = string | TooLongLine;

const LF = 0x0a;
const CR = 0x0d;

export class Pop3LineReader {
  /** Complete lines with the number of octets each took on the wire. */
  private readonly queue: Array<{ line: ReadLine; octets: number }> = [];
  /** Bytes of complete lines waiting in `queue` (as received), for the session's pause decision. */
  private queuedBytes = 0;
  /** The current, incomplete line. */
  private partial: Buffer[] = [];
  private partialBytes = 0;
  /** True while dropping the rest of an over-long line. */
  private discarding = false;

  constructor(private readonly maxLineBytes: number = limits.pop3MaxLineBytes) {}

  /** Bytes held by the reader: queued lines plus the current partial line. */
  get bufferedBytes(): number {
    return this.queuedBytes + this.partialBytes;
  }

  push(chunk: Buffer): void {
    let start = 0;
    while (start < chunk.length) {
      const lf = chunk.indexOf(LF, start);
      const end = lf === -1 ? chunk.length : lf;
      this.appendPartial(chunk.subarray(start, end));
      if (lf === -1) return;
      this.finishLine();
      start = lf + 1;
    }
  }

  /** The next complete line (without its line end), a too-long marker, or null when none is complete yet. */
  next(): ReadLine | null {
    const item = this.queue.shift();
    if (item === undefined) return null;
    this.queuedBytes -= item.octets;
    return item.line;
  }

  /**
   * Forget everything buffered. Used after STLS: bytes that arrived before the
   * TLS handshake must not be executed as commands afterwards (RFC 2595 §4).
   */
  reset(): void {
    this.queue.length = 0;
    this.queuedBytes = 0;
    this.partial = [];
    this.partialBytes = 0;
    this.discarding = false;
  }

  private appendPartial(bytes: Buffer): void {
    if (this.discarding || bytes.length === 0) return;
    // The line end (at least LF) still has to come, so a line already holding
    // maxLineBytes octets can only end up longer than the limit.
    if (this.partialBytes + bytes.length >= this.maxLineBytes) {
      this.discarding = true;
      this.partial = [];
      this.partialBytes = 0;
      return;
    }
    // Copy: the caller may reuse its buffer, and a subarray would pin a large chunk.
    this.partial.push(Buffer.from(bytes));
    this.partialBytes += bytes.length;
  }

  private finishLine(): void {
    if (this.discarding) {
      this.discarding = false;
      // Only the marker is kept; count one octet so that the session sees it as pending input.
      this.queue.push({ line: { tooLong: true }, octets: 1 });
      this.queuedBytes += 1;
      return;
    }
    let line = this.partial.length === 1 ? this.partial[0] : Buffer.concat(this.partial, this.partialBytes);
    const octets = this.partialBytes + 1;
    this.partial = [];
    this.partialBytes = 0;
    if (line.length > 0 && line[line.length - 1] === CR) line = line.subarray(0, line.length - 1);
    // UTF-8 because passwords may be UTF-8; invalid bytes become U+FFFD and never throw.
    this.queue.push({ line: line.toString('utf8'), octets });
    this.queuedBytes += octets;
  }
}
