/**
 * The only writer of IMAP server output (RFC 9051 §7): typed responses in,
 * exact wire bytes out, CRLF included. Handlers never concatenate "* " or CRLF.
 */
import { encodeMailboxName } from './mutf7.js';
import type { DeferredLiteral, EncodeOptions, ImapResponse, ImapValue, ResponseCode } from './types.js';

type Part = string | Buffer;

/**
 * Output under construction. Adjacent text is joined into one string and
 * turned into bytes once, so a FETCH response of hundreds of small tokens
 * costs one UTF-8 conversion and one copy, not one Buffer per token.
 */
class Out {
  private chunks: Array<Buffer | DeferredLiteral> = [];
  private text = '';
  private deferred = 0;

  push(...parts: Part[]): void {
    for (const p of parts) {
      if (typeof p === 'string') this.text += p;
      else {
        this.flushText();
        this.chunks.push(p);
      }
    }
  }

  /** A literal's octets that the caller writes itself, after the bytes before it. */
  pushDeferred(literal: DeferredLiteral): void {
    this.flushText();
    this.chunks.push(literal);
    this.deferred++;
  }

  /** The output as runs of bytes (adjacent Buffers joined) and deferred literals, in order. */
  finishParts(): Array<Buffer | DeferredLiteral> {
    this.flushText();
    const parts: Array<Buffer | DeferredLiteral> = [];
    let run: Buffer[] = [];
    const endRun = () => {
      if (run.length > 0) parts.push(run.length === 1 ? run[0] : Buffer.concat(run));
      run = [];
    };
    for (const c of this.chunks) {
      if (Buffer.isBuffer(c)) run.push(c);
      else {
        endRun();
        parts.push(c);
      }
    }
    endRun();
    return parts;
  }

  private flushText(): void {
    if (this.text.length === 0) return;
    this.chunks.push(Buffer.from(this.text, 'utf8'));
    this.text = '';
  }

  finish(): Buffer {
    if (this.deferred > 0) throw new TypeError('IMAP encoder: a deferred literal needs encodeResponseParts');
    if (this.chunks.length === 0) return Buffer.from(this.text, 'utf8');
    this.flushText();
    return this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks as Buffer[]);
  }
}

/** Longest string sent quoted; longer ones go as literals, which clients read without unescaping. */
const MAX_QUOTED_BYTES = 1024;

function isBytes(v: unknown): v is Buffer {
  return Buffer.isBuffer(v);
}

/** An atom or other verbatim token must never smuggle in a line break. */
function verbatim(s: string): string {
  if (/[\r\n\0]/.test(s)) throw new TypeError(`IMAP encoder: CR, LF or NUL in verbatim token ${JSON.stringify(s)}`);
  return s;
}

/** Human-readable text (resp-text, continuation): line breaks become spaces. */
function text(s: string): string {
  return s.replace(/[\r\n\0]+/g, ' ');
}

/** Printable ASCII other than DQUOTE and backslash: quoted as is, no escaping, no byte count needed. */
const PLAIN_QUOTED = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

