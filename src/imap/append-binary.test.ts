/**
 * APPEND of binary content (RFC 3516 §4.4): a literal8 is accepted, parts
 * sent with "Content-Transfer-Encoding: binary" or holding NUL are stored
 * base64-encoded (as Dovecot stores them), BINARY[part] gives back exactly
 * the octets sent, and BODY[]/RFC822 never carry a NUL.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { type Client, createHarness } from './harness.test.js';

/** The harness's cmd sends text as UTF-8; a literal8 goes as the octets themselves. */
async function appendRaw(c: Client, tag: string, literal: string, bytes: Buffer): Promise<string> {
  c.conn.take();
  c.conn.send(Buffer.concat([Buffer.from(`${tag} APPEND INBOX ${literal}\r\n`), bytes, Buffer.from('\r\n')]));
  return c.waitTagged(tag);
}

/** imaptest's append-binary message: the part is NUL '-' 0xE4 LF CR LF LF. */
const PART = Buffer.from([0x00, 0x2d, 0xe4, 0x0a, 0x0d, 0x0a, 0x0a]);
const HEAD = [
  'From: user@domain.org',
  'Date: Sat, 24 Mar 2007 23:00:00 +0200',
  'Mime-Version: 1.0',
  'Content-Type: application/octet-stream',
  'Content-Transfer-Encoding: binary',
  '',
  '',
].join('\r\n');
const SENT = Buffer.concat([Buffer.from(HEAD, 'latin1'), PART]);

it('a literal8 with NUL octets is stored; BINARY[1] gives the octets sent, BODY[1] base64 (RFC 3516 §4.4, imaptest append-binary)', async () => {
  const h = await createHarness();
  try {
    const c = await h.open({ login: true });
    assert.match(await appendRaw(c, 'a1', `~{${SENT.length}+}`, SENT), /^a1 OK \[APPENDUID \d+ 1\] /);
    await c.cmd('SELECT INBOX');
    const b64 = PART.toString('base64');
    assert.equal(await c.cmd('FETCH 1 (BODY.PEEK[1])'), `* 1 FETCH (BODY[1] {${b64.length}}\r\n${b64})\r\nt2 OK FETCH completed\r\n`);
    assert.equal(
      await c.cmd('FETCH 1 (BINARY.SIZE[1] BINARY.PEEK[1])'),
      `* 1 FETCH (BINARY.SIZE[1] 7 BINARY[1] ~{7}\r\n${PART.toString('latin1')})\r\nt3 OK FETCH completed\r\n`,
    );
    const whole = await c.cmd('FETCH 1 (RFC822.SIZE BODY.PEEK[] BODYSTRUCTURE)');
    assert.ok(!whole.includes('\0'), 'no NUL in BODY[]');
    const size = Number(/RFC822\.SIZE (\d+)/.exec(whole)![1]);
    assert.match(whole, new RegExp(`BODY\\[\\] \\{${size}\\}\\r\\n`), 'RFC822.SIZE is the size of BODY[]');
    assert.ok(whole.includes('Mime-Version: 1.0\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n'));
    assert.match(whole, /BODYSTRUCTURE \("application" "octet-stream" NIL NIL NIL "base64" 12 /);
  } finally {
    await h.close();
  }
});

it('a large literal8 (streamed to the store) with a binary part is converted too; the text part stays byte for byte', async () => {
  const h = await createHarness();
  try {
    const c = await h.open({ login: true });
    const blob = Buffer.alloc(100_000);
    for (let i = 0; i < blob.length; i++) blob[i] = (i * 7) & 0xff;
    const sent = Buffer.concat([
      Buffer.from('Subject: big\r\nContent-Type: multipart/mixed; boundary="x"\r\n\r\n--x\r\nContent-Type: text/plain\r\n\r\nhello\r\n--x\r\n', 'latin1'),
      Buffer.from('Content-Type: application/octet-stream\r\n\r\n', 'latin1'),
      blob,
      Buffer.from('\r\n--x--\r\n', 'latin1'),
    ]);
    c.conn.take();
    c.conn.send(`b1 APPEND INBOX ~{${sent.length}}\r\n`);
    await c.conn.waitFor(/^\+ /);
    c.conn.take();
    c.conn.send(sent);
    c.conn.send('\r\n');
    assert.match(await c.waitTagged('b1'), /^b1 OK \[APPENDUID \d+ 1\]/);
    await c.cmd('SELECT INBOX');
    const part2 = await c.cmd('FETCH 1 BINARY.PEEK[2]');
    assert.ok(part2.startsWith(`* 1 FETCH (BINARY[2] ~{${blob.length}}\r\n${blob.toString('latin1')})\r\n`));
    assert.equal(await c.cmd('FETCH 1 BODY.PEEK[1]'), '* 1 FETCH (BODY[1] {5}\r\nhello)\r\nt3 OK FETCH completed\r\n');
    assert.ok(!(await c.cmd('FETCH 1 BODY.PEEK[]')).includes('\0'));
  } finally {
    await h.close();
  }
});
