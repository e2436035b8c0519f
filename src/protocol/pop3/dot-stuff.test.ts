import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DotStuffer, dotStuff, dotStuffCrlf, wireSize } from './dot-stuff.js';
import { extractTop } from './top.js';
import { encodePop3Response, err, ok } from './response.js';

const b = (s: string) => Buffer.from(s, 'latin1');
const s = (buf: Buffer) => buf.toString('latin1');

/** Reverse of the wire encoding (what a client does): drop the terminator, un-stuff leading dots. */
function unstuff(wire: string): string {
  assert.ok(wire.endsWith('.\r\n'));
  const body = wire.slice(0, -3);
  assert.ok(body === '' || body.endsWith('\r\n'));
  return body
    .split('\r\n')
    .map((l) => (l.startsWith('.') ? l.slice(1) : l))
    .join('\r\n');
}

test('lines starting with "." get another "."', () => {
  assert.equal(s(dotStuff(b('a\r\n.\r\n..x\r\n.b\r\n'))), 'a\r\n..\r\n...x\r\n..b\r\n.\r\n');
  assert.equal(s(dotStuff(b('.first\r\nmid.dle\r\n'))), '..first\r\nmid.dle\r\n.\r\n');
});

test('bare LF becomes CRLF; a missing final line end is added', () => {
  assert.equal(s(dotStuff(b('a\nb\n.c\n'))), 'a\r\nb\r\n..c\r\n.\r\n');
  assert.equal(s(dotStuff(b('a\r\nno end'))), 'a\r\nno end\r\n.\r\n');
  assert.equal(s(dotStuff(b('.'))), '..\r\n.\r\n');
  assert.equal(s(dotStuff(b(''))), '.\r\n');
  assert.equal(s(dotStuff(b('\n\n'))), '\r\n\r\n.\r\n');
  assert.equal(s(dotStuff(b('x\r'))), 'x\r\n.\r\n');
  assert.equal(s(dotStuff(b('a\rb\r\n'))), 'a\rb\r\n.\r\n');
});

test('wireSize is the un-stuffed length of what RETR sends', () => {
  for (const m of ['', 'a', 'a\n', 'a\r\n', '.\n..\n', 'x\r', 'a\rb', 'h: v\n\nbody\nmore', '\n\r\n\n']) {
    assert.equal(wireSize(b(m)), unstuff(s(dotStuff(b(m)))).length, JSON.stringify(m));
  }
  assert.equal(wireSize(b('a\r\nb\r\n')), 6);
  assert.equal(wireSize(b('a\nb\n')), 6);
  assert.equal(wireSize(b('a\nb')), 6);
});

const messageArb = fc
  .array(fc.constantFrom('.', '..', 'a', '\r', '\n', '\r\n', ' ', 'From x', '\x00', '\xff'), { maxLength: 40 })
  .map((parts) => b(parts.join('')));

function stuffInPieces(message: Buffer, cuts: number[]): Buffer {
  const stuffer = new DotStuffer();
  const out: Buffer[] = [];
  let prev = 0;
  for (const p of [...new Set(cuts.map((c) => c % (message.length + 1)))].sort((x, y) => x - y)) {
    out.push(stuffer.push(message.subarray(prev, p)));
    prev = p;
  }
  out.push(stuffer.push(message.subarray(prev)), stuffer.end());
  return Buffer.concat(out);
}

test('random splits (and byte by byte) give exactly the bytes of the whole', () => {
  fc.assert(
    fc.property(messageArb, fc.array(fc.nat(), { maxLength: 8 }), (message, cuts) => {
      const whole = dotStuff(message);
      assert.deepEqual(stuffInPieces(message, cuts), whole);
      assert.deepEqual(stuffInPieces(message, [...message.keys()]), whole);
    }),
  );
});

test('the output is a valid multi-line body whose un-stuffing is the CRLF-normalised message', () => {
  fc.assert(
    fc.property(messageArb, (message) => {
      const wire = s(dotStuff(message));
      // The terminator appears only at the very end, as its own line.
      assert.equal(('\r\n' + wire).indexOf('\r\n.\r\n'), wire.length - 3);
      // No bare LF anywhere on the wire.
      assert.ok(!/(^|[^\r])\n/.test(wire));
      const body = unstuff(wire);
      assert.equal(body.length, wireSize(message));
      const normalised = s(message).replace(/\r?\n/g, '\r\n');
      assert.ok(body === normalised || body === normalised + '\r\n' || body === normalised + '\n');
    }),
  );
});

test('TOP: header, blank line and the first n body lines', () => {
  const m = b('From: a\r\nSubject: x\r\n\r\nline1\r\nline2\r\nline3');
  assert.equal(s(extractTop(m, 0)), 'From: a\r\nSubject: x\r\n\r\n');
  assert.equal(s(extractTop(m, 2)), 'From: a\r\nSubject: x\r\n\r\nline1\r\nline2\r\n');
  assert.equal(s(extractTop(m, 3)), s(m));
  assert.equal(s(extractTop(m, 100)), s(m));
  assert.equal(s(extractTop(b('A: 1\nB: 2\n\nbody\nmore\n'), 1)), 'A: 1\nB: 2\n\nbody\n');
  assert.equal(s(extractTop(b('no blank line\r\nat all'), 0)), 'no blank line\r\nat all');
  assert.equal(s(extractTop(b('\r\nbody only\r\n'), 0)), '\r\n');
});

test('responses: status lines, codes, multi-line with stuffing, continuation; no CRLF injection', () => {
  assert.equal(encodePop3Response(ok('2 320')), '+OK 2 320\r\n');
  assert.equal(encodePop3Response(ok('')), '+OK\r\n');
  assert.equal(encodePop3Response(err('Mailbox is locked', 'IN-USE')), '-ERR [IN-USE] Mailbox is locked\r\n');
  assert.equal(encodePop3Response(err('no such message')), '-ERR no such message\r\n');
  assert.equal(encodePop3Response(ok('list', ['1 100', '.odd'])), '+OK list\r\n1 100\r\n..odd\r\n.\r\n');
  assert.equal(encodePop3Response(ok('none', [])), '+OK none\r\n.\r\n');
  assert.equal(encodePop3Response({ kind: 'continue', challenge: '' }), '+ \r\n');
  assert.equal(encodePop3Response(err('Unknown command: X\r\n+OK fake')), '-ERR Unknown command: X  +OK fake\r\n');
});

test('dotStuffCrlf: the same bytes as dotStuff for every message already in wire form (wireSize = length)', () => {
  assert.equal(s(dotStuffCrlf(b(''))), '.\r\n');
  assert.equal(s(dotStuffCrlf(b('.a\r\n.\r\nb.\r\n..\r\n'))), '..a\r\n..\r\nb.\r\n...\r\n.\r\n');
  const line = fc.stringMatching(/^[.a\r]{0,6}$/).filter((l) => !l.endsWith('\r'));
  fc.assert(
    fc.property(fc.array(line, { maxLength: 12 }), (lines) => {
      const message = b(lines.map((l) => `${l}\r\n`).join(''));
      assert.equal(wireSize(message), message.length);
      assert.equal(s(dotStuffCrlf(message)), s(dotStuff(message)));
    }),
  );
});
