import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isValidAddress, toCrlf } from './mail-domain.js';
import { canonicalMailboxName, InvalidMailboxName, validateMailboxName } from './mailbox-names.js';
import { generatePassword, hashPassword, verifyPassword } from './passwords.js';

test('scrypt hashes verify, reject wrong passwords, and are salted', async () => {
  const h1 = await hashPassword('correct horse');
  const h2 = await hashPassword('correct horse');
  assert.match(h1, /^\$scrypt\$ln=15,r=8,p=1\$/);
  assert.notEqual(h1, h2);
  assert.equal(await verifyPassword('correct horse', h1), true);
  assert.equal(await verifyPassword('correct horsf', h1), false);
  assert.equal(await verifyPassword('x', 'not a hash'), false);
  assert.match(generatePassword(), /^[a-zA-Z2-9]{20}$/);
});

test('mailbox names: INBOX is case-insensitive; bad names are refused with a reason', () => {
  assert.equal(canonicalMailboxName('inbox'), 'INBOX');
  assert.equal(canonicalMailboxName('Inbox/Sub'), 'INBOX/Sub');
  assert.equal(canonicalMailboxName('Inboxes'), 'Inboxes');
  assert.equal(validateMailboxName('Projects/2026'), 'Projects/2026');
  assert.equal(validateMailboxName('Entwürfe'), 'Entwürfe');
  for (const bad of ['', '/a', 'a/', 'a//b', 'a*', 'b%', 'x\u0000y', 'a/../b', 'x'.repeat(600)]) {
    assert.throws(() => validateMailboxName(bad), InvalidMailboxName, bad);
  }
});

test('addresses and line ends', () => {
  assert.ok(isValidAddress('alice@example.com'));
  assert.ok(!isValidAddress('alice'));
  assert.ok(!isValidAddress('a b@example.com'));
  assert.equal(toCrlf(Buffer.from('a\nb\r\nc\n')).toString(), 'a\r\nb\r\nc\r\n');
  const crlf = Buffer.from('a\r\nb\r\n');
  assert.equal(toCrlf(crlf), crlf, 'CRLF input is returned as is');
});
