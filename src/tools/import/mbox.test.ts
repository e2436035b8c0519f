import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseFromLineDate, parseMbox } from './mbox.js';

const box = [
  'From alice@example.org Mon Jan  2 03:04:05 2017',
  'Subject: one',
  'Status: RO',
  'X-Status: AF',
  '',
  '>From the start',
  '>>From deeper',
  'From inside a line? no: "From " only counts after an empty line',
  '',
  'From bob@example.org Tue Feb 14 10:00:00 2017',
  'Subject: two',
  '',
  'body two',
  '',
].join('\n');

test('mboxrd: messages split at From_ lines, one ">" removed, Status/X-Status become flags', () => {
  const msgs = parseMbox(Buffer.from(box), 'mboxrd');
  assert.equal(msgs.length, 2);
  assert.equal(
    msgs[0]!.content.toString(),
    'Subject: one\n\nFrom the start\n>From deeper\nFrom inside a line? no: "From " only counts after an empty line\n',
  );
  assert.deepEqual(msgs[0]!.flags, ['\\Seen', '\\Answered', '\\Flagged']);
  assert.equal(msgs[0]!.fromLineDate?.toISOString(), '2017-01-02T03:04:05.000Z');
  assert.equal(msgs[1]!.content.toString(), 'Subject: two\n\nbody two\n');
  assert.deepEqual(msgs[1]!.flags, []);
});

test('mboxo: only ">From " is unquoted', () => {
  const msgs = parseMbox(Buffer.from(box), 'mboxo');
  assert.match(msgs[0]!.content.toString(), /\nFrom the start\n>>From deeper\n/);
});

test('From_ dates with and without a zone', () => {
  assert.equal(parseFromLineDate('From x@y Sat Dec 31 23:59:59 2022')?.toISOString(), '2022-12-31T23:59:59.000Z');
  assert.equal(parseFromLineDate('From x@y Sat Dec 31 23:59:59 +0000 2022')?.toISOString(), '2022-12-31T23:59:59.000Z');
  assert.equal(parseFromLineDate('From nonsense'), null);
});
