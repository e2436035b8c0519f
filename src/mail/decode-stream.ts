/**
 * Content-Transfer-Encodings undone as a stream (RFC 2045 §6.7, §6.8): the
 * same octets as decodeTransfer (text.ts) gives for the whole body, whatever
 * the chunks the body arrives in, with a bounded carry between chunks. How
 * SEARCH BODY/TEXT and a large BINARY[part] read a part without holding it.
 */
import { hexValue } from './text.js';

/** A decoder fed chunk by chunk; `end` flushes what a later chunk could still have changed. */
export interface ChunkDecoder {
  push(chunk: Buffer): Buffer;
  end(): Buffer;
}

const EMPTY = Buffer.alloc(0);
const SP = 0x20;
const HT = 0x09;
const CR = 0x0d;
const LF = 0x0a;
const EQUALS = 0x3d;

/**
 * Characters Node's base64 decoder takes (the URL-safe "-" and "_" too); any
 * other octet is skipped, and the first "=" ends the data (what
 * Buffer.from(text, 'base64') does on the whole body, which decodeTransfer uses).
 */
const BASE64_CHAR = new Uint8Array(256);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_') BASE64_CHAR[c.charCodeAt(0)] = 1;

/** Base64 as Node decodes a whole body: whitespace and junk skipped, nothing after the first "=". */
export class Base64Decoder implements ChunkDecoder {
  /** Up to three data characters of a group not yet complete. */
  private carry = '';
  private stopped = false;

  push(chunk: Buffer): Buffer {
    if (this.stopped) return EMPTY;
    const chars = Buffer.allocUnsafe(this.carry.length + chunk.length);
    let n = chars.write(this.carry, 'latin1');
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i]!;
      if (BASE64_CHAR[c] === 1) chars[n++] = c;
      else if (c === EQUALS) {
        this.stopped = true;
        break;
      }
    }
    // Whole groups now; the rest waits for the next chunk (or end(), which decodes it as Node would).
    const whole = this.stopped ? n : n - (n % 4);
    this.carry = chars.toString('latin1', whole, n);
    return whole === 0 ? EMPTY : Buffer.from(chars.toString('latin1', 0, whole), 'base64');
  }

  end(): Buffer {
    const rest = this.carry;
    this.carry = '';
    this.stopped = true;
    return rest.length < 2 ? EMPTY : Buffer.from(rest, 'base64');
  }
}

/**
 * Whitespace this long before a line end is no longer held back to see whether
 * a line end follows: it is data. Bounds the carry; a real encoded line is at
 * most 76 characters (RFC 2045 §6.7 rule 5), so only hostile input gets here.
 */
export const QP_MAX_PENDING_WHITESPACE = 1024 * 1024;

/**
 * Quoted-printable as decodeQuotedPrintable (text.ts) decodes a whole body:
 * whitespace before a line end or at the very end dropped (rule 3), then
 * "=XX" octets and soft line breaks.
 */
export class QuotedPrintableDecoder implements ChunkDecoder {
  /** A run of SP/HT not yet known to be data. */
  private space = Buffer.allocUnsafe(256);
  private spaceLength = 0;
  /** A CR after that run, waiting for the octet that says whether the run ends a line. */
  private crAfterSpace = false;
  /** Octets from a "=" on that the escape decision needs two more octets for. */
  private tail: Buffer = EMPTY;

  push(chunk: Buffer): Buffer {
    return this.unescape(this.stripTrailingSpace(chunk, false), false);
  }

  end(): Buffer {
    return this.unescape(this.stripTrailingSpace(EMPTY, true), true);
  }

