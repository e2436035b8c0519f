/**
 * Incremental, pull-based IMAP command reader: frames lines and literals
 * (RFC 9051 §4.3, RFC 7888 LITERAL+, RFC 3516 literal8) and parses each
 * complete command into an ImapCommand.
 *
 * Pull-based because a client may pipeline "a IDLE\r\nDONE\r\n" or an
 * AUTHENTICATE exchange in one packet: the session changes mode (expectLine)
 * between next() calls, so nothing is parsed ahead of what it asked for.
 *
 * Threats guarded against: endless lines (discarded past maxLineBytes without
 * buffering), huge literals (refused before "+", or skipped unbuffered when
 * non-synchronising), deep nesting (maxNesting), and any malformed input
 * (next() never throws).
 */
import { limits } from '../limits.js';
import { ByteQueue } from './byte-queue.js';
import { isTagChar, parseCommand } from './parse-command.js';
import type { ImapCommand } from './types.js';

export interface ReaderOptions {
  maxLineBytes: number;
  maxLiteralBytes: number;
  maxAppendLiteralBytes: number;
  maxNesting: number;
  /**
   * Largest non-synchronising literal ({n+}) accepted; larger ones are
   * answered BAD [TOOBIG] and their bytes skipped. 4096 while LITERAL- is
   * advertised (RFC 7888 §4, before login), unlimited under LITERAL+
   * (then only the limits above apply). Default: unlimited.
   */
  maxNonSyncLiteralBytes?: number;
  /**
   * APPEND literals larger than this are not collected but handed over as
   * they arrive ('literal-start', then 'literal-data' events), so that the
   * message is written to the store without ever being held whole; the
   * command then carries an empty placeholder Buffer in its place. Every
   * limit and the "+" rules stay as for a collected literal. Default: never.
   */
  streamAppendLiteralsOver?: number;
}

export type ReaderEvent =
  | { type: 'command'; command: ImapCommand }
  /** `status`: how to answer; absent means BAD, or NO for code TOOBIG (an over-limit literal, RFC 9051 §7.1). */
  | { type: 'bad'; tag: string; text: string; code?: string; status?: 'NO' | 'BAD' }
  | { type: 'continue' }
  | { type: 'line'; line: string }
  /**
   * An APPEND literal of `size` octets will be handed over in 'literal-data'
   * events; `placeholder` stands for it in the command. For a synchronising
   * literal the session sends "+" now (it was checked against the limits).
   */
  | { type: 'literal-start'; size: number; synchronising: boolean; placeholder: Buffer }
  /** The next octets of the streamed literal; `last` on its final piece. */
  | { type: 'literal-data'; chunk: Buffer; last: boolean };

type Phase =
  /** Reading a line of the command (first line, or the text after a literal). */
  | { kind: 'line' }
  /** Collecting (or with `streamed`, handing over) the bytes of an accepted literal. */
  | { kind: 'literal'; remaining: number; streamed: boolean }
  /** Skipping an over-limit non-synchronising literal, then the rest of its command, then reporting `after`. */
  | { kind: 'skip-literal'; remaining: number; after: ReaderEvent | null }
  /**
   * Discarding up to the next LF, then reporting `after` (if any). If that
   * line ends in a non-synchronising literal, its bytes are skipped too, so
   * literal content is never mistaken for commands.
   */
  | { kind: 'discard-line'; after: ReaderEvent | null };

/** A literal marker ending a line: ~{n}, {n} or {n+} (RFC 9051 §9 literal, RFC 7888, RFC 3516). */
const LITERAL_AT_END = /(~?)\{(\d{1,20})(\+?)\}$/;
/** Long enough for any marker the regex accepts. */
const MARKER_TAIL = 32;

export class CommandReader {
  private readonly queue = new ByteQueue();
  private phase: Phase = { kind: 'line' };
  private rawLineWanted = false;
  /** The command being framed. */
  private texts: Buffer[] = [];
  private literals: Buffer[] = [];
  private literalParts: Buffer[] = [];
  private textBytes = 0;
  /** Literal octets accepted so far for the command being framed (its literals together obey the limit). */
  private literalBytes = 0;
  /** Last bytes of the line being discarded, to spot a literal marker at its end. */
  private discardTail = Buffer.alloc(0);

  private maxNonSyncLiteralBytes: number;
  private maxAppendLiteralBytes: number;

  constructor(private readonly opts: ReaderOptions) {
    this.maxNonSyncLiteralBytes = opts.maxNonSyncLiteralBytes ?? Number.POSITIVE_INFINITY;
    this.maxAppendLiteralBytes = opts.maxAppendLiteralBytes;
  }

  /**
   * The session keeps APPEND to the small literal limit until login: APPEND
   * cannot run before it, so a stranger must not make us buffer a
   * message-sized literal (it would only be refused afterwards).
   */
  setMaxAppendLiteralBytes(n: number): void {
    this.maxAppendLiteralBytes = n;
  }

