/**
 * The streaming transfer decoders give what decodeTransfer gives for the
 * whole body, however the body is cut into chunks (property tests), and the
 * BINARY helpers built on them agree with binarySection.
 */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import fc from 'fast-check';
import { Base64Decoder, QuotedPrintableDecoder, type ChunkDecoder } from './decode-stream.js';
import { binaryPlan, binarySection, decodedExtent, decodedSlice } from './binary.js';
import { parseMessage } from './parse.js';
import { decodeTransfer } from './text.js';
import { splitAt as cut } from '../../test/property/wire.js';

function decodeChunks(decoder: ChunkDecoder, chunks: Buffer[]): Buffer {
  return Buffer.concat([...chunks.map((c) => decoder.push(c)), decoder.end()]);
}

/** Bytes drawn mostly from `alphabet`, with any octet now and then. */
function bytesFrom(alphabet: string, maxLength = 300): fc.Arbitrary<Buffer> {
  const chars = [...Buffer.from(alphabet, 'latin1')];
  return fc
    .array(fc.oneof({ weight: 9, arbitrary: fc.constantFrom(...chars) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }) }), { maxLength })
    .map((a) => Buffer.from(a));
}

const cuts = fc.array(fc.nat(), { maxLength: 12 });

test('base64 decoded chunk by chunk equals decodeTransfer of the whole body (junk, whitespace, "=" anywhere)', () => {
  fc.assert(
    fc.property(bytesFrom('ABCDEFabcdef0123456789+/-_=\r\n \t*.\x80\xff', 400), cuts, (body, points) => {
      assert.deepEqual(decodeChunks(new Base64Decoder(), cut(body, points)), decodeTransfer(body, 'base64'));
    }),
    { numRuns: 1000 },
  );
  // A whole real body, and one cut into single octets.
  const real = Buffer.from(Buffer.alloc(1000, 'xyz\0').toString('base64').replace(/.{76}/g, '$&\r\n'));
  assert.deepEqual(decodeChunks(new Base64Decoder(), cut(real, [...real.keys()])), decodeTransfer(real, 'base64'));
});

test('quoted-printable decoded chunk by chunk equals decodeTransfer of the whole body (soft breaks, trailing space, bad escapes)', () => {
  fc.assert(
    fc.property(bytesFrom('=3Dd0aF \t\r\n\r\nxy=\r\n', 400), cuts, (body, points) => {
      assert.deepEqual(decodeChunks(new QuotedPrintableDecoder(), cut(body, points)), decodeTransfer(body, 'quoted-printable'));
    }),
    { numRuns: 1500 },
  );
  const body = Buffer.from('a  \r\nb =\r\nc=3D=\n  \t\rd \t=4 =\r\n=', 'latin1');
  assert.deepEqual(decodeChunks(new QuotedPrintableDecoder(), cut(body, [...body.keys()])), decodeTransfer(body, 'quoted-printable'));
});

function streamOf(chunks: Buffer[]): Readable {
  return Readable.from(chunks, { objectMode: false });
}

test('decodedExtent and decodedSlice: the size, NUL and octets binarySection gives, partial slices included', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom('base64', 'quoted-printable', '7bit'),
      fc.uint8Array({ maxLength: 600 }),
      cuts,
      fc.nat({ max: 700 }),
      fc.nat({ max: 700 }),
      async (encoding, octets, points, from, length) => {
        const data = Buffer.from(octets);
        const encoded =
          encoding === 'base64'
            ? Buffer.from(data.toString('base64').replace(/.{76}/g, '$&\r\n'))
            : encoding === 'quoted-printable'
              ? Buffer.from([...data].map((b) => (b === 0x3d || b > 0x7e || b < 0x20 ? `=${b.toString(16).toUpperCase().padStart(2, '0')}` : String.fromCharCode(b))).join('').replace(/.{70}/g, '$&=\r\n'))
              : data;
        const raw = Buffer.concat([Buffer.from(`Content-Type: application/x-y\r\nContent-Transfer-Encoding: ${encoding}\r\n\r\n`), encoded]);
        const s = parseMessage(raw);
        const whole = binarySection(raw, s, [1]);
        assert.ok(whole.kind === 'ok');
        const plan = binaryPlan(s, [1], raw.subarray(s.root.headerStart, s.root.bodyStart));
        assert.ok(plan.kind === 'ok');
        const body = raw.subarray(plan.start, plan.end);
        const extent = await decodedExtent(streamOf(cut(body, points)), plan.encoding, from, length);
        const expected = whole.data.subarray(from, from + length);
        assert.equal(extent.size, whole.data.length);
        assert.equal(extent.hasNul, expected.includes(0));
        const sliced: Buffer[] = [];
        for await (const chunk of decodedSlice(streamOf(cut(body, points)), plan.encoding, from, length)) sliced.push(chunk as Buffer);
        assert.deepEqual(Buffer.concat(sliced), expected);
      },
    ),
    { numRuns: 150 },
  );
});
