import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parsePop3Command } from './command.js';

test('keywords are case-insensitive', () => {
  assert.deepEqual(parsePop3Command('stat'), { name: 'STAT', args: {} });
  assert.deepEqual(parsePop3Command('Capa'), { name: 'CAPA', args: {} });
  assert.deepEqual(parsePop3Command('uidl 3'), { name: 'UIDL', args: { msg: 3 } });
});

test('commands with arguments', () => {
  assert.deepEqual(parsePop3Command('USER alice@example.com'), { name: 'USER', args: { user: 'alice@example.com' } });
  assert.deepEqual(parsePop3Command('PASS two words '), { name: 'PASS', args: { password: 'two words ' } });
  assert.deepEqual(parsePop3Command('LIST'), { name: 'LIST', args: {} });
  assert.deepEqual(parsePop3Command('LIST 12'), { name: 'LIST', args: { msg: 12 } });
  assert.deepEqual(parsePop3Command('RETR 1'), { name: 'RETR', args: { msg: 1 } });
  assert.deepEqual(parsePop3Command('DELE 007'), { name: 'DELE', args: { msg: 7 } });
  assert.deepEqual(parsePop3Command('TOP 2 0'), { name: 'TOP', args: { msg: 2, lines: 0 } });
  assert.deepEqual(parsePop3Command('TOP 2 10'), { name: 'TOP', args: { msg: 2, lines: 10 } });
  assert.deepEqual(parsePop3Command('AUTH'), { name: 'AUTH', args: {} });
  assert.deepEqual(parsePop3Command('AUTH plain'), { name: 'AUTH', args: { mechanism: 'PLAIN' } });
  assert.deepEqual(parsePop3Command('AUTH PLAIN AGFsaWNlAHB3'), {
    name: 'AUTH',
    args: { mechanism: 'PLAIN', initialResponse: 'AGFsaWNlAHB3' },
  });
});

test('message numbers must be positive decimal integers without sign', () => {
  for (const bad of ['RETR 0', 'RETR -1', 'RETR +1', 'RETR 1.5', 'RETR x', 'RETR', 'RETR 1 2', 'RETR 12345678901', 'LIST 0', 'DELE 0x1']) {
    const r = parsePop3Command(bad);
    assert.ok('error' in r, bad);
    assert.ok(!r.unknown, bad);
  }
});

test('TOP needs n > 0 and m >= 0', () => {
  for (const bad of ['TOP 1', 'TOP 0 1', 'TOP 1 -1', 'TOP 1 x', 'TOP', 'TOP 1 2 3']) assert.ok('error' in parsePop3Command(bad), bad);
  assert.deepEqual(parsePop3Command('TOP 1 99999999999999999999'), { name: 'TOP', args: { msg: 1, lines: Number.MAX_SAFE_INTEGER } });
});

test('commands that take no arguments refuse them', () => {
  for (const bad of ['STAT 1', 'QUIT now', 'NOOP x', 'RSET 1', 'CAPA x', 'STLS x']) assert.ok('error' in parsePop3Command(bad), bad);
});

test('unknown commands are named in the error, sanitised and truncated', () => {
  assert.deepEqual(parsePop3Command('XYZZY 1'), { error: 'Unknown command: XYZZY', name: 'XYZZY', unknown: true });
  const r = parsePop3Command('A\u0001B' + 'c'.repeat(100));
  assert.ok('error' in r && r.unknown);
  assert.ok(r.error.length < 70);
  assert.ok(!/[\x00-\x1f]/.test(r.error));
  assert.deepEqual(parsePop3Command(''), { error: 'Empty command' });
});

test('hostile lines never throw', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 300 }), (line) => {
      const r = parsePop3Command(line);
      assert.ok('error' in r || typeof r.name === 'string');
    }),
  );
});
