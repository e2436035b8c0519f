import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { bodyStructure, envelope, parseMessage, type ImapLikeValue } from './index.js';

const fixture = (name: string) => readFileSync(new URL(`../../test/fixtures/mime/${name}`, import.meta.url));
const crlf = (s: string) => Buffer.from(s.replace(/\n/g, '\r\n'), 'latin1');

/** IMAP-like text of a value: NIL, "quoted", numbers, (lists), {n}"bytes" for Buffers. */
function show(v: ImapLikeValue): string {
  if (v === null) return 'NIL';
  if (Array.isArray(v)) return `(${v.map(show).join(' ')})`;
  if (Buffer.isBuffer(v)) return `{${v.length}}${JSON.stringify(v.toString('latin1'))}`;
  return typeof v === 'number' ? String(v) : JSON.stringify(v);
}
const env = (raw: Buffer) => show(envelope(raw, parseMessage(raw)));
const bs = (raw: Buffer, extended = true) => show(bodyStructure(raw, parseMessage(raw), extended));

test('ENVELOPE of the RFC 9051 §7.5.2 example message', () => {
  const raw = crlf(
    'Date: Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\nFrom: Terry Gray <gray@cac.washington.edu>\n' +
      'Subject: IMAP4rev1 WG mtg summary and minutes\nTo: imap@cac.washington.edu\n' +
      'cc: minutes@CNRI.Reston.VA.US, John Klensin <KLENSIN@MIT.EDU>\n' +
      'Message-Id: <B27397-0100000@cac.washington.edu>\nMIME-Version: 1.0\nContent-Type: TEXT/PLAIN; CHARSET=US-ASCII\n\nhi\n',
  );
  assert.equal(
    env(raw),
    '("Wed, 17 Jul 1996 02:23:25 -0700 (PDT)" "IMAP4rev1 WG mtg summary and minutes" ' +
      '(("Terry Gray" NIL "gray" "cac.washington.edu")) (("Terry Gray" NIL "gray" "cac.washington.edu")) ' +
      '(("Terry Gray" NIL "gray" "cac.washington.edu")) ((NIL NIL "imap" "cac.washington.edu")) ' +
      '((NIL NIL "minutes" "CNRI.Reston.VA.US") ("John Klensin" NIL "KLENSIN" "MIT.EDU")) NIL NIL ' +
      '"<B27397-0100000@cac.washington.edu>")',
  );
  // The RFC example's BODY, except parameter names, which we give lowercased.
  assert.equal(bs(raw, false), '("TEXT" "PLAIN" ("charset" "US-ASCII") NIL NIL "7bit" 4 1)');
});

test('ENVELOPE keeps encoded words, expands groups, uses comments as names, falls back for empty Reply-To', () => {
  assert.equal(
    env(fixture('encoded-words.eml')),
    '("Thu, 16 May 2024 18:30:00 -0400" "=?UTF-8?B?8J+Ys8KgUHLDvGZ1bmc=?= =?ISO-8859-1?Q?_f=FCr_Sie?=" ' +
      '(("=?ISO-8859-1?Q?Andr=E9?= Pirard" NIL "PIRARD" "vm1.ulg.ac.be")) ' +
      '(("=?ISO-8859-1?Q?Andr=E9?= Pirard" NIL "PIRARD" "vm1.ulg.ac.be")) ' +
      '(("=?ISO-8859-1?Q?Andr=E9?= Pirard" NIL "PIRARD" "vm1.ulg.ac.be")) ' +
      '(("Keld =?ISO-8859-1?Q?J=F8rn?= Simonsen" NIL "keld" "dkuug.example") ("Doe, J." NIL "j.doe" "example.com")) ' +
      '((NIL NIL "Friends" NIL) (NIL NIL "ann" "example.com") ("Ben B" NIL "ben" "example.com") (NIL NIL NIL NIL) ' +
      '("Team List" NIL "team" "example.org")) NIL NIL NIL)',
  );
});

