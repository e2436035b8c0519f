/**
 * Streams POP3 replies past without building them: a status line, then for a
 * multi-line reply the body up to the terminating "." line (RFC 1939 §3),
 * which may straddle reads. The body is counted, not kept: the scanner jumps
 * from one line-initial "." to the next, so it touches only the octets that
 * can end or unstuff a message, and reports the message's own octets (the
 * dot-stuffing removed), which equal the size LIST gives. Replies are taken
 * in order, so pipelined commands (RFC 2449 §6.6) are read as they come.
 */
import { MAX_LINE, WireProtocolError } from './imap-scanner.js';

export interface Pop3Reply {
  ok: boolean;
  /** The status line without CRLF, e.g. "+OK 120 octets". */
  status: string;
  /** Octets of the whole reply, status line and terminator included. */
  octets: number;
  /** Octets of the body as the message has them: without the terminator and the stuffed dots. */
  messageOctets: number;
}

export interface Pop3Expect {
  /** Does a +OK reply carry a multi-line body (LIST, UIDL, RETR, TOP, CAPA)? */
  multiline: boolean;
  /** Receive each body line (dot-stuffing removed) as text; without it the body is only counted. */
  line?: (text: string) => void;
  /** Stop reading after this +OK (STLS): push() returns what followed. */
  switches?: boolean;
  done(reply: Pop3Reply): void;
}

const LF = 0x0a;
const CR = 0x0d;
const DOT = 0x2e;
const LF_DOT = Buffer.from('\n.', 'latin1');
const EMPTY = Buffer.alloc(0);

/** Where the body scan stands between two reads. */
const enum At {
  /** Inside a line. */
  Mid,
  /** At the start of a line. */
  LineStart,
  /** After a line-initial ".". */
  Dot,
  /** After a line-initial ".\r". */
  DotCr,
}

export class Pop3Scanner {
  halt = false;
  private readonly queue: Pop3Expect[] = [];
  private phase: 'status' | 'body' = 'status';
  private partial: Buffer | null = null;
  private at = At.LineStart;
  private reply: Pop3Reply = newReply();

  expect(e: Pop3Expect): void {
    this.queue.push(e);
  }

  get waiting(): number {
    return this.queue.length;
  }

  /** Consumes a chunk; returns the octets after a switching reply (empty unless halted). */
  push(chunk: Buffer): Buffer {
    let pos = 0;
    while (pos < chunk.length && !this.halt) {
      const head = this.queue[0];
      // Octets nobody asked for (a server's farewell before it closes) are dropped.
      if (!head) return EMPTY;
      if (this.phase === 'status') pos = this.status(head, chunk, pos);
      else pos = head.line ? this.lines(head, chunk, pos) : this.count(chunk, pos);
    }
    return pos < chunk.length ? chunk.subarray(pos) : EMPTY;
  }

  private status(head: Pop3Expect, chunk: Buffer, pos: number): number {
    const line = this.takeLine(chunk, pos);
    if (!line) return chunk.length;
    const { text, next } = line;
    this.reply.status = text;
    this.reply.octets += next - pos + (line.kept ?? 0);
    this.reply.ok = text.startsWith('+OK');
    if (head.multiline && this.reply.ok) {
      this.phase = 'body';
      // The status line's CRLF puts the body at a line start, so an empty body is just ".".
      this.at = At.LineStart;
    } else {
      if (head.switches && this.reply.ok) this.halt = true;
      this.finish();
    }
    return next;
  }

  /** One line from `pos` (joined with what an earlier read left), or null when it has not ended yet. */
  private takeLine(chunk: Buffer, pos: number): { text: string; next: number; kept?: number } | null {
    const nl = chunk.indexOf(LF, pos);
    if (nl < 0) {
      const length = (this.partial?.length ?? 0) + chunk.length - pos;
      if (length > MAX_LINE) throw new WireProtocolError(`reply line longer than ${MAX_LINE} octets`);
      this.partial = this.partial ? Buffer.concat([this.partial, chunk.subarray(pos)]) : Buffer.from(chunk.subarray(pos));
      return null;
    }
    const kept = this.partial;
    this.partial = null;
    if ((kept?.length ?? 0) + nl + 1 - pos > MAX_LINE) throw new WireProtocolError(`reply line longer than ${MAX_LINE} octets`);
    const end = nl > pos && chunk[nl - 1] === CR ? nl - 1 : nl;
    let text: string;
    if (kept) {
      const joined = Buffer.concat([kept, chunk.subarray(pos, nl + 1)]);
      const e = joined.length >= 2 && joined[joined.length - 2] === CR ? joined.length - 2 : joined.length - 1;
      text = joined.toString('utf8', 0, e);
    } else text = chunk.toString('utf8', pos, end);
    return { text, next: nl + 1, kept: kept?.length };
  }

  /** A body delivered line by line (CAPA, UIDL, LIST): small replies the caller reads. */
  private lines(head: Pop3Expect, chunk: Buffer, pos: number): number {
    const line = this.takeLine(chunk, pos);
    if (!line) return chunk.length;
    this.reply.octets += line.next - pos + (line.kept ?? 0);
    if (line.text === '.') {
      this.finish();
      return line.next;
    }
    // RFC 1939 §3: a line-initial "." was doubled by the server.
    const text = line.text.startsWith('.') ? line.text.slice(1) : line.text;
    this.reply.messageOctets += Buffer.byteLength(text) + 2;
    head.line?.(text);
    return line.next;
  }

  /** A body counted, not kept (RETR, TOP): from line-initial "." to line-initial ".". */
  private count(chunk: Buffer, pos: number): number {
    const start = pos;
    const n = chunk.length;
    let stuffed = 0;
    let end = -1;
    while (pos < n) {
      if (this.at === At.Mid) {
        const i = chunk.indexOf(LF_DOT, pos);
        if (i < 0) {
          this.at = chunk[n - 1] === LF ? At.LineStart : At.Mid;
          pos = n;
          break;
        }
        pos = i + 2;
        this.at = At.Dot;
      } else if (this.at === At.LineStart) {
        if (chunk[pos] === DOT) {
          pos++;
          this.at = At.Dot;
        } else this.at = At.Mid;
      } else if (this.at === At.Dot) {
        if (chunk[pos] === CR) {
          pos++;
          this.at = At.DotCr;
        } else {
          stuffed++;
          this.at = At.Mid;
        }
      } else {
        if (chunk[pos] === LF) {
          end = pos + 1;
          break;
        }
        // ".\r" followed by more: a stuffed line after all.
        stuffed++;
        this.at = At.Mid;
      }
    }
    const consumed = (end < 0 ? n : end) - start;
    this.reply.octets += consumed;
    this.reply.messageOctets += consumed - stuffed;
    if (end < 0) return n;
    // The terminator ".\r\n" is not part of the message.
    this.reply.messageOctets -= 3;
    this.finish();
    return end;
  }

  private finish(): void {
    const head = this.queue.shift();
    const reply = this.reply;
    this.reply = newReply();
    this.phase = 'status';
    head?.done(reply);
  }
}

function newReply(): Pop3Reply {
  return { ok: false, status: '', octets: 0, messageOctets: 0 };
}
