import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Pop3LineReader, type ReadLine } from './line-reader.js';

function drain(reader: Pop3LineReader): ReadLine[] {
  const out: ReadLine[] = [];
  for (let item = reader.next(); item !== null; item = reader.next()) out.push(item);
  return out;
}

function readAll(chunks: Buffer[], max?: number): ReadLine[] {
  const reader = new Pop3LineReader(max);
  const out: ReadLine[] = [];
  for (const c of chunks) {
    reader.push(c);
    out.push(...drain(reader));
  }
  return out;
}

test('pipelined commands in one chunk come out one at a time', () => {
  const reader = new Pop3LineReader();
  reader.push(Buffer.from('USER alice\r\nPASS secret word\r\nSTAT\r\nLI'));
  assert.equal(reader.next(), 'USER alice');
  assert.equal(reader.next(), 'PASS secret word');
  assert.equal(reader.next(), 'STAT');
  assert.equal(reader.next(), null);
  assert.equal(reader.bufferedBytes, 2);
  reader.push(Buffer.from('ST\r\n'));
  assert.equal(reader.next(), 'LIST');
  assert.equal(reader.bufferedBytes, 0);
});

test('bare LF ends a line; a CR inside a line is kept', () => {
  assert.deepEqual(readAll([Buffer.from('NOOP\nQUIT\r\nA\rB\r\n\r\n')]), ['NOOP', 'QUIT', 'A\rB', '']);
});

test('CR and LF split across chunks', () => {
  assert.deepEqual(readAll([Buffer.from('NOOP\r'), Buffer.from('\nQUIT\r'), Buffer.from('\n')]), ['NOOP', 'QUIT']);
});

test('an over-long line is reported once and the next line is read normally', () => {
  const long = Buffer.alloc(100, 'x');
  assert.deepEqual(readAll([long, long, Buffer.from('\r\nNOOP\r\n')], 64), [{ tooLong: true }, 'NOOP']);
});

test('the limit counts the line end: max-2 content octets plus CRLF fit exactly', () => {
  const max = 16;
  assert.deepEqual(readAll([Buffer.from('a'.repeat(max - 2) + '\r\n')], max), ['a'.repeat(max - 2)]);
  assert.deepEqual(readAll([Buffer.from('a'.repeat(max - 1) + '\r\n')], max), [{ tooLong: true }]);
  assert.deepEqual(readAll([Buffer.from('a'.repeat(max - 1) + '\n')], max), ['a'.repeat(max - 1)]);
});

test('memory stays bounded while an endless line streams in', () => {
  const reader = new Pop3LineReader(1024);
  for (let i = 0; i < 1000; i++) {
    reader.push(Buffer.alloc(4096, 'y'));
    assert.ok(reader.bufferedBytes < 1024);
  }
  assert.equal(reader.next(), null);
  reader.push(Buffer.from('\r\nQUIT\r\n'));
  assert.deepEqual(drain(reader), [{ tooLong: true }, 'QUIT']);
});

test('reset drops queued lines and the partial line (STLS injection defence)', () => {
  const reader = new Pop3LineReader();
  reader.push(Buffer.from('STLS\r\nUSER injected\r\nPA'));
  assert.equal(reader.next(), 'STLS');
  reader.reset();
  assert.equal(reader.bufferedBytes, 0);
  reader.push(Buffer.from('SS x\r\n'));
  assert.equal(reader.next(), 'SS x');
});

test('byte-by-byte and random splits give the same lines as the whole input', () => {
  const lineArb = fc.oneof(
    fc.constantFrom('USER alice', 'PASS p w', 'STAT', 'LIST 1', 'RETR 2', 'TOP 1 0', '', 'x'.repeat(80)),
    fc.string({ maxLength: 30 }).map((s) => s.replace(/[\r\n]/g, '')),
  );
  fc.assert(
    fc.property(fc.array(lineArb, { maxLength: 20 }), fc.array(fc.nat(), { maxLength: 10 }), (lines, cuts) => {
      const whole = Buffer.from(lines.map((l) => l + '\r\n').join(''), 'utf8');
      const expected = readAll([whole], 64);
      const bytes = [...whole].map((b) => Buffer.from([b]));
      assert.deepEqual(readAll(bytes, 64), expected);
      const points = [...new Set(cuts.map((c) => c % (whole.length + 1)))].sort((a, b) => a - b);
      const pieces: Buffer[] = [];
      let prev = 0;
      for (const p of points) {
        pieces.push(whole.subarray(prev, p));
        prev = p;
      }
      pieces.push(whole.subarray(prev));
      assert.deepEqual(readAll(pieces, 64), expected);
    }),
  );
});

test('hostile bytes never throw and never yield a line over the limit', () => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 20 }), (chunks) => {
      const out = readAll(chunks.map((c) => Buffer.from(c)), 50);
      // Each input octet decodes to at most one UTF-16 unit (invalid bytes become U+FFFD), so length bounds the octets.
      for (const item of out) if (typeof item === 'string') assert.ok(item.length <= 50);
    }),
  );
});
