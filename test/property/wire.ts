/**
 * Shared pieces of the hostile-input properties (no tests of its own):
 * a logger that remembers errors, splitting bytes into socket-sized pieces,
 * and checkers that read what a session wrote the way a strict client would.
 */
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import fc from 'fast-check';

/** A pino logger that keeps every record at `error` or above: an unexpected failure inside a session. */
export function errorRecorder(): { log: Logger; errors: string[] } {
  const errors: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      errors.push(chunk.toString('utf8').trim());
      done();
    },
  });
  return { log: pino({ level: 'error' }, sink), errors };
}

/** Splits `bytes` at the given cut points (any numbers; taken modulo the length). */
export function splitAt(bytes: Buffer, cuts: number[]): Buffer[] {
  if (bytes.length === 0) return [];
  const points = [...new Set(cuts.map((c) => c % bytes.length))].filter((c) => c > 0).sort((a, b) => a - b);
  const out: Buffer[] = [];
  let last = 0;
  for (const p of points) {
    out.push(bytes.subarray(last, p));
    last = p;
  }
  out.push(bytes.subarray(last));
  return out;
}

/** Cut points for splitAt, and whether to let the event loop run after each piece. */
export const feedPlan = fc.record({
  cuts: fc.array(fc.nat(), { maxLength: 12 }),
  pauses: fc.array(fc.boolean(), { minLength: 13, maxLength: 13 }),
});

export const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Polls `done` until it holds; rejects with `describe()` after `ms`. */
export async function until(done: () => boolean, describe: () => string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${describe()}`);
    await new Promise((resolve) => setTimeout(resolve, 3));
  }
}

/** The largest literal size `{n}` / `{n+}` / `~{n}` announced at a line end in `bytes` (to drain a lie). */
export function largestAnnouncedLiteral(bytes: Buffer, cap: number): number {
  let max = 0;
  for (const m of bytes.toString('latin1').matchAll(/\{(\d{1,9})\+?\}\r?\n/g)) {
    const n = Number(m[1]);
    if (n <= cap && n > max) max = n;
  }
  return max;
}

// ------------------------------------------------------------------- IMAP

export interface ImapReading {
  /** Each complete response with literal contents replaced by `{n}`. */
  responses: string[];
  /** Tagged completions in the order written. */
  tagged: Array<{ tag: string; status: string; line: string }>;
  /** Everything a strict client would choke on. */
  problems: string[];
  /** The text of the first `* BYE`, if any. */
  bye: string | null;
}

const TAG = /^[\x21-\x7e]+$/;

/**
 * Reads server output as RFC 9051 §7 / §4.3 frames it: every line ends in
 * CRLF, has no bare CR, LF or NUL, is at most `maxLine` octets, and a line
 * ending in `{n}` or `~{n}` is followed by exactly n octets of literal.
 * Each response is untagged (`* `), a continuation (`+`), or `tag OK|NO|BAD`.
 */
export function readImapOutput(out: Buffer, maxLine: number): ImapReading {
  const reading: ImapReading = { responses: [], tagged: [], problems: [], bye: null };
  let pos = 0;
  let current = '';
  while (pos < out.length) {
    const crlf = out.indexOf('\r\n', pos, 'latin1');
    if (crlf < 0) {
      reading.problems.push(`output ends without CRLF: ${JSON.stringify(out.toString('latin1', pos, pos + 80))}`);
      break;
    }
    const segment = out.toString('latin1', pos, crlf);
    pos = crlf + 2;
    if (/[\r\n\0]/.test(segment)) reading.problems.push(`bare CR, LF or NUL in ${JSON.stringify(segment.slice(0, 120))}`);
    if (segment.length > maxLine) reading.problems.push(`line of ${segment.length} octets: ${JSON.stringify(segment.slice(0, 120))}`);
    const literal = /~?\{(\d+)\}$/.exec(segment);
    const statusLike = /^(\S+ (OK|NO|BAD|BYE|PREAUTH)( |$)|\+( |$))/.test(current + segment);
    if (literal && statusLike) reading.problems.push(`status text ends like a literal: ${JSON.stringify(segment.slice(-120))}`);
    if (literal && !statusLike) {
      const n = Number(literal[1]);
      if (pos + n > out.length) {
        reading.problems.push(`literal of ${n} announced, ${out.length - pos} octets follow`);
        break;
      }
      current += segment;
      pos += n;
      continue;
    }
    const response = current + segment;
    current = '';
    reading.responses.push(response);
    const status = /^(\S+) (OK|NO|BAD)( |$)/.exec(response);
    if (response.startsWith('* ')) {
      if (reading.bye === null && response.startsWith('* BYE')) reading.bye = response;
    } else if (response === '+' || response.startsWith('+ ')) {
      // continuation request
    } else if (status && status[1] !== '*' && TAG.test(status[1])) {
      reading.tagged.push({ tag: status[1], status: status[2], line: response });
    } else {
      reading.problems.push(`not a response: ${JSON.stringify(response.slice(0, 120))}`);
    }
  }
  if (current !== '') reading.problems.push('output ends inside a response');
  return reading;
}

// ------------------------------------------------------------------- POP3

/** What a POP3 client expects for the line it sent: a reply that may be multi-line when +OK. */
export type Pop3Expect = 'single' | 'multi';

export interface Pop3Reading {
  replies: string[];
  problems: string[];
  /** The input lines fully answered. */
  answered: number;
}

/**
 * Reads POP3 output against the lines sent: each line gets one reply
 * (RFC 1939 §3): `+OK`, `-ERR` or a SASL `+ `, status lines at most 512
 * octets (RFC 2449 §4), multi-line bodies dot-stuffed and ended by ".".
 * `expect(i, reply)` says whether the i-th reply, starting as shown, is multi-line.
 */
export function readPop3Output(out: Buffer, expect: (index: number, status: string) => Pop3Expect): Pop3Reading {
  const reading: Pop3Reading = { replies: [], problems: [], answered: 0 };
  let pos = 0;
  const nextLine = (): string | null => {
    const crlf = out.indexOf('\r\n', pos, 'latin1');
    if (crlf < 0) return null;
    const line = out.toString('latin1', pos, crlf);
    pos = crlf + 2;
    if (/[\r\n\0]/.test(line)) reading.problems.push(`bare CR, LF or NUL in ${JSON.stringify(line.slice(0, 120))}`);
    return line;
  };
  for (;;) {
    const start = pos;
    const status = nextLine();
    if (status === null) break;
    if (!/^(\+OK( |$)|-ERR( |$)|\+ )/.test(status)) reading.problems.push(`not a POP3 reply: ${JSON.stringify(status.slice(0, 120))}`);
    if (status.length + 2 > 512) reading.problems.push(`status line of ${status.length + 2} octets`);
    if (status.startsWith('+OK') && expect(reading.replies.length, status) === 'multi') {
      let ended = false;
      for (let line = nextLine(); line !== null; line = nextLine()) {
        if (line === '.') {
          ended = true;
          break;
        }
        if (line.startsWith('.') && !line.startsWith('..')) reading.problems.push(`line not dot-stuffed: ${JSON.stringify(line.slice(0, 80))}`);
      }
      if (!ended) {
        pos = start; // incomplete: wait for the rest
        break;
      }
    }
    reading.replies.push(out.toString('latin1', start, pos));
    reading.answered++;
  }
  return reading;
}
