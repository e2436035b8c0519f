/**
 * ENVELOPE strings meant for people (subject, display names) as Dovecot 2.3
 * sends them: folds, TABs and runs of white space become one space. The
 * expected values were read from Dovecot 2.3.19 (FETCH ENVELOPE of the same
 * messages, test/helpers/dovecot.ts); test/interop/imaptest.test.ts checks
 * a folded subject against a live Dovecot.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { envelope, parseMessage, type ImapLikeValue } from './index.js';

const text = (v: ImapLikeValue) => (Buffer.isBuffer(v) ? v.toString('latin1') : v);

function envelopeOf(header: string): ImapLikeValue[] {
  const raw = Buffer.from(`${header}\r\n\r\nbody\r\n`, 'latin1');
  return envelope(raw, parseMessage(raw)) as ImapLikeValue[];
}

test('a subject folded with a TAB, or holding TABs and runs of spaces, reads with single spaces (as Dovecot)', () => {
  const cases: Array<[string, string]> = [
    ['a\r\n\tb', 'a b'],
    ['a\r\n b', 'a b'],
    ['a\r\n  b', 'a b'],
    ['a\r\n\t\tb', 'a b'],
    ['a \r\n\tb', 'a b'],
    ['a\tb', 'a b'],
    ['a  b', 'a b'],
    ['a\t\tb', 'a b'],
    ['a\r\n\tb\r\n\tc', 'a b c'],
    ['"q"\r\n\tb', '"q" b'],
    ['a\r\n \tb', 'a b'],
    ['plain', 'plain'],
  ];
  for (const [subject, expected] of cases) {
    assert.equal(text(envelopeOf(`From: a@example.org\r\nSubject: ${subject}`)[1]!), expected, JSON.stringify(subject));
  }
});

test('a display name folded with a TAB reads with one space; the Date keeps its TAB as Dovecot does', () => {
  const env = envelopeOf('From: "Na\r\n\tme" <a@example.org>\r\nDate: Mon, 1 Jan 2024\r\n\t00:00:00 +0000');
  const from = env[2] as ImapLikeValue[][];
  assert.equal(text(from[0]![0]!), 'Na me');
  assert.equal(text(env[0]!), 'Mon, 1 Jan 2024\t00:00:00 +0000');
});
