import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import fc from 'fast-check';
import { allHeaders, bodyStructure, bodyText, envelope, parseMessage, sectionBytes, sentDate, type MimePart, type SectionSpec } from './index.js';

const fixture = (name: string) => readFileSync(new URL(`../../test/fixtures/mime/${name}`, import.meta.url));
const crlf = (s: string) => Buffer.from(s.replace(/\n/g, '\r\n'), 'latin1');

/** Section bytes as a latin1 string, or null, for readable comparisons. */
function section(raw: Buffer, spec: SectionSpec): string | null {
  const bytes = sectionBytes(raw, parseMessage(raw), spec);
  return bytes === null ? null : bytes.toString('latin1');
}

test('simple message: header ends at the first empty line and includes it', () => {
  const raw = fixture('simple.eml');
  const s = parseMessage(raw);
  assert.equal(s.size, 360);
  assert.equal(s.headerLength, 305);
  assert.equal(s.bodyStart, 305);
  assert.equal(s.root.kind, 'text');
  assert.equal(s.root.lines, 1);
  assert.ok(section(raw, { part: [], text: 'HEADER' })!.endsWith('CHARSET=US-ASCII\r\n\r\n'));
  assert.equal(section(raw, { part: [], text: 'TEXT' }), 'Hello Joe, do you think we can meet at 3:30 tomorrow?\r\n');
  // A non-multipart message has exactly one part: its body (RFC 9051 §6.4.5).
  assert.equal(section(raw, { part: [1] }), 'Hello Joe, do you think we can meet at 3:30 tomorrow?\r\n');
  assert.equal(section(raw, { part: [] }), raw.toString('latin1'));
  assert.equal(section(raw, { part: [2] }), null);
  assert.equal(section(raw, { part: [1, 1] }), null);
  // HEADER/TEXT on a part exist only for message/rfc822 parts.
  assert.equal(section(raw, { part: [1], text: 'HEADER' }), null);
  assert.equal(section(raw, { part: [], text: 'MIME' }), null);
});

test('HEADER.FIELDS keeps source order and folding, case-insensitive names, ends with an empty line', () => {
  const raw = fixture('alternative.eml');
  assert.equal(
    section(raw, { part: [], text: 'HEADER.FIELDS', fields: ['content-type', 'FROM'] }),
    'From: "Bob Example" <bob@example.com>\r\nContent-Type: multipart/alternative;\r\n boundary="==alt=="\r\n\r\n',
  );
  assert.equal(
    section(raw, { part: [], text: 'HEADER.FIELDS.NOT', fields: ['from', 'to', 'date', 'content-type', 'mime-version'] }),
    'Subject: Lunch\r\nMessage-ID: <alt-1@example.com>\r\n\r\n',
  );
  assert.equal(section(raw, { part: [], text: 'HEADER.FIELDS', fields: ['X-None'] }), '\r\n');
});

test('multipart/alternative: CRLF before a delimiter belongs to the delimiter, preamble and epilogue dropped', () => {
  const raw = fixture('alternative.eml');
  const s = parseMessage(raw);
  assert.equal(s.root.kind, 'multipart');
  assert.equal(s.root.children!.length, 2);
  assert.equal(section(raw, { part: [1] }), 'Caf=C3=A9 at noon?');
  assert.equal(section(raw, { part: [1], text: 'MIME' }), 'Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n');
  assert.equal(section(raw, { part: [2] }), '<p>Caf&eacute; at noon?</p>');
  assert.equal(section(raw, { part: [3] }), null);
  // TEXT of a multipart message is the whole body, preamble and epilogue included.
  assert.ok(section(raw, { part: [], text: 'TEXT' })!.startsWith('This is a multi-part message in MIME format.\r\n--==alt==\r\n'));
  assert.ok(section(raw, { part: [], text: 'TEXT' })!.endsWith('--==alt==--\r\nepilogue text\r\n'));
});

test('multipart/mixed with a base64 attachment: exact part bytes', () => {
  const raw = fixture('mixed-attachment.eml');
  const s = parseMessage(raw);
  const [text, pdf] = s.root.children!;
  assert.equal(section(raw, { part: [1] }), 'See attached.');
  assert.equal(section(raw, { part: [2] }), 'JVBERi0xLjQK\r\nJSVFT0YK');
  assert.equal(pdf!.end - pdf!.bodyStart, 22);
  assert.equal(pdf!.lines, 1);
  assert.equal(text!.lines, 0);
  assert.equal(pdf!.kind, 'basic');
});

