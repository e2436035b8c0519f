import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MAX_LINE, WireProtocolError } from './imap-scanner.js';
import { type Pop3Reply, Pop3Scanner } from './pop3-scanner.js';

/** RFC 1939 §3: a line-initial "." is doubled on the wire. */
const stuff = (message: string) => message.replace(/^\./gm, '..');

const MESSAGES = [
  'Subject: one\r\n\r\n.hidden\r\n..two dots\r\n.\r\nx.\r\n',
  '',
  '.\r\n',
  `Subject: long\r\n\r\n${'z'.repeat(MAX_LINE * 2)}\r\n.\r\n`,
];
const WIRE = Buffer.from(`${MESSAGES.map((m) => `+OK ${m.length} octets\r\n${stuff(m)}.\r\n`).join('')}-ERR no such message\r\n+OK bye\r\n`, 'latin1');

function scan(chunks: Buffer[]): Pop3Reply[] {
  const scanner = new Pop3Scanner();
  const replies: Pop3Reply[] = [];
  for (let i = 0; i < MESSAGES.length + 1; i++) scanner.expect({ multiline: true, done: (r) => replies.push(r) });
  scanner.expect({ multiline: false, done: (r) => replies.push(r) });
  for (const c of chunks) scanner.push(c);
  return replies;
}

describe('Pop3Scanner', () => {
  const whole = scan([WIRE]);

  test('counts each message as LIST sizes it: dot-stuffing removed, terminator excluded; -ERR has no body', () => {
    assert.deepEqual(
      whole.map((r) => [r.ok, r.messageOctets]),
      [...MESSAGES.map((m) => [true, m.length]), [false, 0], [true, 0]],
    );
    assert.equal(whole.reduce((n, r) => n + r.octets, 0), WIRE.length);
    assert.equal(whole[4].status, '-ERR no such message');
  });

  test('pipelined replies read alike wherever the reads split them, even inside the terminator', () => {
    for (let cut = 1; cut < WIRE.length; cut += cut < 400 || cut > WIRE.length - 400 ? 1 : 997) {
      assert.deepEqual(scan([WIRE.subarray(0, cut), WIRE.subarray(cut)]), whole, `cut at ${cut}`);
    }
    const small = WIRE.subarray(0, WIRE.indexOf('+OK', 100));
    const scanner = new Pop3Scanner();
    const replies: Pop3Reply[] = [];
    for (let i = 0; i < 3; i++) scanner.expect({ multiline: true, done: (r) => replies.push(r) });
    for (let i = 0; i < small.length; i++) scanner.push(small.subarray(i, i + 1));
    assert.deepEqual(replies, whole.slice(0, 3));
  });

  test('line mode hands over unstuffed lines (CAPA, UIDL)', () => {
    const scanner = new Pop3Scanner();
    const lines: string[] = [];
    let reply: Pop3Reply | null = null;
    scanner.expect({ multiline: true, line: (t) => lines.push(t), done: (r) => (reply = r) });
    const wire = '+OK\r\nTOP\r\n..dotted\r\nPIPELINING\r\n.\r\n';
    for (const ch of wire) scanner.push(Buffer.from(ch));
    assert.deepEqual(lines, ['TOP', '.dotted', 'PIPELINING']);
    assert.equal((reply as Pop3Reply | null)?.octets, wire.length);
  });

  test('a status line over the bound is a protocol error, not growth', () => {
    const scanner = new Pop3Scanner();
    scanner.expect({ multiline: false, done: () => {} });
    assert.throws(() => {
      for (let i = 0; i < 20; i++) scanner.push(Buffer.from('+OK'.padEnd(4096, 'x')));
    }, WireProtocolError);
  });

  test('STLS: halts after the +OK and returns what followed', () => {
    const scanner = new Pop3Scanner();
    scanner.expect({ multiline: false, switches: true, done: () => {} });
    assert.equal(scanner.push(Buffer.from('+OK begin TLS\r\n\x16\x03')).toString('latin1'), '\x16\x03');
  });
});
