/**
 * Binary APPEND re-encoding as a stream (encodeStoredBinaryParts) against the
 * whole-buffer conversion (encodeBinaryParts): the same octets stored, the
 * same refusals, over random messages and random chunkings of the stored literal.
 */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import fc from 'fast-check';
import { encodeBinaryParts } from './binary-append.js';
import { encodeStoredBinaryParts, isFullStructure } from './binary-append-stream.js';
import { opaqueMessage, parseMessage } from './parse.js';
import { splitAt as cutAt } from '../../test/property/wire.js';

const octets = (maxLength: number) =>
  fc.array(fc.oneof(fc.constantFrom(0x00, 0x0d, 0x0a, 0x2d, 0x41), fc.integer({ min: 0, max: 255 })), { maxLength }).map((a) => Buffer.from(a));

const CTE_FIELDS = ['', 'Content-Transfer-Encoding: binary\r\n', 'Content-Transfer-Encoding: 8bit\r\n', 'Content-Transfer-Encoding: base64\r\n', 'Content-Transfer-Encoding: BINARY\r\nContent-Transfer-Encoding: 7bit\r\n', 'content-transfer-encoding:  binary (c)\r\n'];

const leaf = fc.record({ cte: fc.constantFrom(...CTE_FIELDS), body: octets(300), ended: fc.boolean() }).map(({ cte, body, ended }) =>
  // Some headers end without an empty line: the CTE field then goes where the header ends.
  Buffer.concat([Buffer.from(`Content-Type: application/x-data\r\n${cte}${ended ? '\r\n' : ''}`, 'latin1'), ended ? body : Buffer.alloc(0)]),
);
const nested = leaf.map((inner) => Buffer.concat([Buffer.from('Content-Type: message/rfc822\r\n\r\nSubject: inner\r\n'), inner]));
const part = fc.oneof({ weight: 3, arbitrary: leaf }, { weight: 1, arbitrary: nested });

const message = fc.oneof(
  part.map((p) => Buffer.concat([Buffer.from('From: a@example.org\r\n'), p])),
  fc.array(part, { maxLength: 5 }).map((parts) =>
    Buffer.concat([
      Buffer.from('From: a@example.org\r\nContent-Type: multipart/mixed; boundary="zz"\r\n\r\npreamble\r\n'),
      ...parts.flatMap((p) => [Buffer.from('--zz\r\n'), p, Buffer.from('\r\n')]),
      Buffer.from('--zz--\r\nepilogue'),
    ]),
  ),
);

async function streamed(raw: Buffer, points: number[]): Promise<{ kind: string; data?: Buffer; converted?: number }> {
  const out: Buffer[] = [];
  const result = await encodeStoredBinaryParts(
    {
      structure: parseMessage(raw),
      hasNul: raw.includes(0),
      open: async (start, end) => Readable.from(cutAt(raw.subarray(start, end), points), { objectMode: false }),
    },
    async (chunk) => {
      out.push(Buffer.from(chunk));
    },
  );
  if (result.kind === 'ok') return { kind: 'ok', data: Buffer.concat(out), converted: result.converted };
  if (result.kind === 'unchanged') return { kind: 'ok', data: raw, converted: 0 };
  return { kind: 'nul' };
}

test('the streamed re-encoding stores exactly what encodeBinaryParts stores, for any chunking', async () => {
  await fc.assert(
    fc.asyncProperty(message, fc.array(fc.nat(), { maxLength: 10 }), async (raw, points) => {
      const whole = encodeBinaryParts(raw);
      const expected = whole.kind === 'ok' ? { kind: 'ok', data: whole.data, converted: whole.converted } : { kind: 'nul' };
      assert.deepEqual(await streamed(raw, points), expected);
    }),
    { numRuns: 400 },
  );
});

test('long binary parts: base64 lines of 76 characters across chunk edges, one chunk or many', async () => {
  const body = Buffer.alloc(10_000);
  for (let i = 0; i < body.length; i++) body[i] = (i * 31) & 0xff;
  const raw = Buffer.concat([Buffer.from('Content-Type: application/x-data\r\nContent-Transfer-Encoding: binary\r\n\r\n'), body]);
  const whole = encodeBinaryParts(raw);
  assert.ok(whole.kind === 'ok');
  for (const points of [[], [1, 57, 58, 113, 114, 4000], [...Array(200).keys()].map((i) => i * 57 + 100)]) {
    assert.deepEqual((await streamed(raw, points)).data, whole.data);
  }
});

test('isFullStructure: a summary that fell back to one opaque part is not followed, unless the message is one part anyway', () => {
  const multipart = Buffer.from('Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nx\r\n--b--\r\n');
  const header = (raw: Buffer) => raw.subarray(0, parseMessage(raw).bodyStart);
  assert.equal(isFullStructure(parseMessage(multipart), header(multipart)), true);
  assert.equal(isFullStructure(opaqueMessage(multipart), header(multipart)), false);
  for (const raw of [Buffer.from('Subject: x\r\n\r\nbody'), Buffer.from('Content-Type: multipart/mixed\r\n\r\nno boundary'), Buffer.from('Content-Type: garbage\r\n\r\nx')]) {
    assert.equal(isFullStructure(opaqueMessage(raw), header(raw)), true, raw.toString());
  }
  const typed = Buffer.from('Content-Type: application/octet-stream\r\n\r\nx');
  assert.equal(isFullStructure(parseMessage(typed), header(typed)), true);
  assert.equal(isFullStructure(opaqueMessage(typed), header(typed)), false);
});
