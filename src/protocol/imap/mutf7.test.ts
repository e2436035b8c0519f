import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeMailboxName, encodeMailboxName, MalformedMailboxName } from './mutf7.js';

const pairs: Array<[string, string]> = [
  ['INBOX', 'INBOX'],
  ['Entwürfe', 'Entw&APw-rfe'],
  ['&', '&-'],
  ['Tom & Jerry', 'Tom &- Jerry'],
  // RFC 3501 §5.1.3 example
  ['~peter/mail/台北/日本語', '~peter/mail/&U,BTFw-/&ZeVnLIqe-'],
  ['Отправленные', '&BB4EQgQ,BEAEMAQyBDsENQQ9BD0ESwQ1-'],
  ['😀', '&2D3eAA-'],
  ['a\tb', 'a&AAk-b'],
  ['', ''],
];

test('known names encode and decode', () => {
  for (const [name, wire] of pairs) {
    assert.equal(encodeMailboxName(name), wire, name);
    assert.equal(decodeMailboxName(wire), name, wire);
  }
});

test('malformed wire names throw', () => {
  const bad = [
    '&U,BTFw', // unterminated
    '&AGE-', // encodes printable "a"
    '&AP-', // odd byte count / dirty bits
    '&A*w-', // invalid base64 char
    'Entw\u00fcrfe', // raw 8-bit
    '&2D0-', // lone high surrogate
    'a\r\nb',
  ];
  for (const wire of bad) assert.throws(() => decodeMailboxName(wire), MalformedMailboxName, JSON.stringify(wire));
});

test('round trip for any well-formed string', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'grapheme', maxLength: 40 }), (name) => {
      const wire = encodeMailboxName(name);
      assert.match(wire, /^[\x20-\x7e]*$/);
      assert.equal(decodeMailboxName(wire), name);
    }),
  );
});
