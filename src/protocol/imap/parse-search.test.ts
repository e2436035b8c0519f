import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CommandReader, type ReaderEvent } from './reader.js';
import type { ImapCommand, SearchKey } from './types.js';

const OPTS = { maxLineBytes: 8192, maxLiteralBytes: 1024, maxAppendLiteralBytes: 1 << 20, maxNesting: 16 };

function read(input: string): ReaderEvent[] {
  const run = (chunks: Buffer[]): ReaderEvent[] => {
    const reader = new CommandReader(OPTS);
    const out: ReaderEvent[] = [];
    for (const c of chunks) {
      reader.push(c);
      for (let e = reader.next(); e; e = reader.next()) if (e.type !== 'continue') out.push(e);
    }
    return out;
  };
  const bytes = Buffer.from(input + '\r\n', 'utf8');
  const whole = run([bytes]);
  assert.deepEqual(run([...bytes].map((b) => Buffer.from([b]))), whole);
  assert.equal(whole.length, 1);
  return whole;
}

function search(line: string): Extract<ImapCommand, { name: 'SEARCH' }> {
  const [e] = read(line);
  if (e.type !== 'command' || e.command.name !== 'SEARCH') assert.fail(`not a SEARCH: ${JSON.stringify(e)}`);
  return e.command;
}

/** The keys of a plain SEARCH (top level is always an `and`). */
function keys(args: string): SearchKey[] {
  const key = search(`a SEARCH ${args}`).key;
  assert.equal(key.type, 'and');
  return key.type === 'and' ? key.keys : [];
}

function bad(line: string, text: RegExp): void {
  const [e] = read(line);
  assert.equal(e.type, 'bad', `expected BAD for ${line}`);
  if (e.type === 'bad') assert.match(e.text, text);
}

test('RFC 9051 examples', () => {
  assert.deepEqual(keys('FLAGGED SINCE 1-Feb-1994 NOT FROM "Smith"'), [
    { type: 'flag', flag: '\\Flagged', set: true },
    { type: 'date', field: 'internal', op: 'since', date: '1994-02-01' },
    { type: 'not', key: { type: 'header', field: 'From', value: 'Smith' } },
  ]);
  const c = search('A284 SEARCH CHARSET UTF-8 TEXT {13+}\r\nот кого');
  assert.equal(c.charset, 'UTF-8');
  assert.deepEqual(c.key, { type: 'and', keys: [{ type: 'text', value: 'от кого' }] });
  assert.equal(c.returnOptions, null);
  assert.equal(c.uid, false);
  const e = search('A282 UID SEARCH RETURN (MIN COUNT) FLAGGED SINCE 1-Feb-1994 NOT FROM "Smith"');
  assert.deepEqual([e.uid, e.returnOptions], [true, ['MIN', 'COUNT']]);
  assert.deepEqual(search('a SEARCH RETURN () ALL').returnOptions, []);
});

test('every flag key', () => {
  const pairs: Array<[string, string, boolean]> = [
    ['ANSWERED', '\\Answered', true], ['UNANSWERED', '\\Answered', false],
    ['DELETED', '\\Deleted', true], ['UNDELETED', '\\Deleted', false],
    ['DRAFT', '\\Draft', true], ['UNDRAFT', '\\Draft', false],
    ['FLAGGED', '\\Flagged', true], ['UNFLAGGED', '\\Flagged', false],
    ['SEEN', '\\Seen', true], ['unseen', '\\Seen', false],
  ];
  for (const [k, flag, set] of pairs) assert.deepEqual(keys(k), [{ type: 'flag', flag, set }], k);
  assert.deepEqual(keys('KEYWORD $Forwarded UNKEYWORD Junk'), [
    { type: 'flag', flag: '$Forwarded', set: true },
    { type: 'flag', flag: 'Junk', set: false },
  ]);
  assert.deepEqual(keys('ALL NEW OLD RECENT'), [
    { type: 'all' }, { type: 'recent', value: 'new' }, { type: 'recent', value: 'old' }, { type: 'recent', value: 'recent' },
  ]);
});

test('string, header, date, size, uid, modseq keys', () => {
  assert.deepEqual(keys('BCC a CC b FROM c SUBJECT "d e" TO f BODY g TEXT h HEADER X-Spam "yes"'), [
    { type: 'header', field: 'Bcc', value: 'a' },
    { type: 'header', field: 'Cc', value: 'b' },
    { type: 'header', field: 'From', value: 'c' },
    { type: 'header', field: 'Subject', value: 'd e' },
    { type: 'header', field: 'To', value: 'f' },
    { type: 'body', value: 'g' },
    { type: 'text', value: 'h' },
    { type: 'header', field: 'X-Spam', value: 'yes' },
  ]);
  assert.deepEqual(keys('BEFORE 01-Feb-1994 ON "3-mar-2000" SINCE 29-Feb-2024 SENTBEFORE 1-Jan-2001 SENTON 2-Jan-2001 SENTSINCE 3-Jan-2001'), [
    { type: 'date', field: 'internal', op: 'before', date: '1994-02-01' },
    { type: 'date', field: 'internal', op: 'on', date: '2000-03-03' },
    { type: 'date', field: 'internal', op: 'since', date: '2024-02-29' },
    { type: 'date', field: 'sent', op: 'before', date: '2001-01-01' },
    { type: 'date', field: 'sent', op: 'on', date: '2001-01-02' },
    { type: 'date', field: 'sent', op: 'since', date: '2001-01-03' },
  ]);
  assert.deepEqual(keys('LARGER 1000 SMALLER 20000'), [
    { type: 'size', op: 'larger', value: 1000 },
    { type: 'size', op: 'smaller', value: 20000 },
  ]);
  assert.deepEqual(keys('UID 1:5,7 1,3:*'), [
    { type: 'uid', set: [{ from: 1, to: 5 }, { from: 7, to: 7 }] },
    { type: 'seq', set: [{ from: 1, to: 1 }, { from: 3, to: '*' }] },
  ]);
  assert.deepEqual(keys('MODSEQ 620162338'), [{ type: 'modseq', value: 620162338 }]);
  assert.deepEqual(keys('MODSEQ "/flags/\\\\draft" all 620162338'), [{ type: 'modseq', value: 620162338 }]);
});