test('ENVELOPE: absent fields are NIL, empty groups, routes, missing domains, 8-bit names as bytes', () => {
  const raw = crlf(
    'From: \xc9lise <elise@example.fr>\nTo: undisclosed-recipients:;\n' +
      'Cc: <@relay.example,@hop.example:joe@c.example>, localonly\nIn-Reply-To: <a@b>\n\n',
  );
  assert.equal(
    env(raw),
    '(NIL NIL (({5}"\xc9lise" NIL "elise" "example.fr")) (({5}"\xc9lise" NIL "elise" "example.fr")) ' +
      '(({5}"\xc9lise" NIL "elise" "example.fr")) ((NIL NIL "undisclosed-recipients" NIL) (NIL NIL NIL NIL)) ' +
      '((NIL "@relay.example,@hop.example" "joe" "c.example") (NIL NIL "localonly" "MISSING_DOMAIN")) NIL "<a@b>" NIL)',
  );
  assert.equal(env(Buffer.from('\r\n')), '(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)');
});

test('BODYSTRUCTURE of multipart/alternative: parts, subtype, then multipart extension data', () => {
  const raw = fixture('alternative.eml');
  assert.equal(
    bs(raw),
    '(("text" "plain" ("charset" "utf-8") NIL NIL "quoted-printable" 18 0 NIL NIL NIL NIL) ' +
      '("text" "html" ("charset" "utf-8") NIL NIL "7bit" 27 0 NIL NIL NIL NIL) "alternative" ("boundary" "==alt==") NIL NIL NIL)',
  );
  assert.equal(
    bs(raw, false),
    '(("text" "plain" ("charset" "utf-8") NIL NIL "quoted-printable" 18 0) ("text" "html" ("charset" "utf-8") NIL NIL "7bit" 27 0) "alternative")',
  );
});

test('BODYSTRUCTURE of an attachment: id, description, base64, no line count, RFC 2231 filename, language', () => {
  assert.equal(
    bs(fixture('mixed-attachment.eml')),
    '(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 13 0 NIL NIL NIL NIL) ' +
      '("application" "pdf" ("name" "report.pdf") "<part2@example.net>" "quarterly report" "base64" 22 NIL ' +
      '("attachment" ("filename*" "utf-8\'\'%E2%82%AC%20rates.pdf")) ("en" "de") NIL) "mixed" ("boundary" "XyZ") NIL NIL NIL)',
  );
});

test('BODYSTRUCTURE of message/rfc822: envelope, nested structure and line count of the whole message', () => {
  assert.equal(
    bs(fixture('nested-rfc822.eml'), false),
    '(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 10 0) ' +
      '("message" "rfc822" NIL NIL NIL "7bit" 289 (NIL "Lunch" (("Bob" NIL "bob" "example.com")) (("Bob" NIL "bob" "example.com")) ' +
      '(("Bob" NIL "bob" "example.com")) ((NIL NIL "undisclosed-recipients" NIL) (NIL NIL NIL NIL)) NIL NIL NIL "<inner@example.com>") ' +
      '(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 5 0) ("text" "html" ("charset" "us-ascii") NIL NIL "7bit" 12 0) "alternative") 16) "mixed")',
  );
  assert.ok(bs(fixture('nested-rfc822.eml')).includes('"alternative" ("boundary" "inner") NIL NIL NIL) 16 NIL ("inline" NIL) NIL NIL)'));
});

test('BODYSTRUCTURE defaults: no Content-Type is text/plain us-ascii 7bit; sizes of bare-LF and unterminated bodies', () => {
  assert.equal(bs(fixture('encoded-words.eml')), '("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 7 1 NIL NIL NIL NIL)');
  assert.equal(bs(fixture('bare-lf.eml'), false), '("text" "plain" ("charset" "iso-8859-1") NIL NIL "8bit" 14 2)');
  assert.equal(
    bs(fixture('no-trailing-crlf.eml'), false),
    '(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 5 0) ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 41 0) "mixed")',
  );
});

test('BODYSTRUCTURE: multipart with no parts, boundary-less multipart, MD5 and location', () => {
  assert.equal(
    bs(crlf('Content-Type: multipart/related; boundary=z\n\nnothing here\n')),
    '(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0 NIL NIL NIL NIL) "related" ("boundary" "z") NIL NIL NIL)',
  );
  assert.equal(bs(crlf('Content-Type: multipart/mixed\n\nabc\n'), false), '("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 5 1)');
  assert.equal(
    bs(crlf('Content-Type: image/png (a comment)\nContent-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==\nContent-Location: http://x.example/a.png\nContent-Transfer-Encoding: BASE64\n\niVBO\n')),
    '("image" "png" NIL NIL NIL "BASE64" 6 "Q2hlY2sgSW50ZWdyaXR5IQ==" NIL NIL "http://x.example/a.png")',
  );
});