  /** LITERAL- before login, LITERAL+ after (RFC 7888): the session raises the limit once authenticated. */
  setMaxNonSyncLiteralBytes(n: number): void {
    this.maxNonSyncLiteralBytes = n;
  }

  /** Bytes held in memory (unread input, the command so far): for limits tests and metrics. */
  get bufferedBytes(): number {
    const literalBytes = [...this.literals, ...this.literalParts].reduce((n, b) => n + b.length, 0);
    return this.queue.length + this.textBytes + literalBytes;
  }

  /** Buffers bytes; parsing happens only in next(). */
  push(chunk: Buffer): void {
    this.queue.push(chunk);
  }

  /** The next complete line is returned raw as { type: 'line' } (SASL responses, IDLE's DONE). */
  expectLine(): void {
    this.rawLineWanted = true;
  }

  /** Drops every buffered byte and any half-read command (after STARTTLS, RFC 9051 §6.2.1). */
  reset(): void {
    this.queue.clear();
    this.phase = { kind: 'line' };
    this.rawLineWanted = false;
    this.dropCommand();
  }

  /** Extracts one event; null when more bytes are needed. Never throws. */
  next(): ReaderEvent | null {
    for (;;) {
      const phase = this.phase;
      switch (phase.kind) {
        case 'discard-line': {
          const lf = this.queue.indexOfLf();
          const end = lf < 0 ? this.queue.length : lf;
          const tail = Buffer.concat([this.discardTail, this.queue.slice(Math.max(0, end - MARKER_TAIL), end)]);
          this.discardTail = tail.subarray(Math.max(0, tail.length - MARKER_TAIL));
          this.queue.drop(lf < 0 ? end : lf + 1);
          if (lf < 0) return null;
          const event = this.afterDiscardedLine(stripEol(this.discardTail), phase.after);
          if (event === 'again') continue;
          return event;
        }
        case 'skip-literal': {
          const n = Math.min(phase.remaining, this.queue.length);
          this.queue.drop(n);
          phase.remaining -= n;
          if (phase.remaining > 0) return null;
          this.discard(phase.after);
          continue;
        }
        case 'literal': {
          const n = Math.min(phase.remaining, this.queue.length);
          if (phase.streamed) {
            if (n === 0) return null;
            const chunk = this.queue.take(n);
            phase.remaining -= n;
            if (phase.remaining === 0) this.phase = { kind: 'line' };
            return { type: 'literal-data', chunk, last: phase.remaining === 0 };
          }
          if (n > 0) this.literalParts.push(this.queue.take(n));
          phase.remaining -= n;
          if (phase.remaining > 0) return null;
          this.literals.push(Buffer.concat(this.literalParts));
          this.literalParts = [];
          this.phase = { kind: 'line' };
          continue;
        }
        case 'line': {
          const event = this.rawLineWanted && this.texts.length === 0 ? this.readRawLine() : this.readCommandLine();
          if (event === 'again') continue;
          return event;
        }
      }
    }
  }

  private readRawLine(): ReaderEvent | null {
    const lf = this.queue.indexOfLf();
    if (lf < 0) {
      if (this.queue.length <= this.opts.maxLineBytes) return null;
      this.rawLineWanted = false;
      this.discard(null);
      return { type: 'bad', tag: '*', text: 'Line too long', code: 'TOOBIG' };
    }
    const line = stripEol(this.queue.take(lf + 1));
    this.rawLineWanted = false;
    if (line.length > this.opts.maxLineBytes) return { type: 'bad', tag: '*', text: 'Line too long', code: 'TOOBIG' };
    return { type: 'line', line: line.toString('utf8') };
  }

