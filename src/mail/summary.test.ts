import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseSummary, parseSummaryItems, serializeSummary, summarize } from './summary.js';

const crlf = (lines: string[]) => Buffer.from(lines.join('\r\n'), 'latin1');

describe('summary serialisation', () => {
  it('round-trips a plain ASCII message (the fast path: no 8-bit bytes to rebuild)', () => {
    const raw = crlf(['From: Ann <ann@example.com>', 'Subject: "quoted" {b64} \\ text', 'Message-ID: <a@x>', '', 'Hello', '']);
    const summary = summarize(raw);
    const text = serializeSummary(summary);
    assert.ok(!text.includes('"b64"'), 'the subject mentions b64 only inside a string');
    assert.deepEqual(parseSummary(text), summary);
  });

  it('round-trips raw 8-bit header bytes as Buffers', () => {
    const raw = crlf(['From: J\xf6rg <j@example.com>', 'Subject: caf\xe9', '', 'body', '']);
    const summary = summarize(raw);
    const text = serializeSummary(summary);
    assert.ok(text.includes('"b64"'), 'this message needs the Buffer encoding');
    const back = parseSummary(text);
    assert.deepEqual(back, summary);
    assert.ok(JSON.stringify(back?.envelope).includes('"type":"Buffer"'), 'the envelope holds Buffers again');
  });

  it('refuses another version and unreadable text', () => {
    const summary = summarize(crlf(['Subject: x', '', '']));
    assert.equal(parseSummary(serializeSummary({ ...summary, version: 1 as never })), null);
    assert.equal(parseSummary('{not json'), null);
  });

  it('parseSummaryItems gives what parseSummary gives for ENVELOPE, BODY, BODYSTRUCTURE, and null where it does', () => {
    const messages = [
      crlf(['From: Ann <ann@example.com>', 'Subject: ",\\"preview\\":" and ,"envelope": in a subject', '', 'Hello', '']),
      crlf(['From: J\xf6rg <j@example.com>', 'Subject: caf\xe9', '', 'body', '']),
      crlf(['Content-Type: multipart/mixed; boundary=b', '', '--b', 'Content-Type: message/rfc822', '', 'Subject: inner', '', 'x', '--b--', '']),
    ];
    for (const raw of messages) {
      const text = serializeSummary(summarize(raw));
      const full = parseSummary(text)!;
      assert.deepEqual(parseSummaryItems(text), { envelope: full.envelope, body: full.body, bodyStructure: full.bodyStructure });
    }
    const summary = summarize(messages[0]!);
    assert.equal(parseSummaryItems(serializeSummary({ ...summary, version: 1 as never })), null);
    assert.equal(parseSummaryItems('{not json'), null);
  });
});

