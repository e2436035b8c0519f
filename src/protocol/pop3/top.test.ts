import assert from 'node:assert/strict';
import { it } from 'node:test';
import fc from 'fast-check';
import { extractTop, TopCutter } from './top.js';

/** Everything TopCutter lets through when fed `message` in the given pieces, and whether it said it was done. */
function cut(message: Buffer, lines: number, splits: number[]): { out: Buffer; done: boolean } {
  const cutter = new TopCutter(lines);
  const out: Buffer[] = [];
  let from = 0;
  for (const at of [...splits.filter((s) => s > 0 && s < message.length).sort((a, b) => a - b), message.length]) {
    out.push(cutter.push(message.subarray(from, at)));
    from = at;
    if (cutter.done) break;
  }
  return { out: Buffer.concat(out), done: cutter.done };
}

it('TopCutter streams exactly what extractTop cuts, at every split', () => {
  const b = (s: string) => Buffer.from(s, 'latin1');
  const m = b('From: a\r\nSubject: x\r\n\r\nline1\r\nline2\r\nline3');
  for (let lines = 0; lines < 5; lines++) {
    for (let at = 0; at <= m.length; at++) assert.deepEqual(cut(m, lines, [at]).out, extractTop(m, lines), `${lines} lines, split at ${at}`);
  }
  assert.equal(cut(b('A: 1\n\nbody\nmore\nrest\n'), 1, []).done, true, 'stops reading once the cut is reached');
  assert.equal(cut(b('no blank line\r\nat all'), 0, []).done, false);
  const alphabet = fc.constantFrom(...'ab.\r\n: '.split(''));
  fc.assert(
    fc.property(fc.array(alphabet, { maxLength: 80 }), fc.nat(6), fc.array(fc.nat(80), { maxLength: 6 }), (chars, lines, splits) => {
      const message = b(chars.join(''));
      assert.deepEqual(cut(message, lines, splits).out, extractTop(message, lines));
    }),
    { numRuns: 2000 },
  );
});
