/**
 * Hostile mail at ingest (issue 9, "Mail that freezes the server"): every step
 * of summarize() — MIME walk, header decoding, ENVELOPE, BODYSTRUCTURE,
 * PREVIEW — and the SEARCH text must be linear in the message and bounded.
 * Each shape took from seconds to minutes before (quadratic regular
 * expressions, per-octet arrays, unbounded field values); the wall-clock bound
 * is the point of these tests and is kept generous for a loaded machine.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import fc from 'fast-check';
import { beforeTrailingComment, MAX_FIELD_VALUE_OCTETS, MAX_HEADER_FIELDS } from './headers.js';
import { dropComments, dropRawTextElements, dropTags } from './html.js';
import { allHeaders, bodyStructure, bodyText, MAX_MIME_DEPTH, parseMessage, resolvePart, sectionBytes, type MessageStructure, type MimePart } from './index.js';
import { MAX_MIME_PARTS } from './parse.js';
import { PREVIEW_MAX_CHARS } from './preview.js';
import { MAX_SUMMARY_JSON_OCTETS, parseSummary, serializeSummary, summarize, summaryJson, type MessageSummary } from './summary.js';
import { decodeQuotedPrintable } from './text.js';

/** Generous: minutes before the fix, well under a second each after it. */
const BOUND_MS = 20_000;
const MB = 1024 * 1024;

function timed<T>(what: string, run: () => T): T {
  const started = performance.now();
  const result = run();
  const elapsed = performance.now() - started;
  assert.ok(elapsed < BOUND_MS, `${what} took ${Math.round(elapsed)} ms`);
  return result;
}

/** summarize() and the SEARCH TEXT text within the bound; the summary survives its JSON round trip. */
function ingest(raw: Buffer): MessageSummary {
  const summary = timed('summarize', () => summarize(raw));
  timed('search text', () => bodyText(raw, summary.structure, true));
  checkStructure(raw, summary.structure);
  return summary;
}

/** Offsets ordered and inside the message; every part reachable by its section path. */
function checkStructure(raw: Buffer, s: MessageStructure): void {
  let parts = 0;
  const visit = (p: MimePart, depth: number) => {
    parts++;
    assert.ok(p.headerStart <= p.fieldsEnd && p.fieldsEnd <= p.bodyStart && p.bodyStart <= p.end && p.end <= raw.length);
    assert.ok(depth <= MAX_MIME_DEPTH + 1);
    p.children?.forEach((c) => {
      assert.ok(c.headerStart >= p.bodyStart && c.end <= p.end);
      visit(c, depth + 1);
    });
    if (p.message) visit(p.message, depth + 1);
  };
  visit(s.root, 0);
  assert.ok(parts <= MAX_MIME_PARTS, `${parts} parts`);
}

/** `head`, then `unit` repeated to about `size` octets, then `tail`, built without a giant string. */
function repeated(head: string, unit: string, size: number, tail = ''): Buffer {
  const u = Buffer.from(unit, 'latin1');
  const n = Math.floor(size / u.length);
  const h = Buffer.from(head, 'latin1');
  const t = Buffer.from(tail, 'latin1');
  const out = Buffer.allocUnsafe(h.length + n * u.length + t.length);
  h.copy(out, 0);
  out.fill(u, h.length, h.length + n * u.length);
  t.copy(out, h.length + n * u.length);
  return out;
}

const HTML_HEAD = 'From: a@example.com\r\nSubject: html\r\nContent-Type: text/html; charset=utf-8\r\n\r\n';

for (const opener of ['<style', '<script', '<!--', '<head', '<']) {
  test(`1 MB of unclosed ${opener} in an HTML part`, () => {
    const raw = repeated(`${HTML_HEAD}<p>Hello there</p>`, opener, MB);
    const summary = ingest(raw);
    assert.ok(summary.preview.startsWith('Hello there'), summary.preview.slice(0, 40));
    assert.ok([...summary.preview].length <= PREVIEW_MAX_CHARS);
  });
}

test('a preview reads a bounded prefix: the text after 1 MB of markup is not looked for', () => {
  const raw = repeated(HTML_HEAD, '<i></i> ', MB, 'late text\r\n');
  assert.equal(ingest(raw).preview, '');
});

