/**
 * Regression tests for the reader's per-command literal budget: literals of
 * one command count together, and APPEND gets the message limit only once the
 * session raises it (at login).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CommandReader, type ReaderEvent, type ReaderOptions } from './reader.js';

const OPTS: ReaderOptions = { maxLineBytes: 200, maxLiteralBytes: 16, maxAppendLiteralBytes: 1000, maxNesting: 8 };

function events(reader: CommandReader, input: string | Buffer): ReaderEvent[] {
  reader.push(Buffer.isBuffer(input) ? input : Buffer.from(input, 'latin1'));
  const out: ReaderEvent[] = [];
  for (let e = reader.next(); e; e = reader.next()) out.push(e);
  return out;
}

test('chained literals of one command share the small limit: the one past it is refused before "+"', () => {
  const reader = new CommandReader(OPTS);
  // Two 10-byte literals: 20 bytes in total, over the 16-byte budget for a non-APPEND command.
  assert.deepEqual(events(reader, 'a SEARCH TEXT {10}\r\n'), [{ type: 'continue' }]);
  const second = events(reader, '0123456789 TEXT {10}\r\n');
  assert.deepEqual(second, [
    { type: 'bad', tag: 'a', text: 'The literals of this command exceed the limit of 16 bytes in total', code: 'TOOBIG' },
  ]);
  // Nothing of the refused command stays buffered, and the reader goes on with the next command.
  assert.equal(reader.bufferedBytes, 0);
  const next = events(reader, 'b NOOP\r\n');
  assert.equal(next.length, 1);
  assert.equal(next[0].type, 'command');
});

test('MULTIAPPEND literals together obey the message limit', () => {
  const reader = new CommandReader(OPTS);
  assert.deepEqual(events(reader, 'a APPEND INBOX {600}\r\n'), [{ type: 'continue' }]);
  const second = events(reader, Buffer.concat([Buffer.alloc(600, 'x'), Buffer.from(' {600}\r\n')]));
  assert.equal(second.length, 1);
  assert.equal(second[0].type, 'bad');
  assert.match((second[0] as { text: string }).text, /exceed the limit of 1000 bytes in total/);
  assert.equal(reader.bufferedBytes, 0);
});

test('APPEND gets the message limit only after setMaxAppendLiteralBytes (the session calls it at login)', () => {
  const reader = new CommandReader(OPTS);
  reader.setMaxAppendLiteralBytes(OPTS.maxLiteralBytes);
  const before = events(reader, 'a APPEND INBOX {500}\r\n');
  assert.deepEqual(before, [{ type: 'bad', tag: 'a', text: 'Literal of 500 bytes exceeds the limit of 16', code: 'TOOBIG' }]);
  reader.setMaxAppendLiteralBytes(1000);
  assert.deepEqual(events(reader, 'b APPEND INBOX {500}\r\n'), [{ type: 'continue' }]);
});