test('nested message/rfc822: sections go inside the encapsulated message', () => {
  const raw = fixture('nested-rfc822.eml');
  const s = parseMessage(raw);
  const fwd = s.root.children![1]!;
  assert.equal(fwd.kind, 'message');
  assert.equal(fwd.end - fwd.bodyStart, 289);
  assert.equal(fwd.lines, 16);
  assert.equal(fwd.message!.headerStart, fwd.bodyStart);
  assert.equal(section(raw, { part: [2], text: 'MIME' }), 'Content-Type: message/rfc822\r\nContent-Disposition: inline\r\n\r\n');
  const innerHeader = section(raw, { part: [2], text: 'HEADER' })!;
  assert.ok(innerHeader.startsWith('From: Bob <bob@example.com>\r\n'));
  assert.ok(innerHeader.endsWith('boundary="inner"\r\n\r\n'));
  assert.equal(innerHeader.length, 184);
  assert.equal(section(raw, { part: [2], text: 'HEADER.FIELDS', fields: ['subject'] }), 'Subject: Lunch\r\n\r\n');
  const innerText = section(raw, { part: [2], text: 'TEXT' })!;
  assert.equal(innerText.length, 105);
  assert.ok(innerText.endsWith('--inner--\r\n'));
  // BODY[2] is the whole encapsulated message.
  assert.equal(section(raw, { part: [2] }), innerHeader + innerText);
  assert.equal(section(raw, { part: [2, 1] }), 'Noon?');
  assert.equal(section(raw, { part: [2, 2] }), '<b>Noon?</b>');
  assert.equal(section(raw, { part: [2, 2], text: 'MIME' }), 'Content-Type: text/html\r\n\r\n');
  assert.equal(section(raw, { part: [2, 3] }), null);
  // As in Dovecot, a leaf part's only subpart is itself: 1.1 is part 1, 1.2 does not exist.
  assert.equal(section(raw, { part: [1, 1] }), 'See below.');
  assert.equal(section(raw, { part: [1, 2] }), null);
  assert.equal(section(raw, { part: [1, 1, 1] }), null);
});

test('missing close delimiter and no final CRLF: the last part runs to the end', () => {
  const raw = fixture('no-trailing-crlf.eml');
  const s = parseMessage(raw);
  assert.equal(s.root.children!.length, 2);
  // Part 1 has an empty MIME header: just the empty line.
  assert.equal(section(raw, { part: [1], text: 'MIME' }), '\r\n');
  assert.equal(section(raw, { part: [1] }), 'first');
  assert.equal(section(raw, { part: [2] }), 'second, no newline and no close delimiter');
  assert.equal(s.root.children![1]!.lines, 0);
});

test('bare-LF message: LF LF ends the header, offsets are of the stored bytes', () => {
  const raw = fixture('bare-lf.eml');
  const s = parseMessage(raw);
  assert.equal(s.headerLength, 116);
  assert.equal(section(raw, { part: [], text: 'TEXT' }), 'line one\ncaf\xe9\n');
  assert.ok(section(raw, { part: [], text: 'HEADER' })!.endsWith('8bit\n\n'));
  assert.equal(s.root.lines, 2);
  assert.equal(section(raw, { part: [], text: 'HEADER.FIELDS', fields: ['subject'] }), 'Subject: bare LF\n\r\n');
});

test('a message with no empty line is all header with an empty body', () => {
  const raw = Buffer.from('Subject: only header\r\nX-A: 1');
  const s = parseMessage(raw);
  assert.equal(s.headerLength, raw.length);
  assert.equal(section(raw, { part: [], text: 'TEXT' }), '');
  assert.equal(section(raw, { part: [], text: 'HEADER' }), raw.toString());
  assert.equal(section(raw, { part: [], text: 'HEADER.FIELDS', fields: ['x-a'] }), 'X-A: 1\r\n\r\n');
  const empty = parseMessage(Buffer.alloc(0));
  assert.deepEqual([empty.size, empty.headerLength, empty.root.end], [0, 0, 0]);
});

test('a header that is only the empty line gives an empty header and the rest as body', () => {
  const raw = Buffer.from('\r\nbody\r\n');
  const s = parseMessage(raw);
  assert.equal(s.headerLength, 2);
  assert.equal(section(raw, { part: [], text: 'TEXT' }), 'body\r\n');
});

test('multipart without a boundary parameter is one text/plain body', () => {
  const raw = crlf('Content-Type: multipart/mixed\n\n--x\nhello\n--x--\n');
  const s = parseMessage(raw);
  assert.equal(s.root.kind, 'text');
  assert.deepEqual([s.root.type, s.root.subtype, s.root.typeFromHeader], ['text', 'plain', false]);
  assert.equal(section(raw, { part: [1] }), '--x\r\nhello\r\n--x--\r\n');
});

test('a longer boundary sharing the prefix is not a delimiter; delimiter lines may carry padding', () => {
  const raw = crlf('Content-Type: multipart/mixed; boundary=ab\n\n--ab  \n\none\n--abc\n--ab\n\ntwo\n--ab-- \n');
  const s = parseMessage(raw);
  assert.equal(s.root.children!.length, 2);
  assert.equal(section(raw, { part: [1] }), 'one\r\n--abc');
  assert.equal(section(raw, { part: [2] }), 'two');
});

