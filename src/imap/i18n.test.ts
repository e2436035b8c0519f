/**
 * I18NLEVEL=1 (RFC 5255 §4): SEARCH and SORT under i;unicode-casemap (RFC 5051);
 * SEARCH CHARSET for every charset iconv-lite knows, BADCHARSET for the rest.
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import iconv from 'iconv-lite';
import { ALICE, type Client, createHarness, type Harness, message } from './harness.test.js';

let h: Harness;
before(async () => {
  h = await createHarness();
  // 1: b, 2: Á (encoded word), 3: a, 4: c, 5: Cyrillic and Japanese body, 6: the digraph dž.
  await h.domain.deliver(ALICE, message({ subject: 'b' }));
  await h.domain.deliver(ALICE, message({ subject: '=?UTF-8?Q?=C3=81?=' }));
  await h.domain.deliver(ALICE, message({ subject: 'a' }));
  await h.domain.deliver(ALICE, message({ subject: 'c' }));
  await h.domain.deliver(ALICE, message({ subject: 'mixed', body: 'Привет, 日本語のテキスト' }));
  await h.domain.deliver(ALICE, message({ subject: '=?UTF-8?Q?=C7=86ungla?=' }));
});
after(() => h.close());

/** A non-synchronising literal of `bytes`. */
const literal = (bytes: Buffer) => Buffer.concat([Buffer.from(`{${bytes.length}+}\r\n`), bytes]);

let n = 0;
/** Sends one command of text and bytes as they are (the harness client sends text as UTF-8). */
async function send(c: Client, ...parts: Array<string | Buffer>): Promise<string> {
  const tag = `r${++n}`;
  c.conn.take();
  c.conn.send(Buffer.concat([Buffer.from(`${tag} `), ...parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : p)), Buffer.from('\r\n')]));
  return c.waitTagged(tag);
}

it('announces I18NLEVEL=1; SORT orders by titlecase and decomposition: a < Á < b < c', async () => {
  const c = await h.open({ login: true });
  assert.match(await c.cmd('CAPABILITY'), / I18NLEVEL=1[ \r]/);
  await c.cmd('SELECT INBOX');
  // Upper-casing alone put "Á" (U+00C1) after "C"; decomposed it is "A" + U+0301, just after "A".
  assert.match(await c.cmd('SORT (SUBJECT) UTF-8 1:4'), /^\* SORT 3 2 1 4\r\n/);
  assert.match(await c.cmd('SORT (REVERSE SUBJECT) UTF-8 1:4'), /^\* SORT 4 1 2 3\r\n/);
});

it('SEARCH matches under i;unicode-casemap: case, precomposed or not, titlecase digraphs', async () => {
  const c = await h.open({ login: true });
  await c.cmd('SELECT INBOX');
  const search = async (key: string, text: string) =>
    /^\* SEARCH([^\r]*)\r\n/.exec(await send(c, `SEARCH CHARSET UTF-8 ${key} `, literal(Buffer.from(text))))?.[1];
  assert.equal(await search('SUBJECT', 'á'), ' 2');
  assert.equal(await search('SUBJECT', 'a\u0301'), ' 2');
  assert.equal(await search('SUBJECT', 'Ǆ'), ' 6');
  assert.equal(await search('BODY', 'пРИВЕТ'), ' 5');
  assert.equal(await search('TEXT', 'ПРИВЕТ'), ' 5');
});

it('SEARCH CHARSET decodes the strings from any charset iconv-lite knows', async () => {
  const c = await h.open({ login: true });
  await c.cmd('SELECT INBOX');
  const search = async (charset: string, key: string, text: string) =>
    /^\* SEARCH([^\r]*)\r\n/.exec(await send(c, `SEARCH CHARSET ${charset} ${key} `, literal(iconv.encode(text, charset))))?.[1];
  assert.equal(await search('ISO-8859-1', 'SUBJECT', 'á'), ' 2');
  assert.equal(await search('windows-1252', 'SUBJECT', 'Á'), ' 2');
  assert.equal(await search('KOI8-R', 'BODY', 'привет'), ' 5');
  assert.equal(await search('WINDOWS-1251', 'BODY', 'Привет'), ' 5');
  assert.equal(await search('Shift_JIS', 'BODY', '日本語'), ' 5');
  assert.equal(await search('GB18030', 'BODY', '日本'), ' 5');
  assert.equal(await search('EUC-KR', 'BODY', '日本'), ' 5');
  // The same bytes read as UTF-8 are not the same text.
  assert.equal(await search('KOI8-R', 'BODY', 'nothing'), '');
  // SORT and THREAD take the charset too.
  assert.match(await send(c, 'SORT (SUBJECT) ISO-8859-1 SUBJECT ', literal(iconv.encode('Á', 'latin1'))), /^\* SORT 2\r\n/);
  assert.match(await send(c, 'THREAD REFERENCES KOI8-R BODY ', literal(iconv.encode('привет', 'koi8-r'))), /^\* THREAD \(5\)\r\n/);
});

it('an unknown charset is refused with NO [BADCHARSET (...)] naming the usual ones', async () => {
  const c = await h.open({ login: true });
  await c.cmd('SELECT INBOX');
  const r = await c.cmd('SEARCH CHARSET X-NO-SUCH SUBJECT a');
  assert.match(r, /^t\d+ NO \[BADCHARSET \(UTF-8 US-ASCII ISO-8859-1 [^)]*KOI8-R [^)]*SHIFT_JIS [^)]*GB18030 [^)]*\)\] /);
  assert.match(await c.cmd('SORT (SUBJECT) X-NO-SUCH ALL'), /^t\d+ NO \[BADCHARSET /);
  // Transfer encodings iconv-lite also knows are not charsets.
  assert.match(await c.cmd('SEARCH CHARSET base64 SUBJECT a'), /^t\d+ NO \[BADCHARSET /);
});
