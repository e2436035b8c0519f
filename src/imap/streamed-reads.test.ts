/**
 * Streams, not buffers (issue 11): SEARCH BODY/TEXT, FETCH BINARY of a large
 * part or message and a large binary APPEND never read a message or a part
 * as one Buffer. Every body read of a session goes through the domain
 * (readBody, readBodyRange, openBody), so a domain that records the reads
 * shows it: no whole-message read, and only header-sized ranges read whole.
 * The answers are those of the whole-buffer functions.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MailDomain } from '../domain/mail-domain.js';
import type { BodyRef } from '../domain/message-content.js';
import { binarySection, parseMessage } from '../mail/index.js';
import { ALICE, createHarness, type Client, type Harness } from './harness.test.js';

/** The most a session may read into one Buffer here: a part's header, or a small message whole. */
const HEADER_BOUND = 16 * 1024;
const SMALL_MESSAGE = 1024 * 1024;

class RecordingDomain extends MailDomain {
  wholeReads: number[] = [];
  rangeReads: number[] = [];

  override readBody(m: BodyRef): Promise<Buffer | null> {
    this.wholeReads.push(m.size);
    return super.readBody(m);
  }

  override readBodyRange(m: BodyRef, start: number, end: number): Promise<Buffer | null> {
    this.rangeReads.push(end - start);
    return super.readBodyRange(m, start, end);
  }

  reset(): void {
    this.wholeReads = [];
    this.rangeReads = [];
  }

  assertStreamed(what: string): void {
    assert.deepEqual(this.wholeReads.filter((size) => size > SMALL_MESSAGE), [], `${what}: no large message read whole`);
    const largest = Math.max(0, ...this.rangeReads);
    assert.ok(largest <= HEADER_BOUND, `${what}: a range of ${largest} octets was read whole`);
  }
}

const lines = (n: number, text: string) => Array.from({ length: n }, (_, i) => `${text} ${i}`).join('\r\n');
const BINARY = Buffer.alloc(300_000);
for (let i = 0; i < BINARY.length; i++) BINARY[i] = (i * 13 + (i >> 8)) & 0xff;
const UTF8_TEXT = `${lines(8000, 'some utf-8 text, caf\u00e9')}\r\nthe b64-needle \u00fcber`;

/** About 1.4 MB: a long quoted-printable part, a long base64 text part, an attached message, a long binary part. */
const BIG = Buffer.concat([
  Buffer.from(
    [
      'From: Bob <bob@example.org>',
      'To: alice@example.com',
      'Subject: a big one',
      'Date: Mon, 7 Feb 1994 21:52:25 -0800',
      'Content-Type: multipart/mixed; boundary="=big="',
      '',
      '--=big=',
      'Content-Type: text/plain; charset=iso-8859-1',
      'Content-Transfer-Encoding: quoted-printable',
      '',
      `${lines(12000, 'a quoted-printable line, caf=E9 =3D')}=\r\n the qp-needle`,
      '--=big=',
      'Content-Type: text/plain; charset=utf-8',
      'Content-Transfer-Encoding: base64',
      '',
      Buffer.from(UTF8_TEXT, 'utf8').toString('base64').replace(/.{76}/g, '$&\r\n'),
      '--=big=',
      'Content-Type: message/rfc822',
      '',
      'Subject: the inner-needle',
      '',
      'inner body',
      '--=big=',
      'Content-Type: application/octet-stream',
      'Content-Transfer-Encoding: base64',
      '',
      BINARY.toString('base64').replace(/.{76}/g, '$&\r\n'),
      '--=big=--',
      '',
    ].join('\r\n'),
    'latin1',
  ),
]);

