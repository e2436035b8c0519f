import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ImapScanner, MAX_LINE, numberAfter, WireProtocolError } from './imap-scanner.js';

/** What a scanner reported, as text, for comparing one feeding with another. */
function scan(chunks: Buffer[]): { events: string[]; octets: number } {
  const events: string[] = [];
  const scanner = new ImapScanner({
    line: (buf, start, end, continued, octets) => events.push(`${continued ? 'cont' : 'line'} ${buf.toString('latin1', start, end)} (${octets})`),
    literal: (size) => events.push(`literal ${size}`),
  });
  for (const c of chunks) scanner.push(c);
  return { events, octets: scanner.octets };
}

const BODY = 'From: a\r\n\r\nnot a line: * 9 FETCH {99}\r\nw1 OK not the end\r\n';
const STREAM = Buffer.from(
  `* 1 FETCH (UID 7 RFC822.SIZE ${BODY.length} BODY[] {${BODY.length}}\r\n${BODY} FLAGS (\\Seen))\r\n` +
    `* 2 FETCH (UID 8 BINARY[] ~{3}\r\nabc)\r\n` +
    `* 3 FETCH (UID 9 BODY[] {0}\r\n)\r\n` +
    'w1 OK FETCH done\r\n',
  'latin1',
);
/** A line event: its text and its octets on the wire (CRLF included). */
const l = (kind: 'line' | 'cont', text: string) => `${kind} ${text} (${text.length + 2})`;
const EXPECTED = [
  l('line', `* 1 FETCH (UID 7 RFC822.SIZE ${BODY.length} BODY[] {${BODY.length}}`),
  `literal ${BODY.length}`,
  l('cont', ' FLAGS (\\Seen))'),
  l('line', '* 2 FETCH (UID 8 BINARY[] ~{3}'),
  'literal 3',
  l('cont', ')'),
  l('line', '* 3 FETCH (UID 9 BODY[] {0}'),
  'literal 0',
  l('cont', ')'),
  l('line', 'w1 OK FETCH done'),
];

describe('ImapScanner', () => {
  test('skips literals by length: their content is never taken for a response line', () => {
    assert.deepEqual(scan([STREAM]), { events: EXPECTED, octets: STREAM.length });
  });

  test('the same events whatever the chunk boundaries: split at every octet, and one octet at a time', () => {
    for (let cut = 1; cut < STREAM.length; cut++) {
      assert.deepEqual(scan([STREAM.subarray(0, cut), STREAM.subarray(cut)]), { events: EXPECTED, octets: STREAM.length }, `cut at ${cut}`);
    }
    const bytes = Array.from({ length: STREAM.length }, (_, i) => STREAM.subarray(i, i + 1));
    assert.deepEqual(scan(bytes), { events: EXPECTED, octets: STREAM.length });
  });

  test('a line over the bound is a protocol error, in one chunk or growing across many; a literal may be larger', () => {
    const long = Buffer.from(`* OK ${'x'.repeat(MAX_LINE)}\r\n`);
    assert.throws(() => scan([long]), WireProtocolError);
    const pieces = Array.from({ length: 20 }, () => Buffer.from('x'.repeat(4096)));
    assert.throws(() => scan([Buffer.from('* OK '), ...pieces]), WireProtocolError);
    const big = 'y'.repeat(MAX_LINE * 3);
    assert.deepEqual(scan([Buffer.from(`* 1 FETCH (BODY[] {${big.length}}\r\n${big})\r\n`)]).events.slice(1), [`literal ${big.length}`, 'cont ) (3)']);
  });

  test('a sink may halt at a line: push returns what followed (the start of a compressed or TLS stream)', () => {
    const scanner: ImapScanner = new ImapScanner({
      line: (buf, start, end) => {
        if (buf.toString('latin1', start, end).startsWith('w2 OK')) scanner.halt = true;
      },
      literal: () => {},
    });
    const rest = scanner.push(Buffer.from('w2 OK DEFLATE active\r\n\x01\x02\x03'));
    assert.deepEqual([...rest], [1, 2, 3]);
    assert.equal(scanner.octets, 22);
  });

  test('numberAfter reads a number within the line only', () => {
    const buf = Buffer.from('* 1 FETCH (UID 42 RFC822.SIZE 1234)\r\n* 2 FETCH (RFC822.SIZE 99)');
    const size = Buffer.from('RFC822.SIZE ');
    assert.equal(numberAfter(buf, 0, 35, size), 1234);
    assert.equal(numberAfter(buf, 0, 35, Buffer.from('UID ')), 42);
    assert.equal(numberAfter(buf, 0, 20, size), -1);
  });
});
