import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ByteQueue } from './byte-queue.js';

test('behaves like one flat buffer, whatever the chunking', () => {
  const op = fc.oneof(
    fc.record({ push: fc.uint8Array({ maxLength: 12 }).map((a) => a.map((b) => (b % 4 === 0 ? 0x0a : b))) }),
    fc.record({ take: fc.nat(20) }),
    fc.record({ drop: fc.nat(20) }),
    fc.record({ lf: fc.constant(true) }),
    fc.record({ slice: fc.tuple(fc.nat(20), fc.nat(20)) }),
  );
  fc.assert(
    fc.property(fc.array(op, { maxLength: 80 }), (ops) => {
      const q = new ByteQueue();
      let model = Buffer.alloc(0);
      for (const o of ops) {
        if ('push' in o) {
          q.push(Buffer.from(o.push));
          model = Buffer.concat([model, Buffer.from(o.push)]);
        } else if ('take' in o) {
          const n = Math.min(o.take, model.length);
          assert.deepEqual(q.take(n), model.subarray(0, n));
          model = model.subarray(n);
        } else if ('drop' in o) {
          const n = Math.min(o.drop, model.length);
          q.drop(n);
          model = model.subarray(n);
        } else if ('lf' in o) {
          assert.equal(q.indexOfLf(), model.indexOf(0x0a));
        } else {
          const [a, b] = [Math.min(...o.slice), Math.min(Math.max(...o.slice), model.length)];
          assert.deepEqual(q.slice(a, b), model.subarray(Math.min(a, b), b));
        }
        assert.equal(q.length, model.length);
      }
    }),
    { numRuns: 300 },
  );
});
