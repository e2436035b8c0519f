/**
 * Tokenizer over one framed command (RFC 9051 §4, §9): the text of each line
 * and the literals between them. Parsers pull typed tokens from it; every
 * grammar violation throws ParseError, which the reader turns into BAD.
 */
import type { SeqRange, SequenceSet } from './types.js';

/** A framed command: texts[i] ends with a literal marker whose bytes are literals[i]; texts has one more entry. */
export interface FramedCommand {
  texts: Buffer[];
  literals: Buffer[];
}

export class ParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ParseError';
  }
}

const SP = 0x20;
const DQUOTE = 0x22;
const BACKSLASH = 0x5c;
const MAX_NUMBER = 0xffffffff; // RFC 9051 number: unsigned 32-bit
/** A literal marker as the framer saw it at the end of a line: ~{n}, {n}, {n+}. */
const LITERAL_MARKER = /^(~?)\{(\d+)(\+?)\}$/;

/** ATOM-CHAR: any CHAR except atom-specials ( ) { SP CTL % * " \ ] (RFC 9051 §9). */
export function isAtomChar(b: number): boolean {
  if (b <= 0x1f || b >= 0x7f) return false;
  return !'(){ %*"\\]'.includes(String.fromCharCode(b));
}
/** ASTRING-CHAR = ATOM-CHAR / resp-specials ("]"). */
export function isAstringChar(b: number): boolean {
  return isAtomChar(b) || b === 0x5d;
}
/** list-char = ATOM-CHAR / list-wildcards / resp-specials. */
function isListChar(b: number): boolean {
  return isAstringChar(b) || b === 0x25 || b === 0x2a;
}

export class Cursor {
  private seg = 0;
  private pos = 0;
  private depth = 0;
  /**
   * How string() turns octets into text: 'utf8', or 'latin1' to keep every octet as one
   * character while SEARCH CHARSET names another charset (the session transcodes them).
   */
  stringEncoding: BufferEncoding = 'utf8';

  constructor(
    private readonly cmd: FramedCommand,
    private readonly maxNesting: number,
  ) {}

  private get buf(): Buffer {
    return this.cmd.texts[this.seg];
  }

  /** Next byte of the current line, or -1 at its end. */
  peek(): number {
    return this.pos < this.buf.length ? this.buf[this.pos] : -1;
  }

  atEnd(): boolean {
    return this.seg === this.cmd.texts.length - 1 && this.pos >= this.buf.length;
  }

  /** The command must end here. */
  end(): void {
    if (!this.atEnd()) throw new ParseError('Unexpected extra arguments');
  }

  tryChar(ch: string): boolean {
    if (this.peek() !== ch.charCodeAt(0)) return false;
    this.pos++;
    return true;
  }

  expectChar(ch: string, what: string): void {
    if (!this.tryChar(ch)) throw new ParseError(`Expected ${what}`);
  }

  /** One SP that separates arguments; `what` names the argument that must follow. */
  sp(what: string): void {
    if (this.peek() !== SP) throw new ParseError(this.atEnd() ? `Missing ${what}` : `Expected SP before ${what}`);
    this.pos++;
    if (this.atEnd()) throw new ParseError(`Missing ${what}`);
  }

  /** True (and consumes the SP) when another argument follows. */
  more(): boolean {
    if (this.peek() !== SP) return false;
    this.pos++;
    return true;
  }

  /** Enters a nested list or sub-expression; deep nesting is a stack-exhaustion attack. */
  enter(): void {
    if (++this.depth > this.maxNesting) throw new ParseError('Too deeply nested');
  }

  leave(): void {
    this.depth--;
  }

  /** Saves the position, to look ahead at a keyword and go back. */
  mark(): [number, number, number] {
    return [this.seg, this.pos, this.depth];
  }

  restore(mark: [number, number, number]): void {
    [this.seg, this.pos, this.depth] = mark;
  }

  /** The longest run of bytes matching `pred` on this line (may be empty). */
  takeWhile(pred: (b: number) => boolean): string {
    const start = this.pos;
    while (this.pos < this.buf.length && pred(this.buf[this.pos])) this.pos++;
    return this.buf.toString('utf8', start, this.pos);
  }

  atom(what: string): string {
    const s = this.takeWhile(isAtomChar);
    if (s === '') throw new ParseError(`Expected ${what}`);
    return s;
  }

  /** An atom compared case-insensitively (command names, keywords): returned upper case. */
  keyword(what: string): string {
    return this.atom(what).toUpperCase();
  }

  /** A literal marker at the end of this line: returns its bytes and moves to the next line. */
  private tryLiteral(allowLiteral8: boolean): Buffer | null {
    const b = this.peek();
    const literal8 = b === 0x7e && this.buf[this.pos + 1] === 0x7b;
    if (b !== 0x7b && !literal8) return null;
    if (literal8 && !allowLiteral8) throw new ParseError('literal8 (~{n}) is only allowed for APPEND message data');
    const m = LITERAL_MARKER.exec(this.buf.toString('latin1', this.pos));
    if (!m || this.seg >= this.cmd.literals.length) throw new ParseError('Malformed literal');
    const bytes = this.cmd.literals[this.seg];
    this.seg++;
    this.pos = 0;
    return bytes;
  }

