/**
 * The i;unicode-casemap collation (RFC 5051 §2), for SEARCH and SORT with
 * I18NLEVEL=1 (RFC 5255 §4): each character is replaced by its simple
 * titlecase mapping (UnicodeData.txt field 14), then the string by its full
 * canonical decomposition (NFD). Two strings are equal when their mapped forms
 * are, and order as the octets of their mapped UTF-8 forms, that is by code point.
 *
 * JavaScript has no titlecase mapping: String.prototype.toUpperCase gives the
 * full uppercase mapping, which is the simple titlecase one except for the
 * characters handled here: the four digraph sets (U+01C4..U+01CC, U+01F1..U+01F3,
 * whose titlecase is the mixed form), Greek vowels with ypogegrammeni (their
 * full uppercase is two characters, their simple titlecase is the one capital
 * with prosgegrammeni), and characters whose full mapping is several
 * characters with no simple one (ß, ŉ, ǰ, the ligatures ...), which stay as
 * they are.
 */

/** Simple titlecase mappings that are not the single-character full uppercase mapping. */
const TITLECASE = new Map<number, number>([
  [0x01c4, 0x01c5], [0x01c5, 0x01c5], [0x01c6, 0x01c5],
  [0x01c7, 0x01c8], [0x01c8, 0x01c8], [0x01c9, 0x01c8],
  [0x01ca, 0x01cb], [0x01cb, 0x01cb], [0x01cc, 0x01cb],
  [0x01f1, 0x01f2], [0x01f2, 0x01f2], [0x01f3, 0x01f2],
  [0x1fb3, 0x1fbc], [0x1fc3, 0x1fcc], [0x1ff3, 0x1ffc],
]);
// U+1F80..U+1F87, U+1F90..U+1F97, U+1FA0..U+1FA7 -> +8; the capitals +8 map to themselves.
for (const base of [0x1f80, 0x1f90, 0x1fa0]) {
  for (let i = 0; i < 8; i++) {
    TITLECASE.set(base + i, base + 8 + i);
    TITLECASE.set(base + 8 + i, base + 8 + i);
  }
}
for (const capital of [0x1fbc, 0x1fcc, 0x1ffc]) TITLECASE.set(capital, capital);
// Georgian Mkhedruli: uppercase is Mtavruli (Unicode 11), titlecase is the letter itself.
for (let cp = 0x10d0; cp <= 0x10ff; cp++) if (cp <= 0x10fa || cp >= 0x10fd) TITLECASE.set(cp, cp);

const ASCII = /^[\x00-\x7f]*$/;

/**
 * The characters toUpperCase does not map to their simple titlecase: those
 * above and those whose full uppercase mapping is several characters, all in
 * U+0080..U+1FFF and the ligatures at U+FB00 (SpecialCasing.txt). Built on
 * first use; everything between them goes through one native toUpperCase.
 */
let special: RegExp | null = null;
function specialChars(): RegExp {
  if (special) return special;
  const cps = new Set(TITLECASE.keys());
  for (const [lo, hi] of [[0x80, 0x1fff], [0xfb00, 0xfb4f]] as const) {
    for (let cp = lo; cp <= hi; cp++) if (String.fromCharCode(cp).toUpperCase().length !== 1) cps.add(cp);
  }
  special = new RegExp(`[${[...cps].map((cp) => `\\u{${cp.toString(16)}}`).join('')}]`, 'gu');
  return special;
}

function titlecase(ch: string): string {
  const mapped = TITLECASE.get(ch.codePointAt(0)!);
  // Not in the table: a character with a full mapping only (ß, ŉ, the ligatures ...) stays as it is.
  return mapped === undefined ? ch : String.fromCodePoint(mapped);
}

/** The canonical form of `s` under i;unicode-casemap. */
export function casemap(s: string): string {
  // ASCII: titlecase is uppercase and nothing decomposes.
  if (ASCII.test(s)) return s.toUpperCase();
  const rx = specialChars();
  rx.lastIndex = 0;
  let out = '';
  let last = 0;
  for (let m = rx.exec(s); m; m = rx.exec(s)) {
    out += s.slice(last, m.index).toUpperCase() + titlecase(m[0]);
    last = m.index + m[0].length;
  }
  out += s.slice(last).toUpperCase();
  return out.normalize('NFD');
}

/** UTF-16 code unit -> a number that orders as the code point it belongs to (surrogates above U+FFFF's BMP neighbours). */
function unitRank(u: number): number {
  if (u >= 0xd800 && u <= 0xdfff) return u + 0x2000;
  if (u >= 0xe000) return u - 0x800;
  return u;
}

/** Code point order of two already mapped strings (RFC 5051 §2.3: the octets of their UTF-8 forms). */
export function compareMapped(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return unitRank(x) - unitRank(y);
  }
  return a.length - b.length;
}
