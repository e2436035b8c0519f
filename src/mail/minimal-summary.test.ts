/**
 * The minimal summary of a streamed body is minimalSummaryJson of the whole
 * body, for any chunking, while holding only the header and the preview's prefix.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { minimalSummaryJson } from './summary.js';
import { minimalSummaryOfStream } from './minimal-summary.js';
import { PREVIEW_SOURCE_OCTETS } from './preview.js';
import { splitAt as cutAt } from '../../test/property/wire.js';

async function* chunks(raw: Buffer, points: number[]): AsyncGenerator<Buffer> {
  yield* cutAt(raw, points);
}

const line = fc.constantFrom('Subject: caf\u00e9 =?utf-8?q?x?=', 'From: A <a@example.org>', 'To: b@example.org', 'Date: Mon, 7 Feb 1994 21:52:25 -0800', 'Content-Type: text/html; charset=utf-8', ' folded', 'X: y', '', '\r', '<p>hello</p>', 'body text');
const message = fc.tuple(fc.array(line, { maxLength: 12 }), fc.constantFrom('\r\n', '\n'), fc.boolean()).map(([lines, eol, ended]) =>
  Buffer.from(lines.join(eol) + (ended ? eol : ''), 'utf8'),
);

test('minimalSummaryOfStream equals minimalSummaryJson of the whole body, for any chunking', async () => {
  await fc.assert(
    fc.asyncProperty(message, fc.array(fc.nat(), { maxLength: 8 }), async (raw, points) => {
      assert.equal(await minimalSummaryOfStream(chunks(raw, points)), minimalSummaryJson(raw));
    }),
    { numRuns: 300 },
  );
});

test('a body longer than the preview reads: lines counted to the end, the prefix cut where the preview cuts it', async () => {
  for (const extra of [-1, 0, 1, 5000]) {
    const body = `${'<p>a line of html</p>\r\n'.repeat(Math.ceil((PREVIEW_SOURCE_OCTETS + extra) / 23))}tail`;
    const raw = Buffer.from(`Subject: big\r\nContent-Type: text/html\r\n\r\n${body}`);
    assert.equal(await minimalSummaryOfStream(chunks(raw, [7, 100_000, 262_150, 262_200])), minimalSummaryJson(raw));
  }
});

test('a header longer than the bound is not held: null, and the caller reads the message whole', async () => {
  const raw = Buffer.from(`X-Long: ${'x'.repeat(5000)}\r\n\r\nbody`);
  assert.equal(await minimalSummaryOfStream(chunks(raw, [1000, 2000, 3000, 4000]), 2048), null);
  assert.equal(await minimalSummaryOfStream(chunks(raw, [1000]), 8192), minimalSummaryJson(raw));
});
