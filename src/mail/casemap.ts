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

const ASCII = /^[\x00-\x7f]*$/;

function titlecase(ch: string): string {
  const special = TITLECASE.get(ch.codePointAt(0)!);
  if (special !== undefined) return String.fromCodePoint(special);
  const upper = ch.toUpperCase();
  // A mapping to several characters is a full mapping only: no simple one exists.
  return upper.length === ch.length || [...upper].length === 1 ? upper : ch;
}

/** The canonical form of `s` under i;unicode-casemap. */
export function casemap(s: string): string {
  // ASCII: titlecase is uppercase and nothing decomposes.
  if (ASCII.test(s)) return s.toUpperCase();
  let out = '';
  for (const ch of s) out += titlecase(ch);
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