test('1 MB of quoted-printable spaces that no line end follows', () => {
  const raw = repeated('Subject: qp\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nHi', ' ', MB, 'x');
  const summary = ingest(raw);
  assert.equal(summary.preview.slice(0, 2), 'Hi');
});

test('a 1,000-deep nested multipart stops at the depth limit and stays addressable', () => {
  let head = 'Subject: deep\r\n';
  let tail = '';
  for (let i = 0; i < 1000; i++) {
    head += `Content-Type: multipart/mixed; boundary="b${i}"\r\n\r\n--b${i}\r\n`;
    tail = `\r\n--b${i}--\r\n${tail}`;
  }
  const raw = Buffer.from(`${head}Content-Type: text/plain\r\n\r\nleaf${tail}`);
  const summary = ingest(raw);
  let depth = 0;
  for (let p: MimePart = summary.structure.root; p.kind === 'multipart'; p = p.children![0]!) depth++;
  assert.equal(depth, MAX_MIME_DEPTH);
  const path = new Array<number>(MAX_MIME_DEPTH).fill(1);
  assert.ok(resolvePart(summary.structure, path));
  assert.ok(sectionBytes(raw, summary.structure, { part: path, text: 'MIME' }));
});

test('a 1,000-deep nested message/rfc822 stops at the depth limit with a valid BODYSTRUCTURE', () => {
  let body = 'Subject: inner\r\n\r\nleaf\r\n';
  for (let i = 0; i < 1000; i++) body = `Subject: level ${i}\r\nContent-Type: message/rfc822\r\n\r\n${body}`;
  const raw = Buffer.from(body);
  const summary = ingest(raw);
  let levels = 0;
  for (let p = summary.structure.root; p.message; p = p.message) levels++;
  assert.equal(levels, MAX_MIME_DEPTH);
  // The opaque innermost message/rfc822 still has the body-type-msg form: envelope, body, lines.
  let bs = summary.bodyStructure as unknown[];
  for (let i = 0; i < MAX_MIME_DEPTH; i++) bs = bs[8] as unknown[];
  assert.equal(bs[0], 'message');
  assert.equal((bs[7] as unknown[]).length, 10, 'an empty envelope');
});

test('10,001 parts: the part budget ends the multipart with a last part that runs to its end', () => {
  const lines = ['Subject: many', 'Content-Type: multipart/mixed; boundary="b"', ''];
  for (let i = 0; i < 10_001; i++) lines.push('--b', 'Content-Type: text/plain', '', `part ${i}`);
  lines.push('--b--', '');
  const raw = Buffer.from(lines.join('\r\n'));
  const summary = ingest(raw);
  const children = summary.structure.root.children!;
  assert.equal(children.length, MAX_MIME_PARTS - 1, 'the message itself is one of the parts');
  const last = children[children.length - 1]!;
  assert.equal(last.end, summary.structure.root.end);
  assert.match(sectionBytes(raw, summary.structure, { part: [children.length] })!.toString(), /^part 9998\r\n--b\r\n/);
  // BODYSTRUCTURE lists exactly the parts sections can address.
  assert.equal((summary.bodyStructure as unknown[]).length, children.length + 5);
  assert.equal(sectionBytes(raw, summary.structure, { part: [children.length + 1] }), null);
});

test('the part budget spans nesting: multiparts beyond it are opaque text/plain leaves', () => {
  const inner = (tag: string) => {
    const lines = [`Content-Type: multipart/mixed; boundary="${tag}"`, ''];
    for (let i = 0; i < 6000; i++) lines.push(`--${tag}`, '', `${tag}${i}`);
    lines.push(`--${tag}--`, '');
    return lines.join('\r\n');
  };
  const raw = Buffer.from(
    ['Subject: nested budget', 'Content-Type: multipart/mixed; boundary="o"', '', '--o', inner('p'), '--o', inner('q'), '--o', inner('r'), '--o--', ''].join('\r\n'),
  );
  const summary = ingest(raw);
  const [p, q, r] = summary.structure.root.children!;
  assert.equal(p!.children!.length, 6000);
  assert.equal(q!.children!.length, MAX_MIME_PARTS - 4 - 6000);
  assert.equal(r!.kind, 'text');
  assert.equal(r!.typeFromHeader, false);
});

