import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CommandReader, type ReaderEvent } from './reader.js';
import type { FetchAttribute, ImapCommand } from './types.js';

const OPTS = { maxLineBytes: 8192, maxLiteralBytes: 1024, maxAppendLiteralBytes: 1 << 20, maxNesting: 16 };

function read(input: string): ReaderEvent {
  const run = (chunks: Buffer[]): ReaderEvent[] => {
    const reader = new CommandReader(OPTS);
    const out: ReaderEvent[] = [];
    for (const c of chunks) {
      reader.push(c);
      for (let e = reader.next(); e; e = reader.next()) out.push(e);
    }
    return out;
  };
  const bytes = Buffer.from(input + '\r\n', 'utf8');
  const whole = run([bytes]);
  assert.deepEqual(run([...bytes].map((b) => Buffer.from([b]))), whole);
  assert.equal(whole.length, 1);
  return whole[0];
}

function fetch(line: string): Extract<ImapCommand, { name: 'FETCH' }> {
  const e = read(line);
  if (e.type !== 'command' || e.command.name !== 'FETCH') assert.fail(`not a FETCH: ${JSON.stringify(e)}`);
  return e.command;
}

const atts = (args: string): FetchAttribute[] => fetch(`a FETCH 1 ${args}`).attributes;

function bad(line: string, text: RegExp): void {
  const e = read(line);
  assert.equal(e.type, 'bad', `expected BAD for ${line}: ${JSON.stringify(e)}`);
  if (e.type === 'bad') assert.match(e.text, text);
}

test('macros expand (RFC 9051 §6.4.5)', () => {
  const k = (a: FetchAttribute[]): string[] => a.map((x) => x.kind);
  assert.deepEqual(k(atts('ALL')), ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE', 'ENVELOPE']);
  assert.deepEqual(k(atts('fast')), ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE']);
  assert.deepEqual(k(atts('FULL')), ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE', 'ENVELOPE', 'BODY']);
  bad('a FETCH 1 (ALL)', /Unknown fetch attribute ALL/);
});

test('simple attributes, alone and in a list', () => {
  const names = ['FLAGS', 'UID', 'INTERNALDATE', 'RFC822.SIZE', 'ENVELOPE', 'BODYSTRUCTURE', 'BODY', 'RFC822', 'RFC822.HEADER', 'RFC822.TEXT', 'MODSEQ'];
  for (const n of names) assert.deepEqual(atts(n.toLowerCase()), [{ kind: n }]);
  assert.deepEqual(atts(`(${names.join(' ')})`), names.map((kind) => ({ kind })));
});

test('sections and partials', () => {
  const body = (peek: boolean, section: object, partial?: object) => ({ kind: 'BODY[]', peek, section, ...(partial ? { partial } : {}) });
  assert.deepEqual(atts('BODY[]'), [body(false, { part: [] })]);
  assert.deepEqual(atts('BODY.PEEK[]<0.2048>'), [body(true, { part: [] }, { offset: 0, length: 2048 })]);
  assert.deepEqual(atts('body[header]'), [body(false, { part: [], text: 'HEADER' })]);
  assert.deepEqual(atts('BODY[TEXT]'), [body(false, { part: [], text: 'TEXT' })]);
  assert.deepEqual(atts('BODY[1.2.3]'), [body(false, { part: [1, 2, 3] })]);
  assert.deepEqual(atts('BODY[1.MIME]'), [body(false, { part: [1], text: 'MIME' })]);
  assert.deepEqual(atts('BODY[2.HEADER]'), [body(false, { part: [2], text: 'HEADER' })]);
  assert.deepEqual(atts('BODY[4.2.TEXT]<10.5>'), [body(false, { part: [4, 2], text: 'TEXT' }, { offset: 10, length: 5 })]);
  assert.deepEqual(atts('(UID BODY.PEEK[HEADER.FIELDS (From Subject "X-Y")])'), [
    { kind: 'UID' },
    body(true, { part: [], text: 'HEADER.FIELDS', fields: ['From', 'Subject', 'X-Y'] }),
  ]);
  assert.deepEqual(atts('BODY[1.HEADER.FIELDS.NOT (Received)]'), [body(false, { part: [1], text: 'HEADER.FIELDS.NOT', fields: ['Received'] })]);
  assert.deepEqual(atts('(BINARY[1.2] BINARY.PEEK[]<0.100> BINARY.SIZE[3])'), [
    { kind: 'BINARY[]', peek: false, section: { part: [1, 2] } },
    { kind: 'BINARY[]', peek: true, section: { part: [] }, partial: { offset: 0, length: 100 } },
    { kind: 'BINARY.SIZE', section: { part: [3] } },
  ]);
});

test('RFC 9051 example and CHANGEDSINCE', () => {
  const f = fetch('A654 UID FETCH 2:4 (FLAGS BODY[HEADER.FIELDS (DATE FROM)]) (CHANGEDSINCE 12345)');
  assert.deepEqual([f.tag, f.uid, f.set, f.changedSince], ['A654', true, [{ from: 2, to: 4 }], 12345]);
  assert.equal(f.attributes.length, 2);
  assert.equal(f.vanished, undefined);
  // RFC 7162 §3.2.6: UID FETCH with VANISHED (only the UID form).
  const v = fetch('s100 UID FETCH 300:500 (FLAGS) (CHANGEDSINCE 12345 VANISHED)');
  assert.deepEqual([v.uid, v.changedSince, v.vanished], [true, 12345, true]);
});

test('malformed fetches are BAD with a reason', () => {
  bad('a FETCH 1 BODY[MIME]', /MIME section needs a part number/);
  bad('a FETCH 1 BODY[0]', /must not be zero/);
  bad('a FETCH 1 BODY[FOO]', /Unknown section text "FOO"/);
  bad('a FETCH 1 BODY[HEADER.FIELDS]', /Expected SP before header field list/);
  bad('a FETCH 1 BODY[HEADER.FIELDS ()]', /Empty header field list/);
  bad('a FETCH 1 BODY[1', /"\]" to end the section/);
  bad('a FETCH 1 BODY[]<5>', /"\." in partial/);
  bad('a FETCH 1 BODY[]<5.0>', /Partial length must not be zero/);
  bad('a FETCH 1 BINARY[HEADER]', /part numbers only/);
  bad('a FETCH 1 BODY.PEEK', /"\[" to start a section/);
  bad('a FETCH 1 (FLAGS', /"\)" to end fetch attributes/);
  bad('a FETCH 1 ()', /Empty fetch attributes/);
  bad('a FETCH 1 FLAGS (VANISHED)', /Unsupported FETCH modifier VANISHED/);
  bad('a FETCH 1 FROB', /Unknown fetch attribute FROB/);
  bad('a FETCH', /Missing sequence set/);
  bad('a FETCH 1', /Missing fetch attributes/);
  bad('a FETCH 1 FLAGS (CHANGEDSINCE 99999999999999999999)', /out of range/);
});