  /** Rule (3) on the stream: a SP/HT run is data unless a line end (LF or CRLF) or the end of the body follows it. */
  private stripTrailingSpace(chunk: Buffer, final: boolean): Buffer {
    // `final` comes with no chunk (end()): only what is held is decided.
    const out = Buffer.allocUnsafe(chunk.length + this.spaceLength + 1);
    let o = 0;
    if (this.crAfterSpace && (chunk.length > 0 || final)) {
      // The run was followed by CR: it is data unless LF comes next.
      if (chunk[0] !== LF) o += this.space.copy(out, o, 0, this.spaceLength);
      out[o++] = CR;
      this.spaceLength = 0;
      this.crAfterSpace = false;
    }
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i]!;
      if (c === SP || c === HT) {
        this.holdSpace(c);
        if (this.spaceLength >= QP_MAX_PENDING_WHITESPACE) {
          const flushed = Buffer.concat([out.subarray(0, o), this.space.subarray(0, this.spaceLength)]);
          this.spaceLength = 0;
          return Buffer.concat([flushed, this.stripTrailingSpace(chunk.subarray(i + 1), final)]);
        }
        continue;
      }
      if (this.spaceLength > 0) {
        if (c === CR && i + 1 === chunk.length) {
          this.crAfterSpace = true;
          return out.subarray(0, o);
        }
        const atLineEnd = c === LF || (c === CR && chunk[i + 1] === LF);
        if (!atLineEnd) o += this.space.copy(out, o, 0, this.spaceLength);
        this.spaceLength = 0;
      }
      out[o++] = c;
    }
    if (final) this.spaceLength = 0; // whitespace at the very end is not data
    return out.subarray(0, o);
  }

  private holdSpace(c: number): void {
    if (this.spaceLength === this.space.length) {
      const grown = Buffer.allocUnsafe(this.space.length * 2);
      this.space.copy(grown);
      this.space = grown;
    }
    this.space[this.spaceLength++] = c;
  }

  /** "=XX" and soft line breaks, holding back a "=" until the two octets after it are known. */
  private unescape(text: Buffer, final: boolean): Buffer {
    const input = this.tail.length > 0 ? Buffer.concat([this.tail, text]) : text;
    this.tail = EMPTY;
    const m = input.length;
    const out = Buffer.allocUnsafe(m);
    let n = 0;
    for (let i = 0; i < m; i++) {
      const c = input[i]!;
      if (c === EQUALS) {
        if (!final && i + 2 >= m) {
          this.tail = Buffer.from(input.subarray(i));
          break;
        }
        const hi = i + 2 < m ? hexValue(input[i + 1]) : -1;
        const lo = hi === -1 ? -1 : hexValue(input[i + 2]);
        if (lo !== -1) {
          out[n++] = hi * 16 + lo;
          i += 2;
          continue;
        }
        // A soft line break, or a "=" that ends the body.
        if (i + 1 === m) continue;
        if (input[i + 1] === LF) {
          i += 1;
          continue;
        }
        if (input[i + 1] === CR && i + 2 < m && input[i + 2] === LF) {
          i += 2;
          continue;
        }
      }
      out[n++] = c;
    }
    return out.subarray(0, n);
  }
}

const IDENTITY_DECODER: ChunkDecoder = { push: (chunk) => chunk, end: () => EMPTY };

/** The decoder for a Content-Transfer-Encoding; unknown encodings pass the octets as they are (as decodeTransfer does). */
export function transferDecoder(encoding: string): ChunkDecoder {
  switch (encoding.toLowerCase()) {
    case 'base64':
      return new Base64Decoder();
    case 'quoted-printable':
      return new QuotedPrintableDecoder();
    default:
      return IDENTITY_DECODER;
  }
}

/** The decoded octets of `source`, chunk by chunk (empty chunks left out). */
export async function* decodedChunks(source: AsyncIterable<Buffer>, encoding: string): AsyncGenerator<Buffer> {
  const decoder = transferDecoder(encoding);
  for await (const chunk of source) {
    const out = decoder.push(chunk);
    if (out.length > 0) yield out;
  }
  const last = decoder.end();
  if (last.length > 0) yield last;
}

/** After about this many octets read without waiting, a long pass lets other work on the event loop run. */
export const PAUSE_EVERY_OCTETS = 1024 * 1024;

/**
 * `source` passed through, with a turn of the event loop after each
 * PAUSE_EVERY_OCTETS: a store that answers from memory (or from the page
 * cache in large chunks) never makes a long decode wait, and other sessions
 * must not wait for it to finish.
 */
export async function* withPauses(source: AsyncIterable<Buffer>, every = PAUSE_EVERY_OCTETS): AsyncGenerator<Buffer> {
  let since = 0;
  for await (const chunk of source) {
    yield chunk;
    since += chunk.length;
    if (since >= every) {
      since = 0;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }
}