test('a 50 MB one-line header', () => {
  const raw = repeated('From: a@example.com\r\nSubject: ', 'a', 50 * MB, '\r\n\r\nbody\r\n');
  const summary = ingest(raw);
  const subject = (summary.envelope as unknown[])[1] as string;
  assert.ok(subject.length <= MAX_FIELD_VALUE_OCTETS && subject.startsWith('aaaa'));
  assert.equal(summary.preview, 'body');
  assert.ok(summary.structure.bodyStart > 50 * MB, 'the offsets stay exact');
  assert.equal(sectionBytes(raw, summary.structure, { part: [], text: 'TEXT' })!.toString(), 'body\r\n');
});

test('a 50 MB line without a colon, and a 50 MB field name', () => {
  for (const raw of [repeated('Subject: x\r\n', 'b', 50 * MB, '\r\n\r\nbody\r\n'), repeated('Subject: x\r\n', 'b', 50 * MB, ': v\r\n\r\nbody\r\n')]) {
    const summary = ingest(raw);
    assert.equal((summary.envelope as unknown[])[1], 'x');
    assert.equal(summary.preview, 'body');
    // A colon past the first 998 octets of a line (RFC 5322 §2.1.1) does not end a field name.
    assert.deepEqual(allHeaders(raw, summary.structure).map(([name]) => name), ['Subject']);
  }
});

test('500,000 address lines in To:', () => {
  const raw = repeated('From: a@example.com\r\nTo: first@example.com', ',\r\n x@example.com', 500_000 * 16, '\r\nSubject: s\r\n\r\nbody\r\n');
  const summary = ingest(raw);
  const to = (summary.envelope as unknown[])[5] as unknown[][];
  assert.deepEqual(to[0], [null, null, 'first', 'example.com']);
  assert.ok(to.length < 10_000, `${to.length} addresses`);
  assert.equal(summary.sort.to, 'first');
  assert.equal((summary.envelope as unknown[])[1], 's', 'fields after the long one are still read');
});

test('500,000 To: fields', () => {
  const raw = repeated('From: a@example.com\r\nSubject: s\r\n', 'To: x@example.com\r\n', 500_000 * 19, '\r\nbody\r\n');
  const summary = ingest(raw);
  assert.equal(summary.sort.to, 'x');
  assert.ok(timed('SEARCH HEADER', () => allHeaders(raw, summary.structure)).length <= MAX_HEADER_FIELDS);
});

test('many encoded words', () => {
  const raw = repeated('From: a@example.com\r\nSubject: ', '=?utf-8?q?caf=C3=A9?= ', 4 * MB, '\r\n\r\nbody\r\n');
  const summary = ingest(raw);
  assert.ok(summary.sort.subject.startsWith('café'));
  assert.ok(JSON.stringify(summary).length < 4 * MAX_FIELD_VALUE_OCTETS);
});

test('deep RFC 2231 continuations', () => {
  let ct = 'Content-Type: text/plain; charset=utf-8';
  for (let i = 0; i < 100_000; i++) ct += `;\r\n name*${i}*=%41`;
  const raw = Buffer.from(`Subject: params\r\n${ct}\r\n\r\nbody\r\n`);
  const summary = ingest(raw);
  assert.equal(summary.preview, 'body');
  const params = (summary.bodyStructure as unknown[])[2] as string[];
  assert.equal(params[0], 'charset');
  assert.ok(JSON.stringify(summary).length < 4 * MAX_FIELD_VALUE_OCTETS);
});

test('unclosed comments in Content-Disposition, Content-Language and Content-Transfer-Encoding', () => {
  for (const name of ['Content-Disposition', 'Content-Language', 'Content-Transfer-Encoding', 'Content-Type']) {
    const raw = repeated(`Subject: c\r\n${name}: x; `, '(', MB, '\u2028\r\n\r\nbody\r\n');
    ingest(raw);
  }
});

test('subjects of 1 MB of blobs, leaders and trailers', () => {
  for (const unit of ['[a]', 'Re: ', ' (fwd)', '[fwd: ']) {
    ingest(repeated('Subject: ', unit, MB, 'x\r\n\r\nbody\r\n'));
  }
});

// ----------------------------------------------------- same answers as before
// The linear code replaces regular expressions; on ordinary input it must give
// what they gave, octet for octet (fixtures: test/golden/mime-corpus.test.ts).

