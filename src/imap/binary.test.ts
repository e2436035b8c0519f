import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ALICE, createHarness, type Harness } from './harness.test.js';

/** The fake connection shows bytes as latin1: "café" in UTF-8 reads "cafÃ©". */
const CAFE = Buffer.from('café ok', 'utf8').toString('latin1');

const crlf = (lines: string[]) => Buffer.from(lines.join('\r\n'), 'utf8');

/** A multipart with a base64 part holding a NUL, a quoted-printable part and a part in an unknown encoding. */
const BINARY_MAIL = crlf([
  'From: a@example.org',
  'Subject: binary',
  'Content-Type: multipart/mixed; boundary="b"',
  '',
  '--b',
  'Content-Type: text/plain; charset=utf-8',
  'Content-Transfer-Encoding: quoted-printable',
  '',
  'caf=C3=A9 =',
  'ok',
  '--b',
  'Content-Type: application/octet-stream',
  'Content-Transfer-Encoding: base64',
  '',
  Buffer.from([0x41, 0x00, 0x42, 0xff]).toString('base64'),
  '--b',
  'Content-Type: application/x-thing',
  'Content-Transfer-Encoding: x-uuencode',
  '',
  'begin 644 x',
  '--b--',
  '',
]);

describe('FETCH BINARY (RFC 3516), PREVIEW, EMAILID, SAVEDATE', () => {
  let h: Harness;
  before(async () => {
    h = await createHarness();
    await h.domain.deliver(ALICE, BINARY_MAIL);
  });
  after(() => h.close());

  it('decodes quoted-printable and base64; literal8 only for data with NUL', async () => {
    const c = await h.open({ login: true });
    await c.cmd('SELECT INBOX');
    assert.equal(await c.cmd('FETCH 1 BINARY.PEEK[1]'), `* 1 FETCH (BINARY[1] {8}\r\n${CAFE})\r\nt2 OK FETCH completed\r\n`);
    assert.equal(
      await c.cmd('FETCH 1 (BINARY.SIZE[1] BINARY.SIZE[2])'),
      '* 1 FETCH (BINARY.SIZE[1] 8 BINARY.SIZE[2] 4)\r\nt3 OK FETCH completed\r\n',
    );
    const bin = await c.cmd('FETCH 1 BINARY.PEEK[2]');
    assert.equal(bin, '* 1 FETCH (BINARY[2] ~{4}\r\nA\u0000B\ufffd)\r\nt4 OK FETCH completed\r\n'.replace('\ufffd', '\xff'));
    assert.equal(await c.cmd('FETCH 1 BINARY.PEEK[2]<1.2>'), '* 1 FETCH (BINARY[2]<1> ~{2}\r\n\u0000B)\r\nt5 OK FETCH completed\r\n');
    assert.equal(await c.cmd('FETCH 1 BINARY.PEEK[1]<5.100>'), '* 1 FETCH (BINARY[1]<5> {3}\r\n ok)\r\nt6 OK FETCH completed\r\n');
    assert.match(await c.cmd('FETCH 1 BINARY.PEEK[3]'), /^t7 NO \[UNKNOWN-CTE\] /);
    assert.equal(await c.cmd('FETCH 1 BINARY.PEEK[9]'), '* 1 FETCH (BINARY[9] NIL)\r\nt8 OK FETCH completed\r\n');
    // BINARY without PEEK sets \Seen.
    assert.match(await c.cmd('FETCH 1 BINARY[1]'), /^\* 1 FETCH \(BINARY\[1\] \{8\}\r\ncafÃ© ok FLAGS \(\\Recent \\Seen\)\)\r\n/);
  });

  it('PREVIEW, EMAILID, THREADID and SAVEDATE', async () => {
    const c = await h.open({ login: true });
    await c.cmd('SELECT INBOX');
    const r = await c.cmd('FETCH 1 (PREVIEW EMAILID THREADID SAVEDATE)');
    assert.match(r, /^\* 1 FETCH \(PREVIEW \{8\}\r\ncafÃ© ok EMAILID \((M[0-9a-f]{24})\) THREADID NIL SAVEDATE "\d\d-[A-Z][a-z]{2}-\d{4} [0-9:]{8} [+-]\d{4}"\)\r\n/);
    assert.match(await c.cmd('FETCH 1 (PREVIEW (LAZY))'), /^\* 1 FETCH \(PREVIEW \{8\}\r\ncafÃ© ok\)/);
    // With UTF8=ACCEPT the preview is a quoted UTF-8 string.
    await c.cmd('ENABLE UTF8=ACCEPT');
    assert.match(await c.cmd('FETCH 1 PREVIEW'), /^\* 1 FETCH \(PREVIEW "cafÃ© ok"\)/);
    const emailId = /EMAILID \((M[0-9a-f]+)\)/.exec(r)![1];
    // RFC 8474: COPY and MOVE keep EMAILID.
    await c.cmd('COPY 1 Archive');
    await c.cmd('SELECT Archive');
    assert.match(await c.cmd('FETCH 1 EMAILID'), new RegExp(`EMAILID \\(${emailId}\\)`));
    await c.cmd('MOVE 1 Trash');
    await c.cmd('SELECT Trash');
    assert.match(await c.cmd('FETCH 1 EMAILID'), new RegExp(`EMAILID \\(${emailId}\\)`));
    assert.match(await c.cmd(`UID SEARCH EMAILID ${emailId}`), /^\* SEARCH 1\r\nt\d+ OK /);
    assert.match(await c.cmd('UID SEARCH EMAILID Mnope'), /^\* SEARCH\r\nt\d+ OK /);
  });
});

describe('FETCH BINARY of a part with a hostile Content-Transfer-Encoding', () => {
  it('the NO [UNKNOWN-CTE] reply echoes only a short printable prefix of the value', async () => {
    const h = await createHarness();
    try {
      const cte = `x-${'A'.repeat(5000)}`;
      await h.domain.deliver(ALICE, crlf(['From: a@example.org', `Content-Transfer-Encoding: ${cte}`, '', 'body', '']));
      const c = await h.open({ login: true });
      await c.cmd('SELECT INBOX');
      const reply = await c.cmd('FETCH 1 BINARY.PEEK[1]');
      assert.match(reply, /^t2 NO \[UNKNOWN-CTE\] Unknown Content-Transfer-Encoding "x-a{38}\.\.\." in message 1\r\n$/);
    } finally {
      await h.close();
    }
  });
});
