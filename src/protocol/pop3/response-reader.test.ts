import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { dotStuff } from './dot-stuff.js';
import { Pop3ResponseReader, unstuff } from './response-reader.js';

function readAll(chunks: Buffer[]): { status: string[]; bodies: Buffer[] } {
  const r = new Pop3ResponseReader();
  const status: string[] = [];
  const bodies: Buffer[] = [];
  let wantBody = false;
  for (const c of chunks) {
    r.push(c);
    for (;;) {
      if (wantBody) {
        const b = r.readMultiline();
        if (!b) break;
        bodies.push(b);
        wantBody = false;
      } else {
        const s = r.readStatus();
        if (!s) break;
        status.push(`${s.ok ? '+' : '-'}${s.text}`);
        wantBody = s.ok && s.text.startsWith('multi');
      }
    }
  }
  return { status, bodies };
}

test('status lines and multi-line bodies, whole and byte by byte', () => {
  const wire = Buffer.from('+OK ready\r\n-ERR [IN-USE] locked\r\n+OK multi 2\r\n..dot\r\nline\r\n.\r\n+OK multi empty\r\n.\r\n+OK bye\r\n');
  const expect = {
    status: ['+ready', '-[IN-USE] locked', '+multi 2', '+multi empty', '+bye'],
    bodies: [Buffer.from('.dot\r\nline\r\n'), Buffer.alloc(0)],
  };
  assert.deepEqual(readAll([wire]), expect);
  assert.deepEqual(readAll([...wire].map((b) => Buffer.from([b]))), expect);
});

test('SASL continuation and malformed replies', () => {
  const r = new Pop3ResponseReader();
  r.push(Buffer.from('+ \r\nHELLO\r\n'));
  assert.deepEqual(r.readStatus(), { ok: true, continuation: true, text: '' });
  assert.throws(() => r.readStatus(), /malformed/);
});

test('unstuff(dotStuff(x)) is x for any CRLF message ending in CRLF', () => {
  fc.assert(
    fc.property(fc.array(fc.stringMatching(/^[.a-z\u00e9 ]{0,12}$/), { maxLength: 12 }), (lines) => {
      const msg = Buffer.from(lines.map((l) => `${l}\r\n`).join(''), 'utf8');
      const stuffed = dotStuff(msg);
      // dotStuff adds the terminator; the reader strips it.
      const r = new Pop3ResponseReader();
      r.push(stuffed);
      const body = r.readMultiline();
      assert.ok(body);
      assert.deepEqual(body, msg);
      assert.deepEqual(unstuff(Buffer.from('..a\r\nb\r\n')), Buffer.from('.a\r\nb\r\n'));
    }),
  );
});