describe('large bodies are read as streams', () => {
  let h: Harness;
  let domain: RecordingDomain;
  let c: Client;
  before(async () => {
    h = await createHarness({ quotaBytes: null });
    domain = new RecordingDomain(h.domain.store, h.domain.bus);
    await h.domain.deliver(ALICE, BIG);
    await h.domain.deliver(ALICE, Buffer.from('Subject: small\r\n\r\nnothing to see\r\n'));
    c = await h.open({ login: true, ctx: { domain, maxMessageBytes: 8 * 1024 * 1024 } });
    await c.cmd('SELECT INBOX');
  });
  after(() => h.close());

  it('SEARCH BODY, TEXT, HEADER and SENTON: the same answers, bodies never read whole', async () => {
    domain.reset();
    const search = async (keys: string) => /\* SEARCH([\d ]*)\r\n/.exec(await c.cmd(`SEARCH ${keys}`))![1]!.trim();
    assert.equal(await search('BODY qp-needle'), '1');
    assert.equal(await search('BODY B64-NEEDLE'), '1');
    assert.equal(await search('BODY inner-needle'), '', 'BODY does not look in attached headers');
    assert.equal(await search('TEXT inner-needle'), '1');
    assert.equal(await search('TEXT "a big one"'), '1');
    assert.equal(await search('BODY "nothing to"'), '2');
    assert.equal(await search('BODY absent-word'), '');
    assert.equal(await search('HEADER Subject big'), '1');
    assert.equal(await search('SENTON 7-Feb-1994'), '1');
    domain.assertStreamed('SEARCH');
  });

  it('BINARY[], BINARY[part], partials and BINARY.SIZE: the octets binarySection gives, decoded as streams', async () => {
    const s = parseMessage(BIG);
    const decoded = (part: number) => {
      const r = binarySection(BIG, s, [part]);
      assert.ok(r.kind === 'ok');
      return r.data;
    };
    domain.reset();
    const sizes = await c.cmd('FETCH 1 (BINARY.SIZE[1] BINARY.SIZE[2] BINARY.SIZE[4])');
    assert.match(sizes, new RegExp(`BINARY.SIZE\\[1\\] ${decoded(1).length} BINARY.SIZE\\[2\\] ${decoded(2).length} BINARY.SIZE\\[4\\] ${BINARY.length}\\)`));
    const bin = await c.cmd('FETCH 1 (BINARY.PEEK[4] BINARY.PEEK[4]<1000.5000>)');
    assert.ok(bin.startsWith(`* 1 FETCH (BINARY[4] ~{${BINARY.length}}\r\n${BINARY.toString('latin1')} BINARY[4]<1000> ~{5000}\r\n${BINARY.subarray(1000, 6000).toString('latin1')})`));
    const text = await c.cmd('FETCH 1 (BINARY.PEEK[2] BINARY.PEEK[1]<150000.100>)');
    assert.ok(text.startsWith(`* 1 FETCH (BINARY[2] {${decoded(2).length}}\r\n${decoded(2).toString('latin1')} BINARY[1]<150000> {100}\r\n`), text.slice(0, 200));
    assert.ok(text.includes(decoded(1).subarray(150000, 150100).toString('latin1')));
    const whole = await c.cmd('FETCH 1 (BINARY.PEEK[] BINARY.PEEK[]<10.20>)');
    assert.ok(whole.startsWith(`* 1 FETCH (BINARY[] {${BIG.length}}\r\n${BIG.toString('latin1')} BINARY[]<10> {20}\r\n${BIG.subarray(10, 30).toString('latin1')})`));
    assert.match(await c.cmd('FETCH 1 BINARY.PEEK[4]<400000.10>'), /^\* 1 FETCH \(BINARY\[4\]<400000> \{0\}\r\n\)\r\nt\d+ OK FETCH completed\r\n$/);
    domain.assertStreamed('FETCH BINARY');
  });

  it('a large literal8 with a binary part: re-encoded as a stream, the octets sent come back from BINARY', async () => {
    const sent = Buffer.concat([
      Buffer.from('Subject: sent big\r\nContent-Type: multipart/mixed; boundary="x"\r\n\r\n--x\r\nContent-Type: text/plain\r\n\r\nhello\r\n--x\r\n', 'latin1'),
      Buffer.from('Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n', 'latin1'),
      BINARY,
      Buffer.from('\r\n--x--\r\n', 'latin1'),
    ]);
    domain.reset();
    c.conn.take();
    c.conn.send(`b1 APPEND INBOX ~{${sent.length}}\r\n`);
    await c.conn.waitFor(/^\+ /);
    c.conn.take();
    c.conn.send(sent);
    c.conn.send('\r\n');
    assert.match(await c.waitTagged('b1'), /(^|\r\n)b1 OK \[APPENDUID \d+ 3\]/);
    domain.assertStreamed('binary APPEND');
    await c.cmd('NOOP');
    const part = await c.cmd('UID FETCH 3 (BINARY.PEEK[2] BODY.PEEK[2.MIME])');
    assert.ok(part.includes(`BINARY[2] ~{${BINARY.length}}\r\n${BINARY.toString('latin1')}`));
    assert.ok(part.includes('Content-Transfer-Encoding: base64\r\n\r\n'));
  });
});