  private quoted(what: string): Buffer {
    this.pos++; // opening DQUOTE
    const out: number[] = [];
    for (;;) {
      const b = this.peek();
      if (b < 0) throw new ParseError(`Unterminated quoted string in ${what}`);
      this.pos++;
      if (b === DQUOTE) return Buffer.from(out);
      if (b === BACKSLASH) {
        const next = this.peek();
        if (next !== DQUOTE && next !== BACKSLASH) throw new ParseError(`Invalid escape in quoted ${what}`);
        out.push(next);
        this.pos++;
      } else if (b === 0x00 || b === 0x0d || b === 0x0a) {
        throw new ParseError(`Invalid character in quoted ${what}`);
      } else {
        out.push(b);
      }
    }
  }

  /** The next token is a quoted string or a literal (literal8 included, to refuse it clearly). */
  private atString(): boolean {
    const b = this.peek();
    return b === DQUOTE || b === 0x7b || (b === 0x7e && this.buf[this.pos + 1] === 0x7b);
  }

  /** string = quoted / literal, as bytes. */
  stringBytes(what: string, allowLiteral8 = false): Buffer {
    if (this.peek() === DQUOTE) return this.quoted(what);
    const lit = this.tryLiteral(allowLiteral8);
    if (lit) return lit;
    throw new ParseError(`Expected ${what} (quoted string or literal)`);
  }

  string(what: string): string {
    return this.stringBytes(what).toString(this.stringEncoding);
  }

  /** astring = 1*ASTRING-CHAR / string. */
  astring(what: string): string {
    if (this.atString()) return this.string(what);
    const s = this.takeWhile(isAstringChar);
    if (s === '') throw new ParseError(`Expected ${what}`);
    return s;
  }

  /** nstring = string / NIL. */
  nstring(what: string): string | null {
    if (this.atString()) return this.string(what);
    if (this.keyword(what) === 'NIL') return null;
    throw new ParseError(`Expected ${what} (string or NIL)`);
  }

  /** list-mailbox = 1*list-char / string (LIST patterns may hold % and *). */
  listMailbox(what: string): string {
    if (this.atString()) return this.string(what);
    const s = this.takeWhile(isListChar);
    if (s === '') throw new ParseError(`Expected ${what}`);
    return s;
  }

  /** A literal only (APPEND message data); literal8 allowed when asked (RFC 3516). */
  literal(what: string, allowLiteral8: boolean): Buffer {
    return this.literalOf(what, allowLiteral8).bytes;
  }

  /** Like `literal`, telling whether it was a literal8 ~{n} (RFC 3516 §4.4: binary APPEND data). */
  literalOf(what: string, allowLiteral8: boolean): { bytes: Buffer; literal8: boolean } {
    const literal8 = this.peek() === 0x7e;
    const lit = this.tryLiteral(allowLiteral8);
    if (!lit) throw new ParseError(`Expected ${what} as a literal`);
    return { bytes: lit, literal8 };
  }

  private digits(what: string): string {
    const s = this.takeWhile((b) => b >= 0x30 && b <= 0x39);
    if (s === '') throw new ParseError(`Expected ${what} (a number)`);
    return s;
  }

  /** number: unsigned 32-bit. */
  number(what: string): number {
    const n = Number(this.digits(what));
    if (n > MAX_NUMBER) throw new ParseError(`${what} is out of range`);
    return n;
  }

  nzNumber(what: string): number {
    const n = this.number(what);
    if (n === 0) throw new ParseError(`${what} must not be zero`);
    return n;
  }

  /** number64 / mod-sequence-value (RFC 7162); limited to what a JS number holds exactly. */
  number64(what: string): number {
    const n = Number(this.digits(what));
    if (n > Number.MAX_SAFE_INTEGER) throw new ParseError(`${what} is out of range`);
    return n;
  }

  private seqNumber(what: string): number | '*' {
    if (this.tryChar('*')) return '*';
    return this.nzNumber(what);
  }

  /** sequence-set = (seq-number / seq-range) *("," ...); "$" (RFC 5182) is not supported. */
  seqSet(what: string): SequenceSet {
    if (this.tryChar('$')) {
      // RFC 5182 §2.1: "$" stands alone; it cannot be combined with numbers.
      const next = this.peek();
      if (next !== -1 && next !== SP && next !== 0x29) throw new ParseError(`Invalid ${what}`);
      return '$';
    }
    const set: SeqRange[] = [];
    do {
      const from = this.seqNumber(what);
      const to = this.tryChar(':') ? this.seqNumber(what) : from;
      set.push({ from, to });
    } while (this.tryChar(','));
    const b = this.peek();
    if (b !== -1 && b !== SP && b !== 0x29) throw new ParseError(`Invalid ${what}`);
    return set;
  }

  /** True when the next token starts a sequence set (digit or "*"). */
  atSeqSet(): boolean {
    const b = this.peek();
    return (b >= 0x30 && b <= 0x39) || b === 0x2a || b === 0x24;
  }

  /**
   * "(" item *(SP item) ")" with `item` parsing one element; `allowEmpty`
   * accepts "()". Counts as one nesting level.
   */
  list<T>(what: string, item: () => T, allowEmpty: boolean): T[] {
    this.expectChar('(', `"(" to start ${what}`);
    this.enter();
    const out: T[] = [];
    if (!this.tryChar(')')) {
      do out.push(item());
      while (this.more());
      this.expectChar(')', `")" to end ${what}`);
    } else if (!allowEmpty) {
      throw new ParseError(`Empty ${what}`);
    }
    this.leave();
    return out;
  }
}
