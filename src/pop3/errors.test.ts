import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StoreError } from '../store/types.js';
import { encodePop3Response } from '../protocol/pop3/index.js';
import { pop3ErrorFor, updateFailed } from './errors.js';

const text = (e: unknown) => encodePop3Response(pop3ErrorFor(e).response);

test('store errors map to RFC 3206 codes; unknown errors say nothing internal', () => {
  assert.equal(text(new StoreError('STORE_UNAVAILABLE', 'db locked')), '-ERR [SYS/TEMP] Storage is temporarily unavailable, try again later\r\n');
  assert.equal(text(new StoreError('STORE_NO_SUCH_MAILBOX', 'x')), '-ERR [SYS/PERM] The maildrop (INBOX) does not exist\r\n');
  assert.equal(pop3ErrorFor(new StoreError('STORE_OVER_QUOTA', 'x')).unexpected, false);
  const unknown = pop3ErrorFor(new Error('SQLITE_CORRUPT at /var/secret/path'));
  assert.equal(unknown.unexpected, true);
  assert.equal(encodePop3Response(unknown.response), '-ERR [SYS/TEMP] Internal server error, try again later\r\n');
  assert.equal(encodePop3Response(updateFailed(new StoreError('STORE_UNAVAILABLE', 'x')).response), '-ERR [SYS/TEMP] Some deleted messages not removed\r\n');
});
