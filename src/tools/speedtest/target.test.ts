import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ToolError } from '../errors.js';
import { parseTarget } from './target.js';

test('parses imaps/pop3 URLs with an @ in the user and default ports', () => {
  const t = parseTarget('imaps://alice@example.com@mail.example.com', 'imap');
  assert.deepEqual(
    { ...t },
    { protocol: 'imap', implicitTls: true, host: 'mail.example.com', port: 993, user: 'alice@example.com', url: 'imaps://alice@example.com@mail.example.com' },
  );
  const p = parseTarget('pop3://bob@127.0.0.1:1110', 'pop3');
  assert.equal(p.port, 1110);
  assert.equal(p.implicitTls, false);
  assert.equal(parseTarget('imaps://u@[::1]:1993', 'imap').host, '::1');
});

test('rejects wrong schemes, passwords in the URL and missing users as usage errors', () => {
  for (const [text, proto] of [['pop3s://u@h', 'imap'], ['imaps://u:pw@h', 'imap'], ['imaps://h', 'imap'], ['nonsense', 'pop3']] as const) {
    assert.throws(() => parseTarget(text, proto), (e: unknown) => e instanceof ToolError && e.kind === 'usage');
  }
});
