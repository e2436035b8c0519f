import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { encodeResponse, encodeResponses, encodeValue, encodeValueText } from './encoder.js';
import type { EncodeOptions, ImapResponse, ImapValue } from './types.js';

const RFC3501: EncodeOptions = { utf8: false };
const UTF8: EncodeOptions = { utf8: true };

const envelope: ImapValue = [
  'Mon, 7 Feb 1994 21:52:25 -0800',
  'Caf\u00e9 "menu" \\ 2',
  [['Terry Gray', null, 'gray', 'cac.washington.edu']],
  null,
  Buffer.from('J\xf6rg', 'latin1'),
];

test('a pre-encoded value is written as is, byte for byte the same as encoding it in place', () => {
  for (const opts of [RFC3501, UTF8]) {
    const inPlace: ImapResponse = { type: 'fetch', seq: 7, items: [['UID', 9], ['ENVELOPE', envelope]] };
    const cached: ImapResponse = { type: 'fetch', seq: 7, items: [['UID', 9], ['ENVELOPE', { encoded: encodeValue(envelope, opts) }]] };
    assert.deepEqual(encodeResponse(cached, opts), encodeResponse(inPlace, opts));
  }
  // Without UTF8=ACCEPT the 8-bit subject is a literal; with it, a quoted string (RFC 6855 §3).
  assert.match(encodeValue(envelope, RFC3501).toString('latin1'), /\{16\}\r\nCafÃ© "menu" \\ 2 /);
  assert.match(encodeValue(envelope, UTF8).toString('utf8'), /"Café \\"menu\\" \\\\ 2"/);
});

/** Nested values of the common kinds (and `more`): strings of any octet, Buffers, lists. */
function anyValue(...more: Array<fc.Arbitrary<ImapValue>>): fc.Arbitrary<ImapValue> {
  return fc.letrec<{ v: ImapValue }>((tie) => ({
    v: fc.oneof(
      { depthSize: 'small' },
      fc.constant(null),
      fc.nat(),
      fc.string({ unit: 'binary', maxLength: 40 }),
      fc.uint8Array({ maxLength: 30 }).map((a) => Buffer.from(a)),
      ...more,
      fc.array(tie('v'), { maxLength: 4 }),
    ),
  })).v;
}

test('encodeResponses is the concatenation of encodeResponse, for any mix of text and bytes', () => {
  const value = anyValue();
  const fetch = fc.record({ seq: fc.integer({ min: 1, max: 1e6 }), value }).map(
    ({ seq, value: v }): ImapResponse => ({ type: 'fetch', seq, items: [['UID', seq], ['X-TEST', v]] }),
  );
  fc.assert(
    fc.property(fc.array(fetch, { maxLength: 8 }), fc.boolean(), (responses, utf8) => {
      const opts = { utf8 };
      assert.deepEqual(encodeResponses(responses, opts), Buffer.concat(responses.map((r) => encodeResponse(r, opts))));
    }),
  );
  assert.equal(encodeResponses([], RFC3501).length, 0);
});

test('quoted strings: the no-escape fast path and the escaping path agree with RFC 9051 §4.3', () => {
  const wire = (s: string, opts = RFC3501) => encodeValue(s, opts).toString('utf8');
  assert.equal(wire('plain text 123'), '"plain text 123"');
  assert.equal(wire('a "b" \\c'), '"a \\"b\\" \\\\c"');
  assert.equal(wire('tab\there'), '"tab\there"');
  assert.equal(wire('x'.repeat(1024)), `"${'x'.repeat(1024)}"`);
  assert.equal(wire('x'.repeat(1025)), `{1025}\r\n${'x'.repeat(1025)}`);
  assert.equal(wire('line\r\nbreak'), '{11}\r\nline\r\nbreak');
  assert.equal(wire('caf\u00e9'), '{5}\r\ncaf\u00e9');
  assert.equal(wire('caf\u00e9', UTF8), '"caf\u00e9"');
});

test('responses already in wire form are written as they are, between encoded ones, with no CRLF added', () => {
  const batch = Buffer.from('* 1 FETCH (UID 1 FLAGS (\\Seen))\r\n* 2 FETCH (UID 2 FLAGS ())\r\n', 'latin1');
  const done: ImapResponse = { type: 'status', tag: 't1', status: 'OK', text: 'FETCH completed' };
  const exists: ImapResponse = { type: 'exists', count: 3 };
  assert.equal(
    encodeResponses([exists, { type: 'wire', bytes: batch }, done], RFC3501).toString('latin1'),
    `* 3 EXISTS\r\n${batch.toString('latin1')}t1 OK FETCH completed\r\n`,
  );
  assert.deepEqual(encodeResponse({ type: 'wire', bytes: batch }, UTF8), batch);
});

test('encodeValueText is encodeValue as latin1 text, for any value, with and without UTF8=ACCEPT', () => {
  const value = anyValue(
    fc.string({ unit: 'grapheme', maxLength: 20 }),
    fc.constantFrom('x'.repeat(1024), 'y'.repeat(1025), 'caf\u00e9 "q" \\', 'a\r\nb'),
    fc.stringMatching(/^[A-Za-z$\\][A-Za-z0-9]{0,8}$/).map((atom): ImapValue => ({ atom })),
    fc.uint8Array({ maxLength: 30 }).map((a): ImapValue => ({ literal8: Buffer.from(a) })),
  );
  fc.assert(
    fc.property(value, fc.boolean(), (v, utf8) => {
      const opts = { utf8 };
      assert.deepEqual(Buffer.from(encodeValueText(v, opts), 'latin1'), encodeValue(v, opts));
    }),
    { numRuns: 500 },
  );
  assert.equal(encodeValueText(envelope, RFC3501), encodeValue(envelope, RFC3501).toString('latin1'));
});
