/**
 * SEARCH BODY/TEXT over streams answers as the whole-buffer matcher
 * (bodyTextIncludes) does, whatever the chunks the store hands out, and lets
 * the event loop run during a long search.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import fc from 'fast-check';
import iconv from 'iconv-lite';
import { bodyText, bodyTextIncludes, casemap, parseMessage } from './index.js';
import { streamedBodyTextIncludes, type OpenRange } from './text-stream.js';
import { splitAt as cutAt } from '../../test/property/wire.js';

/** Ranges of `raw` as streams cut at `points` (relative to each range); `opened` records each range asked for. */
function opener(raw: Buffer, points: number[], opened: Array<[number, number]> = []): OpenRange {
  return async (start, end) => {
    opened.push([start, end]);
    return Readable.from(cutAt(raw.subarray(start, end), points), { objectMode: false });
  };
}

const WORDS = ['needle', 'Café', 'STRASSE', 'Straße', 'naïve', 'ÉLAN', 'x', '𐐀bc', 'über', 'a=b', '  ', 'end.', 'Hay', 'HAYSTACK', '\u00e9t\u00e9'];
const text = fc.array(fc.constantFrom(...WORDS, ' ', '\r\n'), { maxLength: 60 }).map((w) => w.join(''));

const CHARSETS = ['utf-8', 'iso-8859-1', 'windows-1252', 'utf-16le', 'us-ascii', 'x-unknown'];
const ENCODINGS = ['7bit', '8bit', 'quoted-printable', 'base64'];

function encodeBody(body: Buffer, encoding: string): string {
  if (encoding === 'base64') return body.toString('base64').replace(/.{1,76}/g, '$&\r\n');
  if (encoding === 'quoted-printable') {
    const qp = [...body].map((b) => (b === 0x3d || b > 0x7e || (b < 0x20 && b !== 0x0d && b !== 0x0a) ? `=${b.toString(16).toUpperCase().padStart(2, '0')}` : String.fromCharCode(b)));
    return qp.join('').replace(/[^\r\n]{60}/g, '$&=\r\n');
  }
  return body.toString('latin1');
}

const textPart = fc.record({ body: text, charset: fc.constantFrom(...CHARSETS), encoding: fc.constantFrom(...ENCODINGS) }).map(({ body, charset, encoding }) => {
  const bytes = iconv.encodingExists(charset) ? iconv.encode(body, charset) : Buffer.from(body, 'utf8');
  return `Content-Type: text/plain; charset=${charset}\r\nContent-Transfer-Encoding: ${encoding}\r\n\r\n${encodeBody(bytes, encoding)}`;
});
const binaryPart = fc.uint8Array({ maxLength: 40 }).map((b) => `Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n${Buffer.from(b).toString('base64')}`);
const nestedPart = fc.tuple(text, textPart).map(([subject, inner]) => `Content-Type: message/rfc822\r\n\r\nSubject: ${subject.replace(/\r\n/g, ' ')}\r\n${inner}`);

/** A message of latin1 characters (each one octet): one text part, or a multipart of text, binary and attached messages. */
const message = fc.oneof(
  textPart.map((part) => `From: a@example.org\r\n${part}`),
  fc.array(fc.oneof(textPart, binaryPart, nestedPart), { minLength: 1, maxLength: 4 }).map(
    (parts) => `From: a@example.org\r\nContent-Type: multipart/mixed; boundary="=b="\r\n\r\n${parts.map((p) => `--=b=\r\n${p}\r\n`).join('')}--=b=--\r\n`,
  ),
);

test('streamed SEARCH BODY/TEXT answers as the whole-buffer matcher, for any chunking of the stored octets', async () => {
  await fc.assert(
    fc.asyncProperty(message, fc.array(fc.nat(), { maxLength: 8 }), fc.boolean(), fc.nat(), fc.integer({ min: 1, max: 90 }), fc.boolean(), async (m, points, nested, at, length, inText) => {
      const raw = Buffer.from(m, 'latin1');
      const s = parseMessage(raw);
      const whole = casemap(bodyText(raw, s, nested));
      // A needle from the text itself (found, possibly across parts and chunks), or one that may not be there.
      const needle = inText && whole.length > 0 ? whole.slice(at % whole.length, (at % whole.length) + length) : casemap('needle straße é'.slice(0, length % 16));
      assert.equal(await streamedBodyTextIncludes(opener(raw, points), s.root, needle, nested), bodyTextIncludes(raw, s, needle, nested), JSON.stringify(needle));
    }),
    { numRuns: 200 },
  );
});

test('the MIME fixtures: every window of the decoded text is found as the whole-buffer matcher finds it', async () => {
  const dir = new URL('../../test/fixtures/mime/', import.meta.url);
  for (const name of readdirSync(dir).filter((n) => n.endsWith('.eml'))) {
    const raw = readFileSync(new URL(name, dir));
    const s = parseMessage(raw);
    for (const nested of [false, true]) {
      const whole = casemap(bodyText(raw, s, nested));
      for (let at = 0; at < whole.length; at += 13) {
        for (const length of [1, 5, 30, 100]) {
          const needle = whole.slice(at, at + length);
          assert.equal(await streamedBodyTextIncludes(opener(raw, [3, 17, 64]), s.root, needle, nested), true, `${name} ${JSON.stringify(needle)}`);
        }
      }
      assert.equal(await streamedBodyTextIncludes(opener(raw, [5]), s.root, 'no such text anywhere', nested), false);
    }
  }
});

test('only text parts are read: headers of the text parts whole, bodies as streams; a gone message is no match', async () => {
  const big = 'filler line of text\r\n'.repeat(50_000);
  const raw = Buffer.from(
    'Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: application/zip\r\n\r\n' +
      `${'Z'.repeat(100_000)}\r\n--b\r\nContent-Type: text/plain\r\n\r\n${big}the needle\r\n--b--\r\n`,
    'latin1',
  );
  const s = parseMessage(raw);
  const opened: Array<[number, number]> = [];
  assert.equal(await streamedBodyTextIncludes(opener(raw, [], opened), s.root, casemap('the needle')), true);
  const zip = s.root.children![0]!;
  assert.ok(opened.every(([start]) => start >= zip.end), 'the zip part is never read');
  assert.equal(await streamedBodyTextIncludes(async () => null, s.root, casemap('the needle')), false);
});

test('a long search lets the event loop run between chunks', async () => {
  const raw = Buffer.from(`Subject: x\r\n\r\n${'no match here; '.repeat(300_000)}`, 'latin1');
  const s = parseMessage(raw);
  // Counts the turns of the event loop's check phase while the search runs.
  let turns = 0;
  let searching = true;
  const spin = () => {
    turns++;
    if (searching) setImmediate(spin);
  };
  setImmediate(spin);
  // The chunks come from memory, never waiting on I/O: without a pause the 4.5 MB would be searched in one go.
  const points = [...Array(100).keys()].map((i) => i * 65536);
  const found = await streamedBodyTextIncludes(async (start, end) => Readable.from(cutAt(raw.subarray(start, end), points)), s.root, 'needle');
  searching = false;
  assert.equal(found, false);
  assert.ok(turns >= 3, `the event loop turned ${turns} times during the search`);
});
