import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { containsText, TextFinder } from './find.js';

test('TextFinder answers as String.includes does, for short and long needles, fed whole or in pieces', () => {
  // A two-letter alphabet makes partial matches and borders common; lengths straddle the 64-character switch to KMP.
  const text = fc.string({ unit: fc.constantFrom('a', 'b'), maxLength: 400 });
  const needle = fc.oneof(fc.string({ unit: fc.constantFrom('a', 'b'), maxLength: 8 }), fc.string({ unit: fc.constantFrom('a', 'b'), minLength: 60, maxLength: 90 }));
  fc.assert(
    fc.property(text, needle, fc.array(fc.nat(400), { maxLength: 6 }), (hay, n, cuts) => {
      const expected = hay.includes(n);
      assert.equal(containsText(hay, n), expected);
      const finder = new TextFinder(n);
      let at = 0;
      for (const cut of [...cuts].sort((x, y) => x - y)) {
        finder.push(hay.slice(at, Math.max(at, cut)));
        at = Math.max(at, cut);
      }
      assert.equal(finder.push(hay.slice(at)) || finder.found, expected);
    }),
    { numRuns: 2000 },
  );
  const long = `${'ab'.repeat(40)}c`;
  assert.equal(containsText(`xx${'ab'.repeat(100)}c`, long), true);
  assert.equal(containsText(`xx${'ab'.repeat(100)}d`, long), false);
});

test('a long needle in repetitive text is found or refused in linear time (String.includes takes minutes here)', () => {
  // 2 MB of "x" with one "é" near the start, and a 1 MB needle of "x": every alignment nearly matches.
  const text = `${'x'.repeat(1000)}\u00e9${'x'.repeat(2 * 1024 * 1024)}`;
  const needle = 'x'.repeat(1024 * 1024);
  const start = process.hrtime.bigint();
  assert.equal(containsText(text, needle), true);
  assert.equal(containsText(text, `${needle}\u00e9`), false);
  // The bound is the point (a quadratic search takes minutes); generous for a loaded machine.
  assert.ok(Number(process.hrtime.bigint() - start) / 1e9 < 20);
});
