import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseCommand } from './parse-command.js';
import type { ImapCommand } from './types.js';

function parse(line: string): ImapCommand | string {
  const r = parseCommand({ texts: [Buffer.from(line)], literals: [] }, 10);
  return r.ok ? r.command : `BAD ${r.text}`;
}

test('SORT and UID SORT (RFC 5256 §3 example, RFC 5957 keys)', () => {
  assert.deepEqual(parse('A282 SORT (SUBJECT) UTF-8 SINCE 1-Feb-1994'), {
    tag: 'A282',
    name: 'SORT',
    uid: false,
    criteria: [{ key: 'SUBJECT', reverse: false }],
    charset: 'UTF-8',
    key: { type: 'and', keys: [{ type: 'date', field: 'internal', op: 'since', date: '1994-02-01' }] },
  });
  const r = parse('A1 UID SORT (REVERSE DATE displayfrom) US-ASCII UNDELETED $');
  assert.ok(typeof r !== 'string' && r.name === 'SORT');
  assert.deepEqual(r.criteria, [{ key: 'DATE', reverse: true }, { key: 'DISPLAYFROM', reverse: false }]);
  assert.equal(r.uid, true);
  assert.deepEqual(r.key, { type: 'and', keys: [{ type: 'flag', flag: '\\Deleted', set: false }, { type: 'seq', set: '$' }] });
  assert.match(String(parse('A2 SORT () UTF-8 ALL')), /^BAD /);
  assert.match(String(parse('A2 SORT (REVERSE) UTF-8 ALL')), /^BAD /);
  assert.match(String(parse('A2 SORT (SUBJECT) ALL')), /^BAD /); // the charset is mandatory
});

test('ESORT (RFC 5267 §3.2): SORT RETURN (options) with a PARTIAL range (RFC 9394)', () => {
  const r = parse('A283 SORT RETURN (COUNT PARTIAL 4:2) (SUBJECT) UTF-8 ALL');
  assert.ok(typeof r !== 'string' && r.name === 'SORT');
  assert.deepEqual(r.returnOptions, ['COUNT', 'PARTIAL']);
  assert.deepEqual(r.partial, { first: 2, last: 4 });
  assert.deepEqual(r.criteria, [{ key: 'SUBJECT', reverse: false }]);
  const plain = parse('A284 SORT (SUBJECT) UTF-8 ALL');
  assert.ok(typeof plain !== 'string' && plain.name === 'SORT' && plain.returnOptions === undefined);
  assert.match(String(parse('A2 SORT RETURN (MIN) UTF-8 ALL')), /^BAD /);
  assert.match(String(parse('A2 SORT RETURNS (MIN) (SUBJECT) UTF-8 ALL')), /^BAD /);
});

test('THREAD (RFC 5256 §4 example), new SEARCH keys', () => {
  const t = parse('A283 THREAD ORDEREDSUBJECT UTF-8 SINCE 5-MAR-2000');
  assert.ok(typeof t !== 'string' && t.name === 'THREAD');
  assert.equal(t.algorithm, 'ORDEREDSUBJECT');
  assert.equal(t.charset, 'UTF-8');
  const s = parse('A3 SEARCH OLDER 3600 YOUNGER 60 EMAILID M1a_b-c SAVEDBEFORE 1-Jan-2020 SAVEDATESUPPORTED UID $');
  assert.ok(typeof s !== 'string' && s.name === 'SEARCH');
  assert.deepEqual(s.key, {
    type: 'and',
    keys: [
      { type: 'within', op: 'older', seconds: 3600 },
      { type: 'within', op: 'younger', seconds: 60 },
      { type: 'objectid', field: 'emailid', value: 'M1a_b-c' },
      { type: 'savedate', op: 'before', date: '2020-01-01' },
      { type: 'savedate', op: 'supported', date: '' },
      { type: 'uid', set: '$' },
    ],
  });
  const f = parse('A4 FETCH 1 (PREVIEW (LAZY) EMAILID THREADID SAVEDATE PREVIEW BINARY.PEEK[1]<0.10>)');
  assert.ok(typeof f !== 'string' && f.name === 'FETCH');
  assert.deepEqual(
    f.attributes.map((a) => a.kind),
    ['PREVIEW', 'EMAILID', 'THREADID', 'SAVEDATE', 'PREVIEW', 'BINARY[]'],
  );
  assert.deepEqual(f.attributes[0], { kind: 'PREVIEW', lazy: true });
  assert.deepEqual(f.attributes[4], { kind: 'PREVIEW', lazy: false });
  assert.match(String(parse('A5 FETCH 1 (PREVIEW (FUZZY))')), /^BAD /);
});