/** quoted = DQUOTE *QUOTED-CHAR DQUOTE when possible, else a literal (RFC 9051 §4.3). */
function writeString(out: Out, s: string, opts: EncodeOptions): void {
  if (s.length <= MAX_QUOTED_BYTES && PLAIN_QUOTED.test(s)) {
    out.push('"' + s + '"');
    return;
  }
  const bytes = Buffer.byteLength(s);
  // 8-bit in quoted strings needs UTF8=ACCEPT (RFC 6855 §3); CR, LF, NUL never fit in quoted.
  const quotable = bytes <= MAX_QUOTED_BYTES && !/[\r\n\0]/.test(s) && (opts.utf8 || bytes === s.length);
  if (quotable) {
    out.push('"' + s.replace(/[\\"]/g, '\\$&') + '"');
  } else {
    writeLiteral(out, Buffer.from(s, 'utf8'));
  }
}

function writeLiteral(out: Out, bytes: Buffer): void {
  out.push(`{${bytes.length}}\r\n`, bytes);
}

function writeValue(out: Out, v: ImapValue, opts: EncodeOptions): void {
  if (v === null) out.push('NIL');
  else if (typeof v === 'number') {
    if (!Number.isSafeInteger(v) || v < 0) throw new TypeError(`IMAP encoder: ${v} is not a non-negative integer`);
    out.push(String(v));
  } else if (typeof v === 'bigint') out.push(v.toString());
  else if (typeof v === 'string') writeString(out, v, opts);
  else if (isBytes(v)) writeLiteral(out, v);
  else if ('encoded' in v) out.push(v.encoded);
  else if ('literal8' in v) out.push(`~{${v.literal8.length}}\r\n`, v.literal8);
  else if ('deferred' in v) {
    out.push(`${v.deferred.literal8 ? '~' : ''}{${v.deferred.length}}\r\n`);
    out.pushDeferred(v.deferred);
  }
  else if (Array.isArray(v)) {
    out.push('(');
    v.forEach((item, i) => {
      if (i > 0) out.push(' ');
      writeValue(out, item, opts);
    });
    out.push(')');
  } else out.push(verbatim(v.atom));
}

/** One ImapValue in wire form (no CRLF). */
export function encodeValue(v: ImapValue, opts: EncodeOptions): Buffer {
  const out = new Out();
  writeValue(out, v, opts);
  return out.finish();
}

/**
 * One ImapValue in wire form as latin1 text, one character per octet: the
 * octets of encodeValue(v, opts), built as one string without Buffers, for
 * values cached as text and joined into large FETCH batches (a header sync
 * encodes thousands of ENVELOPEs and BODYSTRUCTUREs). Deferred literals are
 * not allowed.
 */
export function encodeValueText(v: ImapValue, opts: EncodeOptions): string {
  if (v === null) return 'NIL';
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v) || v < 0) throw new TypeError(`IMAP encoder: ${v} is not a non-negative integer`);
    return String(v);
  }
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'string') return stringText(v, opts);
  if (isBytes(v)) return `{${v.length}}\r\n${v.toString('latin1')}`;
  if (Array.isArray(v)) {
    let text = '(';
    for (let i = 0; i < v.length; i++) text += (i > 0 ? ' ' : '') + encodeValueText(v[i]!, opts);
    return `${text})`;
  }
  if ('encoded' in v) return v.encoded.toString('latin1');
  if ('literal8' in v) return `~{${v.literal8.length}}\r\n${v.literal8.toString('latin1')}`;
  if ('deferred' in v) throw new TypeError('IMAP encoder: a deferred literal needs encodeResponseParts');
  return asOctets(verbatim(v.atom));
}

/** writeString's choice, as latin1 text. */
function stringText(s: string, opts: EncodeOptions): string {
  if (s.length <= MAX_QUOTED_BYTES && PLAIN_QUOTED.test(s)) return `"${s}"`;
  const bytes = Buffer.byteLength(s);
  const quotable = bytes <= MAX_QUOTED_BYTES && !/[\r\n\0]/.test(s) && (opts.utf8 || bytes === s.length);
  if (quotable) return asOctets(`"${s.replace(/[\\"]/g, '\\$&')}"`);
  const utf8 = Buffer.from(s, 'utf8');
  return `{${utf8.length}}\r\n${utf8.toString('latin1')}`;
}

/** Text as its UTF-8 octets, one character each (ASCII stays as it is). */
function asOctets(s: string): string {
  return /[^\x00-\x7f]/.test(s) ? Buffer.from(s, 'utf8').toString('latin1') : s;
}

/** Flags and other atoms as a parenthesised list, e.g. for PERMANENTFLAGS or FETCH FLAGS. */
export function atomList(atoms: readonly string[]): ImapValue {
  return atoms.map((atom) => ({ atom }));
}

/** Mailbox names are modified UTF-7 on the wire unless UTF8=ACCEPT is on (RFC 9051 §5.1, RFC 6855 §3). */
function mailbox(name: string, opts: EncodeOptions): string {
  return opts.utf8 ? name : encodeMailboxName(name);
}

/** "[" resp-text-code "]": a string value is written verbatim (e.g. APPENDUID "38505 3955"), others as values. */
function writeCode(out: Out, code: ResponseCode, opts: EncodeOptions): void {
  out.push('[' + verbatim(code.name));
  if (code.value !== undefined) {
    out.push(' ');
    if (typeof code.value === 'string') out.push(verbatim(code.value).replace(/]/g, ''));
    else writeValue(out, code.value, opts);
  }
  out.push('] ');
}

function writeNamespace(out: Out, ns: Array<[string, string]> | null, opts: EncodeOptions): void {
  writeValue(out, ns === null ? null : ns.map(([prefix, delimiter]) => [mailbox(prefix, opts), delimiter]), opts);
}