  /** Reads one line of a command; 'again' means state changed without an event. */
  private readCommandLine(): ReaderEvent | null | 'again' {
    const lf = this.queue.indexOfLf();
    if (lf < 0) {
      if (this.textBytes + this.queue.length <= this.opts.maxLineBytes) return null;
      // Report now, so the session can count it, and discard the rest unbuffered.
      const tag = tagOf(this.texts[0] ?? this.queue.peek(MARKER_TAIL * 4));
      this.dropCommand();
      this.discard(null);
      return tooBig(tag, 'Command line too long');
    }
    const line = stripEol(this.queue.take(lf + 1));
    if (this.texts.length === 0 && line.length === 0) return 'again'; // stray empty line: ignored
    if (this.textBytes + line.length > this.opts.maxLineBytes) {
      const tag = tagOf(this.texts[0] ?? line);
      this.dropCommand();
      this.afterDiscardedLine(line.subarray(Math.max(0, line.length - MARKER_TAIL)), null);
      return tooBig(tag, 'Command line too long');
    }
    this.texts.push(line);
    this.textBytes += line.length;

    const marker = LITERAL_AT_END.exec(line.toString('latin1', Math.max(0, line.length - MARKER_TAIL)));
    if (!marker) return this.finishCommand();

    const size = Number(marker[2]);
    const synchronising = marker[3] !== '+';
    if (!synchronising && size > this.maxNonSyncLiteralBytes) {
      // RFC 7888 §4 (LITERAL-): a larger non-synchronising literal is refused with BAD [TOOBIG]; its bytes are skipped.
      const tag = tagOf(this.texts[0]);
      this.dropCommand();
      const text = `Non-synchronising literals are limited to ${this.maxNonSyncLiteralBytes} bytes here (LITERAL-)`;
      this.phase = { kind: 'skip-literal', remaining: size, after: { type: 'bad', tag, text, code: 'TOOBIG', status: 'BAD' } };
      return 'again';
    }
    // The limit holds for all literals of one command together: otherwise a command could chain
    // literals ("x {65536}" + 64 KiB + " x {65536}" ...) and grow without bound (MULTIAPPEND included).
    const limit = isAppend(this.texts[0]) ? this.maxAppendLiteralBytes : this.opts.maxLiteralBytes;
    if (this.literalBytes + size > limit) {
      const tag = tagOf(this.texts[0]);
      const text =
        this.literalBytes === 0
          ? `Literal of ${marker[2]} bytes exceeds the limit of ${limit}`
          : `The literals of this command exceed the limit of ${limit} bytes in total`;
      this.dropCommand();
      const bad = tooBig(tag, text);
      // A refused synchronising literal is never sent (RFC 9051 §4.3): the command ends here.
      if (synchronising) return bad;
      // A non-synchronising one is already on its way (RFC 7888 §4): skip its bytes and its line.
      this.phase = { kind: 'skip-literal', remaining: size, after: bad };
      return 'again';
    }
    this.literalBytes += size;
    if (size > 0 && size > (this.opts.streamAppendLiteralsOver ?? Number.POSITIVE_INFINITY) && isAppend(this.texts[0])) {
      const placeholder = Buffer.alloc(0);
      this.literals.push(placeholder);
      this.phase = { kind: 'literal', remaining: size, streamed: true };
      return { type: 'literal-start', size, synchronising, placeholder };
    }
    this.phase = { kind: 'literal', remaining: size, streamed: false };
    return synchronising ? { type: 'continue' } : 'again';
  }

  private discard(after: ReaderEvent | null): void {
    this.phase = { kind: 'discard-line', after };
    this.discardTail = Buffer.alloc(0);
  }

  /** A discarded line ended: skip a non-synchronising literal it announced, else report `after`. */
  private afterDiscardedLine(tail: Buffer, after: ReaderEvent | null): ReaderEvent | 'again' {
    const marker = LITERAL_AT_END.exec(tail.toString('latin1'));
    if (marker && marker[3] === '+') {
      this.phase = { kind: 'skip-literal', remaining: Number(marker[2]), after };
      return 'again';
    }
    // A synchronising literal is not sent until "+", which never comes: the command ends here.
    this.phase = { kind: 'line' };
    return after ?? 'again';
  }

  private finishCommand(): ReaderEvent {
    const result = parseCommand({ texts: this.texts, literals: this.literals }, this.opts.maxNesting);
    this.dropCommand();
    return result.ok ? { type: 'command', command: result.command } : { type: 'bad', tag: result.tag, text: result.text };
  }

  private dropCommand(): void {
    this.texts = [];
    this.literals = [];
    this.literalParts = [];
    this.textBytes = 0;
    this.literalBytes = 0;
  }
}

function tooBig(tag: string, text: string): ReaderEvent {
  return { type: 'bad', tag, text, code: 'TOOBIG' };
}

function stripEol(line: Buffer): Buffer {
  let end = line.length;
  if (end > 0 && line[end - 1] === 0x0a) end--;
  if (end > 0 && line[end - 1] === 0x0d) end--;
  return line.subarray(0, end);
}

/** The tag at the start of a command line, or '*' when there is no valid one. */
function tagOf(line: Buffer): string {
  let end = 0;
  while (end < line.length && isTagChar(line[end])) end++;
  if (end === 0 || end > limits.imapMaxTagBytes || (end < line.length && line[end] !== 0x20)) return '*';
  return line.toString('latin1', 0, end);
}

/** APPEND and REPLACE (RFC 8508) literals get the message-size limit; everything else the small one. */
function isAppend(firstLine: Buffer): boolean {
  const m = /^[^ ]+ ([^ ]+)(?: ([^ ]+))?/.exec(firstLine.toString('latin1', 0, 64));
  if (m === null) return false;
  const name = m[1].toUpperCase();
  return name === 'APPEND' || name === 'REPLACE' || (name === 'UID' && m[2]?.toUpperCase() === 'REPLACE');
}