test('adjacent delimiters give an empty part; no delimiter at all gives no parts', () => {
  const raw = crlf('Content-Type: multipart/mixed; boundary=b\n\n--b\n--b\n\nx\n--b--\n');
  assert.equal(section(raw, { part: [1] }), '');
  assert.equal(section(raw, { part: [2] }), 'x');
  const none = crlf('Content-Type: multipart/mixed; boundary=b\n\njust text\n');
  assert.deepEqual(parseMessage(none).root.children, []);
  assert.equal(section(none, { part: [1] }), null);
});

test('RFC 2231 boundary continuation is honoured', () => {
  const raw = crlf("Content-Type: multipart/mixed;\n boundary*0=\"lo\";\n boundary*1=\"ng\"\n\n--long\n\nbody\n--long--\n");
  assert.equal(section(raw, { part: [1] }), 'body');
});

test('multipart/digest parts default to message/rfc822', () => {
  const raw = crlf('Content-Type: multipart/digest; boundary=d\n\n--d\n\nSubject: inner\n\nhi\n--d--\n');
  const s = parseMessage(raw);
  const part = s.root.children![0]!;
  assert.equal(part.kind, 'message');
  assert.equal(section(raw, { part: [1], text: 'HEADER' }), 'Subject: inner\r\n\r\n');
  assert.equal(section(raw, { part: [1, 1] }), 'hi');
});

test('a base64-encoded message/rfc822 is opaque, not descended into', () => {
  const raw = crlf('Content-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\nU3ViamVjdDogeA0KDQp5\n');
  const s = parseMessage(raw);
  assert.equal(s.root.kind, 'basic');
  assert.equal(section(raw, { part: [1], text: 'HEADER' }), null);
});

test('top-level message/rfc822: part 1 is the encapsulated message, 1.1 its body', () => {
  const raw = crlf('Content-Type: message/rfc822\n\nSubject: in\n\ninner body\n');
  assert.equal(section(raw, { part: [1] }), 'Subject: in\r\n\r\ninner body\r\n');
  assert.equal(section(raw, { part: [1], text: 'TEXT' }), 'inner body\r\n');
  assert.equal(section(raw, { part: [1, 1] }), 'inner body\r\n');
});

test('deep nesting stops at the depth limit instead of exhausting the stack', () => {
  const depth = 5000;
  let body = 'leaf\r\n';
  for (let i = 0; i < depth; i++) body = `Content-Type: message/rfc822\r\n\r\n${body}`;
  const raw = Buffer.from(body);
  const s = parseMessage(raw);
  let levels = 0;
  for (let p = s.root; p.message; p = p.message) levels++;
  assert.equal(levels, 50);
  assert.deepEqual(JSON.parse(JSON.stringify(s)), s);
});

test('the structure is JSON-serialisable and survives a round trip', () => {
  const raw = fixture('nested-rfc822.eml');
  const s = parseMessage(raw);
  const back = JSON.parse(JSON.stringify(s));
  assert.deepEqual(back, s);
  assert.equal(sectionBytes(raw, back, { part: [2, 1] })!.toString(), 'Noon?');
});

test('hostile bytes never throw, part ranges stay ordered, and every view can be computed', () => {
  const piece = fc.constantFrom(
    '\r\n', '\n', '--b', '--b--', '--c', 'Content-Type: multipart/mixed; boundary=b', 'Content-Type: multipart/digest; boundary=c',
    'Content-Type: message/rfc822', 'Content-Type: text/plain; charset=koi8-r', 'Content-Transfer-Encoding: base64',
    'Content-Disposition: attachment; filename*0*=utf-8\'\'%E2; filename*1=x', 'From: "a\\" (b (c)) <@d:e@f>, g:;',
    ':', ' ', '\t', '=?utf-8?q?=C3?=', '\xff', 'x',
  );
  fc.assert(
    fc.property(fc.array(piece, { maxLength: 60 }), (pieces) => {
      const raw = Buffer.from(pieces.join(''), 'latin1');
      const s = parseMessage(raw);
      const check = (p: MimePart) => {
        assert.ok(p.headerStart <= p.fieldsEnd && p.fieldsEnd <= p.bodyStart && p.bodyStart <= p.end && p.end <= raw.length);
        p.children?.forEach(check);
        if (p.message) check(p.message);
      };
      check(s.root);
      envelope(raw, s);
      bodyStructure(raw, s, true);
      bodyText(raw, s);
      allHeaders(raw, s);
      sentDate(raw, s);
      for (const text of [undefined, 'HEADER', 'TEXT', 'MIME', 'HEADER.FIELDS'] as const) {
        sectionBytes(raw, s, { part: [1, 1], text, fields: ['from'] });
        sectionBytes(raw, s, { part: [], text, fields: ['from'] });
      }
    }),
    { numRuns: 400, seed: 42 },
  );
});