function writeResponse(out: Out, r: ImapResponse, opts: EncodeOptions): void {
  switch (r.type) {
    case 'status':
      out.push(`${verbatim(r.tag)} ${r.status} `);
      if (r.code) writeCode(out, r.code, opts);
      // resp-text needs at least one TEXT-CHAR after the code (RFC 3501 §9).
      out.push(text(r.text) || r.status);
      return;
    case 'continuation':
      out.push('+ ' + text(r.text));
      return;
    case 'capability':
    case 'enabled':
      out.push(`* ${r.type === 'capability' ? 'CAPABILITY' : 'ENABLED'}`, ...r.capabilities.map((c) => ' ' + verbatim(c)));
      return;
    case 'exists':
      out.push(`* ${r.count} EXISTS`);
      return;
    case 'recent':
      out.push(`* ${r.count} RECENT`);
      return;
    case 'expunge':
      out.push(`* ${r.seq} EXPUNGE`);
      return;
    case 'flags':
      out.push('* FLAGS ');
      writeValue(out, atomList(r.flags), opts);
      return;
    case 'list':
      out.push(`* ${r.command} `);
      writeValue(out, atomList(r.attributes), opts);
      out.push(' ');
      writeValue(out, r.delimiter, opts);
      out.push(' ');
      writeString(out, mailbox(r.mailbox, opts), opts);
      if (r.extended && r.extended.length > 0) {
        out.push(' ');
        writeValue(out, r.extended, opts);
      } else if (r.oldName !== undefined) {
        out.push(' ("OLDNAME" (');
        writeString(out, mailbox(r.oldName, opts), opts);
        out.push('))');
      }
      return;
    case 'status-data':
      out.push('* STATUS ');
      writeString(out, mailbox(r.mailbox, opts), opts);
      out.push(' ');
      writeValue(out, r.items.flatMap(([name, n]) => [{ atom: name }, n]), opts);
      return;
    case 'search':
      out.push('* SEARCH', ...r.ids.map((id) => ' ' + id));
      if (r.modSeq !== undefined) out.push(` (MODSEQ ${r.modSeq})`);
      return;
    case 'esearch':
      // RFC 4731 §3: a string value is a sequence set (ALL 1:3,5), written as an atom.
      out.push('* ESEARCH');
      if (r.tag) {
        out.push(' (TAG ');
        writeString(out, r.tag, opts);
        out.push(')');
      }
      if (r.uid) out.push(' UID');
      for (const [name, value] of r.data) {
        out.push(' ' + verbatim(name) + ' ');
        if (typeof value === 'string') out.push(verbatim(value));
        else writeValue(out, value, opts);
      }
      return;
    case 'fetch':
      out.push(`* ${r.seq} ${r.uidFetch ? 'UIDFETCH' : 'FETCH'} (`);
      r.items.forEach(([name, value], i) => {
        out.push((i > 0 ? ' ' : '') + verbatim(name) + ' ');
        // FLAGS holds flag atoms, never quoted strings (RFC 9051 §7.5.2).
        const flagList = name.toUpperCase() === 'FLAGS' && Array.isArray(value);
        writeValue(out, flagList ? value.map((f) => (typeof f === 'string' ? { atom: f } : f)) : value, opts);
      });
      out.push(')');
      return;
    case 'id':
      out.push('* ID ');
      writeValue(out, r.params === null ? null : r.params.flat(), opts);
      return;
    case 'namespace':
      out.push('* NAMESPACE ');
      writeNamespace(out, r.personal, opts);
      out.push(' ');
      writeNamespace(out, r.other, opts);
      out.push(' ');
      writeNamespace(out, r.shared, opts);
      return;
    case 'quota':
      out.push('* QUOTA ');
      writeString(out, r.root, opts);
      out.push(' ');
      writeValue(out, r.resources.flatMap(([name, usage, limit]) => [{ atom: name }, usage, limit]), opts);
      return;
    case 'quotaroot':
      out.push('* QUOTAROOT ');
      writeString(out, mailbox(r.mailbox, opts), opts);
      for (const root of r.roots) {
        out.push(' ');
        writeString(out, root, opts);
      }
      return;
    case 'untagged':
      out.push('*');
      for (const v of r.values) {
        out.push(' ');
        writeValue(out, v, opts);
      }
      return;
    case 'wire':
      out.push(r.bytes);
      return;
  }
}

/** One response in wire form, CRLF included. */
export function encodeResponse(r: ImapResponse, opts: EncodeOptions): Buffer {
  return encodeResponses([r], opts);
}

/** Several responses in wire form, one after the other, as one Buffer (one socket write, one TLS record run). */
export function encodeResponses(rs: readonly ImapResponse[], opts: EncodeOptions): Buffer {
  const out = new Out();
  for (const r of rs) writeResponseLine(out, r, opts);
  return out.finish();
}

/**
 * Responses in wire form as runs of bytes and, in between, the deferred
 * literals (types.ts) whose octets the caller writes in their place.
 */
export function encodeResponseParts(rs: readonly ImapResponse[], opts: EncodeOptions): Array<Buffer | DeferredLiteral> {
  const out = new Out();
  for (const r of rs) writeResponseLine(out, r, opts);
  return out.finishParts();
}

/** One response and its CRLF; a 'wire' one carries its own. */
function writeResponseLine(out: Out, r: ImapResponse, opts: EncodeOptions): void {
  writeResponse(out, r, opts);
  if (r.type !== 'wire') out.push('\r\n');
}