const htmlPiece = fc.constantFrom(
  '<', '>', '</', '<style', '<STYLE', '</style>', '</Style >', '</style\t\n>', '<script', '</script>', '<head>', '</head  >',
  '<styles', '<style_', '<!--', '-->', '--', '<!-->', '<b>', 'x', ' ', '&amp;', '\u00a0', '\u2028', 'ſtyle', '<style/>',
);

test('the HTML passes give what the former regular expressions gave', () => {
  fc.assert(
    fc.property(fc.array(htmlPiece, { maxLength: 40 }), (pieces) => {
      const html = pieces.join('');
      const raw = html.replace(/<(script|style|head)\b[\s\S]*?<\/\1\s*>/gi, ' ');
      assert.equal(dropRawTextElements(html), raw);
      const comments = raw.replace(/<!--[\s\S]*?-->/g, ' ');
      assert.equal(dropComments(raw), comments);
      assert.equal(dropTags(comments), comments.replace(/<[^>]*>/g, ' '));
    }),
    { numRuns: 3000, seed: 9 },
  );
});

/** The quoted-printable decoder as it was (quadratic on long whitespace runs). */
function formerQuotedPrintable(body: Buffer): Buffer {
  const text = body.toString('latin1').replace(/[ \t]+(?=\r?\n|$)/g, '');
  const out = Buffer.alloc(text.length);
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '=') {
      const pair = text.slice(i + 1, i + 3);
      if (/^[0-9A-Fa-f]{2}$/.test(pair)) {
        out[n++] = parseInt(pair, 16);
        i += 2;
        continue;
      }
      const soft = /^(\r?\n|$)/.exec(text.slice(i + 1, i + 3));
      if (soft) {
        i += soft[0].length;
        continue;
      }
    }
    out[n++] = text.charCodeAt(i);
  }
  return out.subarray(0, n);
}

test('quoted-printable decoding gives what the former decoder gave', () => {
  const piece = fc.constantFrom('=', '=3D', '=3d', '=G1', '=\r\n', '=\n', '=\r', ' ', '\t', '\r\n', '\n', '\r', 'a', '\xe9', '=4');
  fc.assert(
    fc.property(fc.array(piece, { maxLength: 30 }), (pieces) => {
      const body = Buffer.from(pieces.join(''), 'latin1');
      assert.deepEqual(decodeQuotedPrintable(body), formerQuotedPrintable(body));
    }),
    { numRuns: 3000, seed: 9 },
  );
});

