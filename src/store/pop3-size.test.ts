import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { wireSize } from '../protocol/pop3/index.js';
import { Pop3SizeCounter, pop3SizeOf } from './pop3-size.js';

test('the POP3 size is what RETR sends before byte-stuffing', () => {
  assert.equal(pop3SizeOf(Buffer.alloc(0)), 0);
  assert.equal(pop3SizeOf(Buffer.from('a\r\n')), 3);
  assert.equal(pop3SizeOf(Buffer.from('a\nb\n')), 6);
  assert.equal(pop3SizeOf(Buffer.from('a')), 3); // a final CRLF is added
  assert.equal(pop3SizeOf(Buffer.from('a\r')), 3); // a trailing CR pairs with the added LF
  assert.equal(pop3SizeOf(Buffer.from('\n')), 2);
  assert.equal(pop3SizeOf(Buffer.from('.\r\n..\n')), 7);
});

test('agrees with the POP3 codec for any bytes split anywhere', () => {
  const bytes = fc.array(fc.constantFrom(0x0a, 0x0d, 0x2e, 0x61, 0x00, 0xff), { maxLength: 64 });
  fc.assert(
    fc.property(bytes, fc.array(fc.nat({ max: 64 }), { maxLength: 6 }), (values, cuts) => {
      const content = Buffer.from(values);
      assert.equal(pop3SizeOf(content), wireSize(content));
      const counter = new Pop3SizeCounter();
      let start = 0;
      for (const cut of [...cuts].sort((a, b) => a - b)) {
        counter.push(content.subarray(start, Math.max(start, Math.min(cut, content.length))));
        start = Math.max(start, Math.min(cut, content.length));
      }
      counter.push(content.subarray(start));
      assert.equal(counter.total(), wireSize(content));
    }),
    { numRuns: 500 },
  );
});
