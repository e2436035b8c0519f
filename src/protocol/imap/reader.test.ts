import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CommandReader, type ReaderEvent, type ReaderOptions } from './reader.js';

const OPTS: ReaderOptions = { maxLineBytes: 200, maxLiteralBytes: 16, maxAppendLiteralBytes: 1000, maxNesting: 8 };

/**
 * Drives a reader like a session would: drains events after each chunk, and
 * switches to raw-line mode after IDLE and AUTHENTICATE (until a line arrives).
 */
function drive(chunks: Buffer[], opts: ReaderOptions = OPTS): ReaderEvent[] {
  const reader = new CommandReader(opts);
  const events: ReaderEvent[] = [];
  let saslSteps = 0;
  for (const chunk of chunks) {
    reader.push(chunk);
    for (let e = reader.next(); e; e = reader.next()) {
      events.push(e);
      if (e.type === 'command' && e.command.name === 'IDLE') reader.expectLine();
      if (e.type === 'command' && e.command.name === 'AUTHENTICATE' && e.command.initialResponse === null) {
        saslSteps = 2; // this test's fake mechanism takes two client lines
        reader.expectLine();
      } else if (e.type === 'line' && --saslSteps > 0) reader.expectLine();
    }
  }
  return events;
}

function splits(input: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (input.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let last = 0;
  for (const p of points) {
    out.push(input.subarray(last, p));
    last = p;
  }
  out.push(input.subarray(last));
  return out;
}

/** Feeds the input whole, byte by byte and at random split points: results must be identical. */
function events(input: string | Buffer, opts: ReaderOptions = OPTS): ReaderEvent[] {
  const bytes = Buffer.isBuffer(input) ? input : Buffer.from(input, 'utf8');
  const whole = drive([bytes], opts);
  assert.deepEqual(drive([...bytes].map((b) => Buffer.from([b])), opts), whole, 'byte by byte');
  fc.assert(
    fc.property(fc.array(fc.nat(), { maxLength: 8 }), (cuts) => {
      assert.deepEqual(drive(splits(bytes, cuts), opts), whole);
    }),
    { numRuns: 30 },
  );
  return whole;
}

test('synchronising literal: continue once, then the command', () => {
  const ev = events('a1 LOGIN {3}\r\nbob {4}\r\npass\r\n');
  assert.deepEqual(ev, [
    { type: 'continue' },
    { type: 'continue' },
    { type: 'command', command: { tag: 'a1', name: 'LOGIN', username: 'bob', password: 'pass' } },
  ]);
});

test('the reader never parses ahead: continue is returned before the literal arrives', () => {
  const reader = new CommandReader(OPTS);
  reader.push(Buffer.from('a1 LOGIN {3}\r\n'));
  assert.deepEqual(reader.next(), { type: 'continue' });
  assert.equal(reader.next(), null);
  reader.push(Buffer.from('bo'));
  assert.equal(reader.next(), null);
  reader.push(Buffer.from('b x\r\n'));
  assert.equal(reader.next()?.type, 'command');
});

test('non-synchronising literal (LITERAL+) and literal8 need no continuation', () => {
  const ev = events('a1 LOGIN {3+}\r\nbob "x"\r\na2 APPEND Drafts ~{4+}\r\n\x00\x01\r\n\r\n');
  assert.equal(ev.length, 2);
  assert.deepEqual(ev[0], { type: 'command', command: { tag: 'a1', name: 'LOGIN', username: 'bob', password: 'x' } });
  assert.ok(ev[1].type === 'command' && ev[1].command.name === 'APPEND');
  assert.deepEqual(ev[1].command.messages[0].content, Buffer.from([0, 1, 13, 10]));
});

test('literal of zero bytes and literals holding CRLF', () => {
  const ev = events('a1 LOGIN {0}\r\n {2}\r\n\r\n\r\n');
  assert.deepEqual(ev.at(-1), { type: 'command', command: { tag: 'a1', name: 'LOGIN', username: '', password: '\r\n' } });
});

test('over-limit synchronising literal is refused before any continuation', () => {
  const ev = events('a1 LOGIN {17}\r\na2 NOOP\r\n');
  assert.equal(ev.length, 2);
  assert.deepEqual({ ...ev[0], text: '' }, { type: 'bad', tag: 'a1', text: '', code: 'TOOBIG' });
  assert.deepEqual(ev[1], { type: 'command', command: { tag: 'a2', name: 'NOOP' } });
});

test('APPEND literals get the append limit, others the small one', () => {
  const msg = 'x'.repeat(500);
  const ev = events(`a1 APPEND INBOX {500}\r\n${msg}\r\na2 append INBOX {1001}\r\n`);
  assert.equal(ev[0].type, 'continue');
  assert.ok(ev[1].type === 'command' && ev[1].command.name === 'APPEND');
  assert.equal(ev[1].command.messages[0].content.toString(), msg);
  assert.deepEqual(ev[2], { type: 'bad', tag: 'a2', text: 'Literal of 1001 bytes exceeds the limit of 1000', code: 'TOOBIG' });
});

test('over-limit non-synchronising literal: its bytes and line are skipped, then BAD', () => {
  const big = 'y'.repeat(40);
  const ev = events(`a1 LOGIN {40+}\r\n${big} {3+}\r\nabc\r\na2 NOOP\r\n`);
  assert.equal(ev.length, 2);
  assert.equal(ev[0].type === 'bad' && ev[0].code, 'TOOBIG');
  assert.equal(ev[0].type === 'bad' && ev[0].tag, 'a1');
  assert.deepEqual(ev[1], { type: 'command', command: { tag: 'a2', name: 'NOOP' } });
});

test('absurd literal sizes are refused without waiting or allocating', () => {
  const ev = events('a1 LOGIN {99999999999}\r\na2 NOOP\r\n');
  assert.deepEqual(ev.map((e) => e.type), ['bad', 'command']);
  const reader = new CommandReader(OPTS);
  reader.push(Buffer.from('a1 LOGIN {99999999999999999999+}\r\n'));
  const ev2 = reader.next();
  assert.equal(ev2, null); // the client promised the bytes: skip them as they come
  reader.push(Buffer.alloc(100000, 0x41));
  assert.equal(reader.next(), null);
  assert.equal(reader.bufferedBytes, 0); // skipped, not buffered
});

test('a line over maxLineBytes is reported once and discarded up to LF', () => {
  const long = 'a1 SEARCH TEXT ' + 'z'.repeat(300);
  const ev = events(`${long}\r\na2 NOOP\r\n`);
  assert.equal(ev.length, 2);
  assert.deepEqual(ev[0], { type: 'bad', tag: 'a1', text: 'Command line too long', code: 'TOOBIG' });
  assert.deepEqual(ev[1], { type: 'command', command: { tag: 'a2', name: 'NOOP' } });
});

test('an endless line is never buffered', () => {
  const reader = new CommandReader(OPTS);
  reader.push(Buffer.from('t1 NOOP '));
  assert.equal(reader.next(), null);
  let bad = 0;
  for (let i = 0; i < 2000; i++) {
    reader.push(Buffer.alloc(1000, 0x41));
    for (let e = reader.next(); e; e = reader.next()) if (e.type === 'bad') bad++;
    assert.ok(reader.bufferedBytes <= OPTS.maxLineBytes, `buffered ${reader.bufferedBytes}`);
  }
  assert.equal(bad, 1);
  reader.push(Buffer.from('\r\nt2 NOOP\r\n'));
  assert.deepEqual(reader.next(), { type: 'command', command: { tag: 't2', name: 'NOOP' } });
  assert.equal(reader.next(), null);
  assert.equal(reader.bufferedBytes, 0);
});

test('bare LF ends lines too; empty lines are ignored', () => {
  assert.deepEqual(events('\r\na1 NOOP\n\na2 LOGIN {1}\nx y\n'), [
    { type: 'command', command: { tag: 'a1', name: 'NOOP' } },
    { type: 'continue' },
    { type: 'command', command: { tag: 'a2', name: 'LOGIN', username: 'x', password: 'y' } },
  ]);
});

test('IDLE then DONE pipelined in one packet', () => {
  assert.deepEqual(events('a1 IDLE\r\nDONE\r\na2 NOOP\r\n'), [
    { type: 'command', command: { tag: 'a1', name: 'IDLE' } },
    { type: 'line', line: 'DONE' },
    { type: 'command', command: { tag: 'a2', name: 'NOOP' } },
  ]);
});

test('AUTHENTICATE continuation lines are read raw', () => {
  assert.deepEqual(events('a1 AUTHENTICATE PLAIN\r\nAGJvYgBwdw==\r\n*\r\na2 NOOP\r\n'), [
    { type: 'command', command: { tag: 'a1', name: 'AUTHENTICATE', mechanism: 'PLAIN', initialResponse: null } },
    { type: 'line', line: 'AGJvYgBwdw==' },
    { type: 'line', line: '*' },
    { type: 'command', command: { tag: 'a2', name: 'NOOP' } },
  ]);
});

test('raw line over the limit is BAD and discarded', () => {
  const reader = new CommandReader(OPTS);
  reader.expectLine();
  reader.push(Buffer.alloc(300, 0x41));
  assert.deepEqual(reader.next(), { type: 'bad', tag: '*', text: 'Line too long', code: 'TOOBIG' });
  reader.push(Buffer.from('AAA\r\na NOOP\r\n'));
  assert.deepEqual(reader.next(), { type: 'command', command: { tag: 'a', name: 'NOOP' } });
});

test('reset drops buffered bytes (STARTTLS command injection, RFC 9051 §6.2.1)', () => {
  const reader = new CommandReader(OPTS);
  reader.push(Buffer.from('a1 STARTTLS\r\na2 LOGIN {3}\r\nbo'));
  assert.deepEqual(reader.next(), { type: 'command', command: { tag: 'a1', name: 'STARTTLS' } });
  reader.reset();
  assert.equal(reader.next(), null);
  reader.push(Buffer.from('b1 NOOP\r\n'));
  assert.deepEqual(reader.next(), { type: 'command', command: { tag: 'b1', name: 'NOOP' } });
});

test('parse errors keep the tag when there is one, "*" otherwise', () => {
  const ev = events('a1 FROB\r\n+x NOOP\r\n(x) NOOP\r\na2\r\n\x00\r\na3 noop\r\n');
  assert.deepEqual(ev, [
    { type: 'bad', tag: 'a1', text: 'Unknown command FROB' },
    { type: 'bad', tag: '*', text: 'Invalid or missing tag' },
    { type: 'bad', tag: '*', text: 'Invalid or missing tag' },
    { type: 'bad', tag: 'a2', text: 'Missing command name' },
    { type: 'bad', tag: '*', text: 'Invalid or missing tag' },
    { type: 'command', command: { tag: 'a3', name: 'NOOP' } },
  ]);
});

test('tags may hold "]" and other astring chars but not "+"', () => {
  assert.deepEqual(events('a]1.x NOOP\r\n'), [{ type: 'command', command: { tag: 'a]1.x', name: 'NOOP' } }]);
});

test('hostile input never throws, events stay within limits, and reading resynchronises', () => {
  const hostile = fc.oneof(
    fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
    fc
      .array(
        fc.constantFrom('(', ')', '"', '\\', '{', '}', '~', '+', ' ', '\r\n', '\n', '\x00', 'a', '1', '*', ':', '[', ']', '<', '>', 'SEARCH', 'FETCH', 'LOGIN', 'APPEND', 'UID', 'NOT', '{5}\r\n', '{3+}\r\n', '{99999999999}\r\n', 'BODY[', 'OR'),
        { maxLength: 80 },
      )
      .map((parts) => Buffer.from('t ' + parts.join(''), 'latin1')),
  );
  fc.assert(
    fc.property(hostile, fc.array(fc.nat(), { maxLength: 6 }), (input, cuts) => {
      const whole = drive([input]);
      const reader = new CommandReader(OPTS);
      reader.push(input);
      while (reader.next());
      assert.ok(reader.bufferedBytes <= OPTS.maxLineBytes + OPTS.maxAppendLiteralBytes);
      assert.deepEqual(drive(splits(input, cuts)), whole);
      for (const e of whole) {
        if (e.type === 'command' && e.command.name === 'LOGIN') {
          assert.ok(Buffer.byteLength(e.command.password) <= Math.max(OPTS.maxLiteralBytes, OPTS.maxLineBytes));
        }
        if (e.type === 'bad') assert.ok(e.text.length > 0 && (e.tag === '*' || /^[^ +(){%*"\\\x00-\x1f\x7f-\xff]+$/.test(e.tag)));
      }
    }),
    { numRuns: 300 },
  );
});

test('deep nesting is refused, not recursed into', () => {
  const deep = 'a1 SEARCH ' + '('.repeat(5000) + 'ALL' + ')'.repeat(5000) + '\r\n';
  const ev = events(deep, { ...OPTS, maxLineBytes: 20000 });
  assert.deepEqual(ev, [{ type: 'bad', tag: 'a1', text: 'Too deeply nested' }]);
  const nots = 'a2 SEARCH ' + 'NOT '.repeat(3000) + 'ALL\r\n';
  assert.deepEqual(events(nots, { ...OPTS, maxLineBytes: 20000 }), [{ type: 'bad', tag: 'a2', text: 'Too deeply nested' }]);
  const ok = 'a3 SEARCH ' + '('.repeat(8) + 'ALL' + ')'.repeat(8) + '\r\n';
  assert.equal(events(ok)[0].type, 'command');
});

test('NUL and unterminated quotes are BAD, the session goes on', () => {
  assert.deepEqual(events('a1 LOGIN "bo\x00b" x\r\na2 LOGIN "bob\r\na3 NOOP\r\n'), [
    { type: 'bad', tag: 'a1', text: 'Invalid character in quoted user name' },
    { type: 'bad', tag: 'a2', text: 'Unterminated quoted string in user name' },
    { type: 'command', command: { tag: 'a3', name: 'NOOP' } },
  ]);
});

test('APPEND literals over the streaming size are handed over in pieces, never collected, at any split', () => {
  const opts: ReaderOptions = { ...OPTS, streamAppendLiteralsOver: 16 };
  const big = Buffer.from('Subject: x\r\n\r\n' + 'y'.repeat(300));
  const small = Buffer.from('tiny');
  const input = Buffer.concat([
    Buffer.from(`a1 APPEND INBOX (\\Seen) {${big.length}}\r\n`),
    big,
    Buffer.from(` {${small.length}+}\r\n`),
    small,
    Buffer.from(`\r\na2 APPEND INBOX {2000}\r\na3 NOOP\r\n`),
  ]);
  fc.assert(
    fc.property(fc.array(fc.nat(), { maxLength: 12 }), (cuts) => {
      const events = drive(splits(input, cuts), opts);
      const start = events.findIndex((e) => e.type === 'literal-start');
      assert.ok(start >= 0);
      const first = events[start] as Extract<ReaderEvent, { type: 'literal-start' }>;
      assert.equal(first.size, big.length);
      assert.equal(first.synchronising, true, 'the session sends "+" for it');
      const data = events.filter((e): e is Extract<ReaderEvent, { type: 'literal-data' }> => e.type === 'literal-data');
      assert.deepEqual(Buffer.concat(data.map((d) => d.chunk)), big);
      assert.deepEqual(data.map((d) => d.last), [...data.slice(1).map(() => false), true]);
      const command = events.find((e) => e.type === 'command');
      assert.ok(command && command.type === 'command' && command.command.name === 'APPEND');
      const messages = command.command.messages;
      assert.equal(messages[0]!.content, first.placeholder, 'the placeholder stands for the streamed literal');
      assert.deepEqual(messages[1]!.content, small, 'a literal under the size is collected as before');
      // Over the APPEND limit: refused before "+" (RFC 9051 §4.3), nothing streamed; the next command is read.
      assert.deepEqual(events.slice(-2), [
        { type: 'bad', tag: 'a2', text: 'Literal of 2000 bytes exceeds the limit of 1000', code: 'TOOBIG' },
        { type: 'command', command: { tag: 'a3', name: 'NOOP' } },
      ]);
      assert.equal(events.filter((e) => e.type === 'literal-start').length, 1);
    }),
    { numRuns: 300 },
  );
});