test('OR, NOT and parentheses nest', () => {
  assert.deepEqual(keys('OR (SEEN FLAGGED) NOT OR DRAFT 5'), [
    {
      type: 'or',
      left: { type: 'and', keys: [{ type: 'flag', flag: '\\Seen', set: true }, { type: 'flag', flag: '\\Flagged', set: true }] },
      right: { type: 'not', key: { type: 'or', left: { type: 'flag', flag: '\\Draft', set: true }, right: { type: 'seq', set: [{ from: 5, to: 5 }] } } },
    },
  ]);
});

test('CHARSET and RETURN, and a key named like them', () => {
  const c = search('a UID SEARCH RETURN (ALL SAVE) CHARSET "US-ASCII" (UNSEEN)');
  assert.deepEqual([c.returnOptions, c.charset], [['ALL', 'SAVE'], 'US-ASCII']);
  bad('a SEARCH CHARSET UTF-8', /Missing search criteria/);
  bad('a SEARCH RETURN ALL', /"\(" to start RETURN options/);
});

test('malformed searches are BAD with a reason', () => {
  bad('a SEARCH', /Missing search criteria/);
  bad('a SEARCH FROB', /Unknown search key FROB/);
  bad('a SEARCH SINCE 1994-02-01', /Invalid date/);
  bad('a SEARCH SINCE 30-Feb-1994', /Invalid date/);
  bad('a SEARCH OR SEEN', /Missing second search key after OR/);
  bad('a SEARCH (SEEN', /"\)" to end search key list/);
  bad('a SEARCH SEEN)', /Unexpected extra arguments/);
  bad('a SEARCH ()', /Empty search key list/);
  bad('a SEARCH LARGER x', /Expected size/);
  bad('a SEARCH HEADER Subject', /Missing string after HEADER field name/);
  bad('a SEARCH MODSEQ "/flags/x" bogus 5', /entry type/);
  bad('a SEARCH SUBJECT "unterminated', /Unterminated/);
});

test('RETURN (PARTIAL range) (RFC 9394 §3.1): from the first or from the last result, smaller magnitude first', () => {
  const p = search('E01 UID SEARCH RETURN (PARTIAL 1:500) UNDELETED');
  assert.deepEqual(p.returnOptions, ['PARTIAL']);
  assert.deepEqual(p.partial, { first: 1, last: 500 });
  assert.deepEqual(search('a SEARCH RETURN (COUNT PARTIAL -1:-100) ALL').partial, { first: -1, last: -100 });
  assert.deepEqual(search('a SEARCH RETURN (PARTIAL 4:2) ALL').partial, { first: 2, last: 4 });
  assert.deepEqual(search('a SEARCH RETURN (PARTIAL -100:-1) ALL').partial, { first: -1, last: -100 });
  assert.equal(search('a SEARCH RETURN (MIN) ALL').partial, undefined);
  bad('a SEARCH RETURN (PARTIAL 1) ALL', /Invalid partial range/);
  bad('a SEARCH RETURN (PARTIAL 1:*) ALL', /Invalid partial range/);
  bad('a SEARCH RETURN (PARTIAL *:1) ALL', /Invalid partial range/);
  bad('a SEARCH RETURN (PARTIAL 0:5) ALL', /Invalid partial range/);
  bad('a SEARCH RETURN (PARTIAL 1:-5) ALL', /Invalid partial range/);
  bad('a SEARCH RETURN (PARTIAL 1:99999999999) ALL', /Invalid partial range/);
  bad('a SEARCH RETURN (PARTIAL 1:2 PARTIAL 3:4) ALL', /twice/);
});

test('CHARSET other than UTF-8: the strings keep their octets (latin1) for the session to decode; UTF-8 ones are decoded', () => {
  // "caf\xe9" in ISO-8859-1 is four octets; read as UTF-8 the last would become U+FFFD.
  const [e] = (() => {
    const reader = new CommandReader(OPTS);
    reader.push(Buffer.concat([Buffer.from('a SEARCH CHARSET ISO-8859-1 SUBJECT {4+}\r\n'), Buffer.from([0x63, 0x61, 0x66, 0xe9]), Buffer.from(' BODY x\r\n')]));
    return [reader.next()];
  })();
  if (e?.type !== 'command' || e.command.name !== 'SEARCH') assert.fail(JSON.stringify(e));
  assert.equal(e.command.charset, 'ISO-8859-1');
  assert.deepEqual(e.command.key, { type: 'and', keys: [{ type: 'header', field: 'Subject', value: 'caf\u00e9' }, { type: 'body', value: 'x' }] });
  assert.deepEqual(search('b SEARCH CHARSET UTF-8 SUBJECT {5+}\r\ncaf\u00e9').key, { type: 'and', keys: [{ type: 'header', field: 'Subject', value: 'caf\u00e9' }] });
});

test('CANCELUPDATE takes one or more tags (RFC 5267 §4.3)', () => {
  const [e] = read('c CANCELUPDATE "t1" t2');
  if (e?.type !== 'command') assert.fail(JSON.stringify(e));
  assert.deepEqual(e.command, { tag: 'c', name: 'CANCELUPDATE', tags: ['t1', 't2'] });
  assert.equal(read('d CANCELUPDATE')[0]?.type, 'bad');
});
