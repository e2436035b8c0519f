import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deriveScramCredentialsSync } from '../protocol/sasl/scram.js';
import { DEFAULT_PASSWORD_SETTINGS, hashPassword, scramCredentials, verifyPassword, withoutScram } from './passwords.js';

test('the stored SCRAM keys carry the configured iteration count', async () => {
  const stored = await hashPassword('pencil', undefined, { scram: true, scramIterations: 5000 });
  const creds = scramCredentials(stored);
  assert.ok(creds);
  assert.equal(creds.iterations, 5000);
  assert.deepEqual(creds, deriveScramCredentialsSync('pencil', creds.salt, 5000));
  // RFC 7677 §4: never fewer than 4096, whatever is asked.
  assert.equal(scramCredentials(await hashPassword('pencil', undefined, { scram: true, scramIterations: 1 }))?.iterations, 4096);
});

test('the default count is the most that Cyrus SASL clients compute (0x10000), 16 times RFC 7677\'s minimum', async () => {
  assert.equal(DEFAULT_PASSWORD_SETTINGS.scramIterations, 65_536);
  assert.equal(scramCredentials(await hashPassword('pencil'))?.iterations, 65_536);
});

test('with SCRAM off only the scrypt hash is stored, and it still verifies', async () => {
  const stored = await hashPassword('pencil', undefined, { scram: false, scramIterations: 600_000 });
  assert.match(stored, /^\$scrypt\$ln=15,r=8,p=1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
  assert.doesNotMatch(stored, /scram/);
  assert.equal(scramCredentials(stored), null);
  assert.equal(await verifyPassword('pencil', stored), true);
  assert.equal(await verifyPassword('pencil2', stored), false);
});

test('withoutScram removes the SCRAM part of a stored credential', async () => {
  const stored = await hashPassword('pencil', undefined, { scram: true, scramIterations: 4096 });
  const stripped = withoutScram(stored);
  assert.equal(scramCredentials(stripped), null);
  assert.equal(await verifyPassword('pencil', stripped), true);
  assert.equal(withoutScram(stripped), stripped);
});
