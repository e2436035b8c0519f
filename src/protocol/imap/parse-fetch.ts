/** FETCH / UID FETCH arguments (RFC 9051 §6.4.5, RFC 3516 BINARY, RFC 7162 CHANGEDSINCE). */
import { Cursor, ParseError, isAtomChar } from './cursor.js';
import type { FetchAttribute, ImapCommandBody, Partial, Section } from './types.js';

const SIMPLE: Record<string, FetchAttribute> = {
  FLAGS: { kind: 'FLAGS' },
  UID: { kind: 'UID' },
  INTERNALDATE: { kind: 'INTERNALDATE' },
  'RFC822.SIZE': { kind: 'RFC822.SIZE' },
  ENVELOPE: { kind: 'ENVELOPE' },
  BODYSTRUCTURE: { kind: 'BODYSTRUCTURE' },
  RFC822: { kind: 'RFC822' },
  'RFC822.HEADER': { kind: 'RFC822.HEADER' },
  'RFC822.TEXT': { kind: 'RFC822.TEXT' },
  MODSEQ: { kind: 'MODSEQ' },
  EMAILID: { kind: 'EMAILID' },
  THREADID: { kind: 'THREADID' },
  SAVEDATE: { kind: 'SAVEDATE' },
};

/** RFC 9051 §6.4.5 macros. */
const MACROS: Record<string, string[]> = {
  ALL: ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE', 'ENVELOPE'],
  FAST: ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE'],
  FULL: ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE', 'ENVELOPE', 'BODY'],
};

const isDigit = (b: number): boolean => b >= 0x30 && b <= 0x39;

/** An attribute name: stops at "[" (section) and "<" (partial), both atom chars. */
function attName(c: Cursor): string {
  const name = c.takeWhile((b) => isAtomChar(b) && b !== 0x5b && b !== 0x3c);
  if (name === '') throw new ParseError('Expected fetch attribute');
  return name.toUpperCase();
}

/** section-msgtext / "MIME" after a part path (MIME needs one). */
function sectionText(c: Cursor, section: Section): void {
  const text = c.takeWhile((b) => isAtomChar(b) && b !== 0x5b).toUpperCase();
  switch (text) {
    case 'HEADER':
    case 'TEXT':
      section.text = text;
      return;
    case 'MIME':
      if (section.part.length === 0) throw new ParseError('MIME section needs a part number');
      section.text = text;
      return;
    case 'HEADER.FIELDS':
    case 'HEADER.FIELDS.NOT':
      section.text = text;
      c.sp('header field list');
      section.fields = c.list('header field list', () => c.astring('header field name'), false);
      return;
    default:
      throw new ParseError(`Unknown section text "${text}" (expected HEADER, HEADER.FIELDS, HEADER.FIELDS.NOT, TEXT or MIME)`);
  }
}

/** section = "[" [section-spec] "]"; for BINARY only a part path (section-binary). */
function parseSection(c: Cursor, binary: boolean): Section {
  c.expectChar('[', '"[" to start a section');
  const section: Section = { part: [] };
  if (isDigit(c.peek())) {
    section.part.push(c.nzNumber('section part'));
    while (c.tryChar('.')) {
      if (isDigit(c.peek())) section.part.push(c.nzNumber('section part'));
      else if (binary) throw new ParseError('BINARY sections take part numbers only');
      else {
        sectionText(c, section);
        break;
      }
    }
  } else if (c.peek() !== 0x5d) {
    if (binary) throw new ParseError('BINARY sections take part numbers only');
    sectionText(c, section);
  }
  c.expectChar(']', '"]" to end the section');
  return section;
}

/** partial = "<" number64 "." nz-number64 ">". */
function parsePartial(c: Cursor): Partial | undefined {
  if (!c.tryChar('<')) return undefined;
  const offset = c.number64('partial offset');
  c.expectChar('.', '"." in partial');
  const length = c.number64('partial length');
  if (length === 0) throw new ParseError('Partial length must not be zero');
  c.expectChar('>', '">" to end partial');
  return { offset, length };
}

/** RFC 8970 §7: "PREVIEW" [SP "(" preview-mod *(SP preview-mod) ")"], preview-mod = "LAZY"; true when LAZY. */
function previewModifiers(c: Cursor): boolean {
  const mark = c.mark();
  if (!c.tryChar(' ') || c.peek() !== 0x28) {
    c.restore(mark);
    return false;
  }
  const mods = c.list('PREVIEW modifiers', () => c.keyword('PREVIEW modifier'), false);
  const unknown = mods.find((m) => m !== 'LAZY');
  if (unknown) throw new ParseError(`Unknown PREVIEW modifier ${unknown}`);
  return true;
}

/** One fetch-att; also used by NOTIFY's MessageNew (RFC 5465 §5.1). */
export function fetchAtt(c: Cursor): FetchAttribute {
  const name = attName(c);
  const simple = SIMPLE[name];
  if (simple) {
    return { ...simple };
  }
  switch (name) {
    case 'BODY':
    case 'BODY.PEEK': {
      if (name === 'BODY' && c.peek() !== 0x5b) return { kind: 'BODY' };
      const section = parseSection(c, false);
      const partial = parsePartial(c);
      return { kind: 'BODY[]', peek: name === 'BODY.PEEK', section, ...(partial ? { partial } : {}) };
    }
    case 'BINARY':
    case 'BINARY.PEEK': {
      const section = parseSection(c, true);
      const partial = parsePartial(c);
      return { kind: 'BINARY[]', peek: name === 'BINARY.PEEK', section, ...(partial ? { partial } : {}) };
    }
    case 'BINARY.SIZE':
      return { kind: 'BINARY.SIZE', section: parseSection(c, true) };
    case 'PREVIEW':
      return { kind: 'PREVIEW', lazy: previewModifiers(c) };
    default:
      throw new ParseError(`Unknown fetch attribute ${name}`);
  }
}

/** fetch = "FETCH" SP sequence-set SP ("ALL" / "FULL" / "FAST" / fetch-att / "(" fetch-att *(SP fetch-att) ")") [fetch-modifiers]. */
export function parseFetch(c: Cursor, uid: boolean): ImapCommandBody {
  c.sp('sequence set');
  const set = c.seqSet('sequence set');
  c.sp('fetch attributes');
  let attributes: FetchAttribute[];
  if (c.peek() === 0x28) {
    attributes = c.list('fetch attributes', () => fetchAtt(c), false);
  } else {
    const mark = c.mark();
    const macro = MACROS[attName(c)];
    if (macro && (c.atEnd() || c.peek() === 0x20)) {
      attributes = macro.map((n) => ({ ...(SIMPLE[n] ?? { kind: 'BODY' }) }) as FetchAttribute);
    } else {
      c.restore(mark);
      attributes = [fetchAtt(c)];
    }
  }
  let changedSince: number | null = null;
  let vanished = false;
  if (c.more()) {
    c.list(
      'FETCH modifiers',
      () => {
        const modifier = c.keyword('FETCH modifier');
        // RFC 7162 §3.2.6: VANISHED only with UID FETCH (and CHANGEDSINCE, which the session checks).
        if (modifier === 'VANISHED' && uid) {
          vanished = true;
          return;
        }
        if (modifier !== 'CHANGEDSINCE') throw new ParseError(`Unsupported FETCH modifier ${modifier}`);
        c.sp('mod-sequence value after CHANGEDSINCE');
        changedSince = c.number64('mod-sequence value');
      },
      false,
    );
  }
  return vanished
    ? { name: 'FETCH', uid, set, attributes, changedSince, vanished }
    : { name: 'FETCH', uid, set, attributes, changedSince };
}
