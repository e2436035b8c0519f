import assert from 'node:assert/strict';
import { test } from 'node:test';
import { flagsToMaildirLetters, maildirLettersToFlags, splitMaildirName } from './maildir-flags.js';

test('maildir letters map to IMAP flags and back in ASCII order', () => {
  assert.deepEqual(maildirLettersToFlags('FRS'), ['\\Flagged', '\\Answered', '\\Seen']);
  assert.deepEqual(maildirLettersToFlags('PTDx'), ['$Forwarded', '\\Deleted', '\\Draft']);
  assert.equal(flagsToMaildirLetters(['\\Seen', '\\Flagged', '\\Answered', '$Forwarded', '\\Draft', '\\Deleted', 'other']), 'DFPRST');
  assert.equal(flagsToMaildirLetters([]), '');
});

test('maildir names split at the last ":2,"', () => {
  assert.deepEqual(splitMaildirName('1700000000.M1P2.host,S=12:2,FS'), { base: '1700000000.M1P2.host,S=12', letters: 'FS' });
  assert.deepEqual(splitMaildirName('1700000000.M1P2.host'), { base: '1700000000.M1P2.host', letters: '' });
});
