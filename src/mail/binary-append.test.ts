import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeBinaryParts } from './binary-append.js';

const bytes = (l: string | Buffer) => (typeof l === 'string' ? Buffer.from(l, 'latin1') : l);
const crlf = (...lines: (string | Buffer)[]) => Buffer.concat(lines.flatMap((l, i) => (i ? [Buffer.from('\r\n'), bytes(l)] : [bytes(l)])));
const BIN = Buffer.from([0x00, 0x2d, 0xe4, 0x0a, 0x0d, 0x0a, 0x0a]);

describe('encodeBinaryParts (RFC 3516 §4.4 APPEND of binary content)', () => {
  it('re-encodes a binary body as base64 and rewrites its Content-Transfer-Encoding in place', () => {
    const raw = crlf('From: a@example.org', 'Content-Type: application/octet-stream', 'Content-Transfer-Encoding: binary', 'X-After: 1', '', BIN);
    const r = encodeBinaryParts(raw);
    assert.equal(r.kind, 'ok');
    assert.equal(
      r.kind === 'ok' && r.data.toString('latin1'),
      `From: a@example.org\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\nX-After: 1\r\n\r\n${BIN.toString('base64')}`,
    );
  });

  it('only the parts that need it, in a multipart; lines of 76 characters; other parts byte for byte', () => {
    const big = Buffer.alloc(200, 0);
    const raw = crlf(
      'Content-Type: multipart/mixed; boundary="b"',
      '',
      '--b',
      'Content-Type: text/plain',
      '',
      'caf\xe9',
      '--b',
      'Content-Type: application/x-data',
      '',
      big,
      '--b',
      'Content-Type: text/plain',
      'Content-Transfer-Encoding: quoted-printable',
      '',
      'a=3Db',
      '--b--',
      '',
    );
    const r = encodeBinaryParts(raw);
    assert.ok(r.kind === 'ok');
    assert.equal(r.converted, 1);
    const text = r.data.toString('latin1');
    const b64 = big.toString('base64');
    assert.ok(text.includes(`Content-Type: application/x-data\r\nContent-Transfer-Encoding: base64\r\n\r\n${b64.match(/.{1,76}/g)!.join('\r\n')}\r\n--b\r\n`), text);
    assert.ok(text.includes('\r\ncaf\xe9\r\n--b\r\n'));
    assert.ok(text.includes('a=3Db\r\n--b--'));
  });

  it('leaves a message with nothing to convert as it is, and reports NUL it cannot remove', () => {
    const plain = crlf('Subject: x', '', 'hello');
    const r = encodeBinaryParts(plain);
    assert.ok(r.kind === 'ok' && r.data === plain && r.converted === 0);
    assert.deepEqual(encodeBinaryParts(crlf('Subject: a\0b', '', 'x')), { kind: 'nul' });
    assert.deepEqual(encodeBinaryParts(crlf('Content-Transfer-Encoding: base64', '', 'QQ\0==')), { kind: 'nul' });
  });

  it('descends into message/rfc822 parts', () => {
    const raw = crlf('Content-Type: message/rfc822', '', 'Subject: inner', 'Content-Transfer-Encoding: binary', '', 'x\0y');
    const r = encodeBinaryParts(raw);
    assert.ok(r.kind === 'ok');
    assert.equal(r.data.toString('latin1'), `Content-Type: message/rfc822\r\n\r\nSubject: inner\r\nContent-Transfer-Encoding: base64\r\n\r\n${Buffer.from('x\0y').toString('base64')}`);
  });
});