test('a trailing comment is cut where the former expression cut it', () => {
  const piece = fc.constantFrom('(', ')', 'base64', ' ', '\u2028', '\n', 'x');
  fc.assert(
    fc.property(fc.array(piece, { maxLength: 20 }), (pieces) => {
      const value = pieces.join('');
      assert.equal(beforeTrailingComment(value), value.replace(/\(.*$/, ''));
    }),
    { numRuns: 2000, seed: 9 },
  );
});

test('BODY derived from BODYSTRUCTURE equals BODY computed on its own', () => {
  const piece = fc.constantFrom(
    '\r\n', '--b', '--b--', '--c', 'Content-Type: multipart/mixed; boundary=b', 'Content-Type: multipart/digest; boundary=c',
    'Content-Type: message/rfc822', 'Content-Type: message/global', 'Content-Type: text/html; charset=koi8-r',
    'Content-Transfer-Encoding: base64', 'Content-Disposition: attachment (x; y); filename=a', 'Content-Language: en (c), de',
    'Content-Type: image/png', 'From: a@b', ':', ' ', 'x',
  );
  fc.assert(
    fc.property(fc.array(piece, { maxLength: 60 }), (pieces) => {
      const raw = Buffer.from(pieces.join(''), 'latin1');
      const s = parseMessage(raw);
      assert.deepEqual(summarize(raw, s).body, bodyStructure(raw, s, false));
    }),
    { numRuns: 500, seed: 9 },
  );
  const dir = new URL('../../test/fixtures/mime/', import.meta.url);
  for (const name of readdirSync(dir).filter((f) => f.endsWith('.eml'))) {
    const raw = readFileSync(new URL(name, dir));
    const s = parseMessage(raw);
    assert.deepEqual(summarize(raw, s).body, bodyStructure(raw, s, false), name);
  }
});

/** A Content-Type value of about `octets` octets: a type and many short parameters, each of a different name. */
function longContentType(type: string, octets: number): string {
  let value = type;
  for (let i = 0; value.length < octets; i++) value += `; p${i}="${'v'.repeat(40)}"`;
  return value;
}

test('10,000 parts each with a 5 KB Content-Type: the header budget keeps the summary small and quick', () => {
  const ct = `Content-Type: ${longContentType('text/plain', 5000)}\r\n`;
  const chunks = ['Subject: many long types\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n'];
  for (let i = 0; i < MAX_MIME_PARTS; i++) chunks.push(`--b\r\n${ct}\r\nbody ${i}\r\n`);
  chunks.push('--b--\r\n');
  const raw = Buffer.from(chunks.join(''));
  assert.ok(raw.length > 50 * 1000 * 1000, 'the size of the default maxMessageBytes');
  const summary = ingest(raw);
  const json = timed('serialise', () => serializeSummary(summary));
  assert.ok(json.length < MAX_SUMMARY_JSON_OCTETS, `${json.length} octets of summary`);
  assert.equal(timed('stored form', () => summaryJson(raw)), json, 'not the fallback: every part is still described');
  const parts = summary.bodyStructure as unknown[][];
  assert.equal(summary.structure.root.children!.length, MAX_MIME_PARTS - 1);
  // The first parts are described in full; once the budget is spent the parameters are NIL
  // (text parts keep the RFC 2045 §5.2 default charset) and the type stays exact.
  assert.ok((parts[0]![2] as unknown[]).length > 100);
  const last = parts[MAX_MIME_PARTS - 2]!;
  assert.deepEqual(last.slice(0, 3), ['text', 'plain', ['charset', 'us-ascii']]);
});

test('5,000 attached messages each with a 5 KB To: the header budget keeps the summary small and quick', () => {
  const to = `To: ${Array.from({ length: 400 }, (_, i) => `user${i}@example.com`).join(', ').slice(0, 5000)}\r\n`;
  const chunks = ['Subject: many messages\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n'];
  for (let i = 0; i < 5000; i++) chunks.push(`--b\r\nContent-Type: message/rfc822\r\n\r\n${to}Subject: inner ${i}\r\n\r\nhello\r\n`);
  chunks.push('--b--\r\n');
  const raw = Buffer.from(chunks.join(''));
  const summary = ingest(raw);
  const json = timed('serialise', () => serializeSummary(summary));
  assert.ok(json.length < MAX_SUMMARY_JSON_OCTETS, `${json.length} octets of summary`);
  const parts = summary.bodyStructure as unknown[][];
  assert.equal(parts.length, 5000 + 5);
  const envelopeOfPart = (i: number) => parts[i]![7] as unknown[];
  assert.equal(envelopeOfPart(0)[1], 'inner 0');
  assert.ok((envelopeOfPart(0)[5] as unknown[]).length > 200);
  // Past the budget an attached message's ENVELOPE fields are NIL; its structure stays exact.
  assert.deepEqual(envelopeOfPart(4999), [null, null, null, null, null, null, null, null, null, null]);
  assert.equal((parts[4999]![8] as unknown[])[0], 'text');
});

test('a summary larger than MAX_SUMMARY_JSON_OCTETS is stored as one opaque part', () => {
  // Parts whose types are long (past the budget they are still read, to OVER_BUDGET_FIELD_OCTETS).
  const type = `text/${'x'.repeat(200)}`;
  const chunks = ['Subject: long types\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n'];
  for (let i = 0; i < MAX_MIME_PARTS; i++) chunks.push(`--b\r\nContent-Type: ${type}\r\n\r\nbody\r\n`);
  chunks.push('--b--\r\n');
  const raw = Buffer.from(chunks.join(''));
  assert.ok(serializeSummary(ingest(raw)).length > MAX_SUMMARY_JSON_OCTETS);
  const stored = parseSummary(timed('stored form', () => summaryJson(raw)))!;
  assert.equal(stored.structure.root.children, undefined);
  assert.deepEqual((stored.bodyStructure as unknown[]).slice(0, 2), ['text', 'plain']);
  assert.equal(sectionBytes(raw, stored.structure, { part: [1] })!.length, raw.length - stored.structure.bodyStart);
  assert.equal((stored.envelope as unknown[])[1], 'long types');
});
