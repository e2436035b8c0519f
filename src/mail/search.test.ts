import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import iconv from 'iconv-lite';
import { allHeaders, bodyText, bodyTextIncludes, casemap, decodeTransfer, headerValues, parseMessage, sentDate } from './index.js';
import { parseMailDate } from './date.js';

const fixture = (name: string) => readFileSync(new URL(`../../test/fixtures/mime/${name}`, import.meta.url));
const crlf = (s: string) => Buffer.from(s.replace(/\n/g, '\r\n'), 'latin1');

test('headerValues: unfolded, RFC 2047 decoded (UTF-8 and ISO-8859-1), case-insensitive, in order', () => {
  const raw = fixture('encoded-words.eml');
  const s = parseMessage(raw);
  assert.deepEqual(headerValues(raw, s, 'subject'), ['\u{1F633}\u00a0Pr\u00fcfung f\u00fcr Sie']);
  assert.deepEqual(headerValues(raw, s, 'FROM'), ['Andr\u00e9 Pirard <PIRARD@vm1.ulg.ac.be>']);
  assert.deepEqual(headerValues(raw, s, 'Reply-To'), ['']);
  assert.deepEqual(headerValues(raw, s, 'X-Missing'), []);
  const twice = crlf('Received: a\n  b\nReceived: c\n\n');
  assert.deepEqual(headerValues(twice, parseMessage(twice), 'received'), ['a  b', 'c']);
});

test('allHeaders lists every top-level field with its name as written, nested headers excluded', () => {
  const raw = fixture('nested-rfc822.eml');
  const names = allHeaders(raw, parseMessage(raw)).map(([n]) => n);
  assert.deepEqual(names, ['From', 'To', 'Subject', 'Date', 'MIME-Version', 'Content-Type']);
  const alt = fixture('alternative.eml');
  assert.deepEqual(allHeaders(alt, parseMessage(alt)).at(-1), ['Content-Type', 'multipart/alternative; boundary="==alt=="']);
});

test('bodyText decodes quoted-printable and charsets, walks into multiparts and encapsulated messages, skips non-text', () => {
  const alt = fixture('alternative.eml');
  assert.equal(bodyText(alt, parseMessage(alt)), 'Caf\u00e9 at noon?\n<p>Caf&eacute; at noon?</p>');
  const lf = fixture('bare-lf.eml');
  assert.equal(bodyText(lf, parseMessage(lf)), 'line one\ncaf\u00e9\n');
  const mixed = fixture('mixed-attachment.eml');
  assert.equal(bodyText(mixed, parseMessage(mixed)), 'See attached.');
  const nested = fixture('nested-rfc822.eml');
  assert.equal(bodyText(nested, parseMessage(nested)), 'See below.\nNoon?\n<b>Noon?</b>');
});

test('bodyText decodes base64 text in a legacy charset', () => {
  const koi = iconv.encode('\u041f\u0440\u0438\u0432\u0435\u0442', 'koi8-r').toString('base64');
  const raw = crlf(`Content-Type: text/plain; charset=KOI8-R\nContent-Transfer-Encoding: base64\n\n${koi}\n`);
  assert.equal(bodyText(raw, parseMessage(raw)), '\u041f\u0440\u0438\u0432\u0435\u0442');
  const unknown = crlf('Content-Type: text/plain; charset=x-no-such\n\nplain\n');
  assert.equal(bodyText(unknown, parseMessage(unknown)), 'plain\r\n');
});

test('quoted-printable: hex octets, soft line breaks, trailing whitespace, stray "="', () => {
  const qp = Buffer.from('a=3Db =\r\nc=\nd  \r\ne=ZZ=4');
  assert.equal(decodeTransfer(qp, 'Quoted-Printable').toString('latin1'), 'a=b cd\r\ne=ZZ=4');
  assert.equal(decodeTransfer(Buffer.from('aGVs\r\nbG8='), 'BASE64').toString(), 'hello');
  assert.equal(decodeTransfer(Buffer.from('x=41'), '7bit').toString(), 'x=41');
});

test('sentDate parses RFC 5322 dates, obsolete zones and two-digit years; null when absent or garbage', () => {
  const simple = fixture('simple.eml');
  assert.equal(sentDate(simple, parseMessage(simple))?.toISOString(), '1994-02-08T05:52:25.000Z');
  const mixed = fixture('mixed-attachment.eml');
  assert.equal(sentDate(mixed, parseMessage(mixed))?.toISOString(), '2023-03-02T10:00:00.000Z');
  const lf = fixture('bare-lf.eml');
  assert.equal(sentDate(lf, parseMessage(lf)), null);
  assert.equal(parseMailDate('Fri, 21 Nov 97 09:55:06 GMT')?.toISOString(), '1997-11-21T09:55:06.000Z');
  assert.equal(parseMailDate('1 Jan 05 00:00 EDT')?.toISOString(), '2005-01-01T04:00:00.000Z');
  assert.equal(parseMailDate('Thu,\t13\n Feb 1969 23:32 -0330 (Newfoundland Time)')?.toISOString(), '1969-02-14T03:02:00.000Z');
  assert.equal(parseMailDate('not a date'), null);
});

test('bodyTextIncludes(casemap(needle)) answers as casemap(bodyText()).includes() does, across search windows, charsets and parts', () => {
  // A 600 KB UTF-8 part (over two 256 KiB windows) with a two-byte character and a needle across each window edge.
  const edge = 256 * 1024;
  const body = Buffer.alloc(600 * 1024, 'x');
  body.write('\u00e9', edge - 1, 'utf8'); // "é" split by the first window edge
  body.write('NeedleOne', 2 * edge - 4, 'latin1'); // across the second edge
  const utf8 = Buffer.concat([crlf('Content-Type: text/plain; charset=utf-8\n\n'), body]);
  const latin = crlf('Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain; charset=iso-8859-1\n\nCaf\xe9 end\n--b\nContent-Type: text/plain\n\nSECOND part\n--b--\n');
  const nested = fixture('nested-rfc822.eml');
  const needles = ['needleone', 'xxxx\u00e9xx', '\u00e9', 'caf\u00e9 end', 'end\n\nsecond', 'second part', 'absent', `${'x'.repeat(100)}needleone`, `${'x'.repeat(100)}absent`, ''];
  for (const raw of [utf8, latin, nested]) {
    const s = parseMessage(raw);
    for (const nestedHeaders of [false, true]) {
      const whole = casemap(bodyText(raw, s, nestedHeaders));
      for (const needle of needles.map(casemap)) {
        assert.equal(bodyTextIncludes(raw, s, needle, nestedHeaders), whole.includes(needle), `${JSON.stringify(needle.slice(0, 20))} nested=${nestedHeaders}`);
      }
    }
  }
  assert.equal(bodyTextIncludes(utf8, parseMessage(utf8), casemap('needleone')), true);
  assert.equal(bodyTextIncludes(utf8, parseMessage(utf8), casemap(`${'x'.repeat(100)}needleone`)), true);
  assert.equal(bodyTextIncludes(latin, parseMessage(latin), casemap('caf\u00e9 end')), true);
});
