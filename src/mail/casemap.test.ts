/** i;unicode-casemap (RFC 5051 §2): simple titlecase, then canonical decomposition; code point order. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { casemap, compareMapped } from './casemap.js';

test('titlecase, not uppercase: digraphs take their mixed form, ß and ligatures stay (no simple mapping)', () => {
  assert.equal(casemap('hello World'), 'HELLO WORLD');
  assert.equal(casemap('\u01c6'), '\u01c5'); // dž -> Dž
  assert.equal(casemap('\u01c4'), '\u01c5'); // DŽ -> Dž
  assert.equal(casemap('\u01f3'), '\u01f2'); // dz -> Dz
  assert.equal(casemap('stra\u00dfe'), 'STRA\u00dfE');
  assert.equal(casemap('\ufb01'), '\ufb01'); // the fi ligature has a full mapping only
  // Greek small alpha with ypogegrammeni: titlecase is the capital with prosgegrammeni, decomposed.
  assert.equal(casemap('\u1fb3'), '\u0391\u0345');
  assert.equal(casemap('\u1f80'), casemap('\u1f88'));
});

test('canonical decomposition: precomposed and decomposed forms are equal, compatibility forms are not folded', () => {
  assert.equal(casemap('caf\u00e9'), 'CAFE\u0301');
  assert.equal(casemap('cafe\u0301'), casemap('CAF\u00c9'));
  assert.equal(casemap('\u212b'), casemap('\u00e5')); // ANGSTROM SIGN is canonically Å
  assert.notEqual(casemap('\uff21'), casemap('a')); // FULLWIDTH A: a compatibility decomposition only
});

test('order is by code point (as UTF-8 octets), not by UTF-16 code unit', () => {
  assert.ok(compareMapped('A', 'B') < 0);
  assert.ok(compareMapped('A', 'A\u0301') < 0);
  assert.ok(compareMapped('\uff5e', '\u{1f600}') < 0);
  assert.ok(compareMapped('\u{1f600}', '\uff5e') > 0);
  assert.equal(compareMapped('X', 'X'), 0);
});

test('mapping runs at once gives what mapping each character alone gives (U+0080..U+2FFF, ligatures, Georgian)', () => {
  const chars: string[] = [];
  for (let cp = 0x80; cp <= 0x2fff; cp++) if (cp < 0xd800) chars.push(String.fromCodePoint(cp));
  for (let cp = 0xfb00; cp <= 0xfb4f; cp++) chars.push(String.fromCodePoint(cp));
  // Georgian titlecase is the letter itself, though its uppercase is Mtavruli.
  assert.equal(casemap('\u10d0'), '\u10d0');
  const one = chars.map((ch) => casemap(ch));
  assert.equal(casemap(chars.join('')), one.join('').normalize('NFD'));
  assert.equal(casemap(`a${chars.join('a')}a`), `A${one.join('A')}A`.normalize('NFD'));
});
