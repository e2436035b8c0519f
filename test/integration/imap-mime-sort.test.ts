/**
 * Issue 4 (part A) against the real server: every part of every message of
 * the MIME corpus fetched with imapflow (BODY[part] sizes agree with the
 * BODYSTRUCTURE imapflow parsed; BINARY downloads decode), and SORT, THREAD,
 * ESEARCH and SEARCHRES through Python's imaplib.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { ImapFlow, type MessageStructureObject } from 'imapflow';
import { addUser, deliver, python, startServer, type TestServer } from '../helpers/server.js';

const DIR = new URL('../fixtures/mime/', import.meta.url);
const FIXTURES = readdirSync(DIR).filter((f) => f.endsWith('.eml')).sort();

function threadMail(id: string, subject: string, day: number, refs?: string): string {
  return [
    'From: Bob <bob@example.org>',
    'To: alice@example.com',
    `Subject: ${subject}`,
    `Date: ${day} Mar 2024 10:00:00 +0000`,
    `Message-ID: ${id}`,
    ...(refs ? [`References: ${refs}`] : []),
    '',
    'body',
    '',
  ].join('\r\n');
}

function imapClient(server: TestServer): ImapFlow {
  return new ImapFlow({
    host: '127.0.0.1',
    port: server.ports.imaps,
    secure: true,
    tls: { ca: [server.certPem], servername: 'localhost' },
    auth: { user: 'alice@example.com', pass: 'alice-pw' },
    logger: false,
  });
}

function leaves(node: MessageStructureObject, out: MessageStructureObject[]): void {
  if (node.childNodes && node.type.startsWith('multipart/')) for (const child of node.childNodes) leaves(child, out);
  else out.push(node);
}

describe('IMAP MIME corpus, SORT and THREAD with real clients', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer();
    addUser(server.dataDir, 'alice@example.com', 'alice-pw');
    // One delivery through the CLI (LMTP's path); the rest by APPEND, which is much faster than a process each.
    const r = deliver(server.dataDir, 'alice@example.com', readFileSync(new URL(FIXTURES[0]!, DIR)));
    assert.equal(r.status, 0, r.stderr);
    const client = imapClient(server);
    await client.connect();
    for (const name of FIXTURES.slice(1)) await client.append('INBOX', readFileSync(new URL(name, DIR)));
    for (const [id, subject, day, refs] of [
      ['<a@x>', 'Topic', 1],
      ['<b@x>', 'Re: Topic', 2, '<a@x>'],
      ['<c@x>', 'Re: Topic', 3, '<a@x> <b@x>'],
      ['<d@x>', 'Other', 4],
    ] as Array<[string, string, number, string?]>) {
      await client.append('Archive', threadMail(id, subject, day, refs));
    }
    await client.logout();
  });
  after(async () => {
    await server.stop();
    server.cleanup();
  });

  test('imapflow fetches every part of every corpus message', async () => {
    const client = imapClient(server);
    await client.connect();
    try {
      const lock = await client.getMailboxLock('INBOX');
      try {
        let checked = 0;
        for (let seq = 1; seq <= FIXTURES.length; seq++) {
          const msg = await client.fetchOne(String(seq), { envelope: true, bodyStructure: true, size: true });
          assert.ok(msg && msg.bodyStructure, `${FIXTURES[seq - 1]}: BODYSTRUCTURE parsed by imapflow`);
          const parts: MessageStructureObject[] = [];
          leaves(msg.bodyStructure, parts);
          for (const part of parts) {
            const path = part.part ?? '1';
            const got = await client.fetchOne(String(seq), { bodyParts: [path] });
            // A multipart without parts is shown with one empty text/plain part, whose BODY[] is NIL.
            const bytes = (got && got.bodyParts?.get(path)) || (!part.size ? Buffer.alloc(0) : undefined);
            assert.ok(bytes, `${FIXTURES[seq - 1]} part ${path} fetched: ${JSON.stringify(part)}`);
            assert.equal(bytes.length, part.size ?? 0, `${FIXTURES[seq - 1]} part ${path}: BODY[] octets = BODYSTRUCTURE size`);
            checked++;
          }
        }
        assert.ok(checked >= 30, `fetched ${checked} parts`);
        // download() uses BINARY when offered: the base64 PNG of deep-nesting.eml arrives decoded.
        const deep = FIXTURES.indexOf('deep-nesting.eml') + 1;
        const { content } = await client.download(String(deep), '1.1.2.2');
        const chunks: Buffer[] = [];
        for await (const chunk of content) chunks.push(chunk as Buffer);
        assert.deepEqual(Buffer.concat(chunks), Buffer.from('iVBORw0KGgo=', 'base64'));
      } finally {
        lock.release();
      }
    } finally {
      await client.logout();
    }
  });

  test('Python imaplib: SORT, UID SORT, THREAD, ESEARCH and SEARCHRES', () => {
    const out = python(
      `
import imaplib, ssl, os, json
ctx = ssl.create_default_context(cafile=os.environ['CA'])
m = imaplib.IMAP4_SSL('127.0.0.1', int(os.environ['PORT']), ssl_context=ctx)
m.login('alice@example.com', 'alice-pw')
caps = m.capability()[1][0].decode().split()
m.select('Archive')
r = {}
r['sort'] = m.sort('(REVERSE DATE)', 'UTF-8', 'ALL')[1][0].decode()
r['uidsort'] = m.uid('SORT', '(SUBJECT)', 'UTF-8', 'ALL')[1][0].decode()
r['refs'] = m.thread('REFERENCES', 'UTF-8', 'ALL')[1][0].decode()
r['ordered'] = m.thread('ORDEREDSUBJECT', 'UTF-8', 'ALL')[1][0].decode()
typ, data = m.search(None, 'RETURN', '(COUNT MIN)', 'SUBJECT', 'Topic')
r['esearch'] = m.response('ESEARCH')[1][0].decode()
typ, data = m.search(None, 'RETURN', '(SAVE)', 'SUBJECT', 'Other')
r['save'] = typ
typ, data = m.fetch('$', '(UID)')
r['saved'] = data[0].decode()
r['caps'] = [c for c in caps if c in ('SORT', 'THREAD=REFERENCES', 'THREAD=ORDEREDSUBJECT', 'SEARCHRES', 'BINARY')]
m.logout()
print(json.dumps(r))
`,
      { CA: server.certFile, PORT: server.ports.imaps },
    );
    const r = JSON.parse(out);
    assert.equal(r.sort, '4 3 2 1');
    assert.equal(r.uidsort, '4 1 2 3');
    assert.equal(r.refs, '(1 2 3)(4)');
    assert.equal(r.ordered, '(1 (2)(3))(4)');
    assert.match(r.esearch, /^\(TAG "[A-Z0-9]+"\) MIN 1 COUNT 3$/);
    assert.equal(r.save, 'OK');
    assert.equal(r.saved, '4 (UID 4)');
    assert.deepEqual(r.caps.sort(), ['BINARY', 'SEARCHRES', 'SORT', 'THREAD=ORDEREDSUBJECT', 'THREAD=REFERENCES']);
  });
});
