import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { binaryRange, binarySection } from './binary.js';
import { parseMessage, type MimePart } from './parse.js';
import { isSliceSection, sectionBytes, sectionRange, type SectionSpec } from './sections.js';

const FIXTURES = join(import.meta.dirname, '../../test/fixtures/mime');

/** Every part path of the structure (message/rfc822 parts followed inside), up to a few levels. */
function paths(part: MimePart, prefix: number[] = [], depth = 0): number[][] {
  if (depth > 4) return [];
  const out: number[][] = [];
  const children = part.kind === 'multipart' ? part.children ?? [] : part.kind === 'message' && part.message ? [part.message] : [];
  children.forEach((child, i) => {
    const path = part.kind === 'message' ? prefix : [...prefix, i + 1];
    if (part.kind !== 'message') out.push(path);
    out.push(...paths(child, path, depth + 1));
  });
  return out;
}

test('a section read from its byte range (sectionRange, binaryRange) is what the whole message gives', () => {
  const files = readdirSync(FIXTURES).filter((f) => f.endsWith('.eml'));
  assert.ok(files.length > 5);
  for (const file of files) {
    const raw = readFileSync(join(FIXTURES, file));
    const s = parseMessage(raw);
    for (const part of [[], [1], ...paths(s.root)]) {
      const specs: SectionSpec[] = [
        { part },
        { part, text: 'HEADER' },
        { part, text: 'TEXT' },
        { part, text: 'MIME' },
        { part, text: 'HEADER.FIELDS', fields: ['Subject', 'Content-Type'] },
        { part, text: 'HEADER.FIELDS.NOT', fields: ['Subject'] },
      ];
      for (const spec of specs) {
        const whole = sectionBytes(raw, s, spec);
        const range = sectionRange(s, spec);
        const where = `${file} ${JSON.stringify(spec)}`;
        if (!range) {
          assert.equal(whole, null, where);
          continue;
        }
        const window = raw.subarray(range.start, range.end);
        if (isSliceSection(spec)) assert.deepEqual(window, whole, where);
        else assert.deepEqual(sectionBytes(window, s, spec, range.start), whole, where);
      }
      const binary = binaryRange(s, part);
      const expected = binarySection(raw, s, part);
      if (!binary) assert.equal(expected.kind, 'missing');
      else assert.deepEqual(binarySection(raw.subarray(binary.start, binary.end), s, part, binary.start), expected, `${file} BINARY[${part.join('.')}]`);
    }
  }
});
