import assert from 'node:assert/strict';
import { it } from 'node:test';
import fc from 'fast-check';
import { toCrlf } from './mail-domain.js';
import { CrlfNormaliser } from './staged-body.js';

it('CrlfNormaliser gives what toCrlf gives, however the input is split', () => {
  const alphabet = fc.constantFrom(...'a.\r\n'.split(''));
  fc.assert(
    fc.property(fc.array(alphabet, { maxLength: 60 }), fc.array(fc.nat(60), { maxLength: 8 }), (chars, splits) => {
      const message = Buffer.from(chars.join(''), 'latin1');
      const normaliser = new CrlfNormaliser();
      const out: Buffer[] = [];
      let from = 0;
      for (const at of [...splits.filter((s) => s < message.length).sort((a, b) => a - b), message.length]) {
        out.push(normaliser.push(message.subarray(from, Math.max(from, at))));
        from = Math.max(from, at);
      }
      assert.deepEqual(Buffer.concat(out), toCrlf(message));
    }),
    { numRuns: 3000 },
  );
});
