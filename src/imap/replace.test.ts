/** REPLACE and UID REPLACE (RFC 8508), following the examples of its §4. */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { ALICE, createHarness, message } from './harness.test.js';

const draft = (n: number) => message({ subject: `draft ${n}`, body: `version ${n}` });
const lit = (m: Buffer) => `{${m.length}+}\r\n${m.toString('latin1')}`;

it('REPLACE appends to the same mailbox, then expunges the old message; APPENDUID comes untagged first (RFC 8508 §4.1)', async () => {
  const h = await createHarness();
  try {
    const c = await h.open({ login: true });
    for (const n of [1, 2, 3, 4]) await c.cmd(`APPEND Drafts ${lit(draft(n))}`);
    await c.cmd('SELECT Drafts');
    const r = await c.cmd(`REPLACE 4 Drafts (\\Seen \\Draft) ${lit(draft(5))}`);
    assert.match(r, /^\* OK \[APPENDUID (\d+) 5\] Replacement message ready\r\n\* 5 EXISTS\r\n\* 5 RECENT\r\n\* 4 EXPUNGE\r\nt\d+ OK REPLACE completed\r\n$/);
    assert.match(await c.cmd('UID FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])'), /\* 4 FETCH \(UID 5 FLAGS \(\\Recent \\Seen \\Draft\) BODY\[HEADER\.FIELDS \(SUBJECT\)\] \{20\}\r\nSubject: draft 5\r\n\r\n\)\r\nt/);
    assert.match(await c.cmd('STATUS Drafts (MESSAGES)'), /\(MESSAGES 4\)/);
  } finally {
    await h.close();
  }
});

it('UID REPLACE into another mailbox; with QRESYNC the old one is reported VANISHED (RFC 8508 §4.2, §3.4)', async () => {
  const h = await createHarness();
  try {
    const c = await h.open({ login: true });
    await c.cmd(`APPEND Drafts ${lit(draft(1))} ${lit(draft(2))}`);
    await c.cmd('ENABLE QRESYNC');
    await c.cmd('SELECT Drafts');
    const r = await c.cmd(`UID REPLACE 2 Archive ${lit(draft(3))}`);
    assert.match(r, /^\* OK \[APPENDUID \d+ 1\] Replacement message ready\r\n\* VANISHED 2\r\nt\d+ OK \[HIGHESTMODSEQ \d+\] REPLACE completed\r\n$/);
    assert.match(await c.cmd('STATUS Archive (MESSAGES)'), /\(MESSAGES 1\)/);
  } finally {
    await h.close();
  }
});

it('REPLACE leaves the old message when the append fails, and refuses what cannot be expunged', async () => {
  const h = await createHarness();
  try {
    await h.domain.deliver(ALICE, draft(1));
    const c = await h.open({ login: true });
    await c.cmd('SELECT INBOX');
    assert.match(await c.cmd(`REPLACE 1 Nowhere ${lit(draft(2))}`), /^t\d+ NO \[TRYCREATE\] /);
    assert.match(await c.cmd(`REPLACE 2 INBOX ${lit(draft(2))}`), /^t\d+ BAD /);
    assert.match(await c.cmd(`UID REPLACE 9 INBOX ${lit(draft(2))}`), /^t\d+ NO /);
    assert.match(await c.cmd('STATUS INBOX (MESSAGES)'), /\(MESSAGES 1\)/);
    await c.cmd('EXAMINE INBOX');
    assert.match(await c.cmd(`REPLACE 1 INBOX ${lit(draft(2))}`), /^t\d+ NO \[CANNOT\] /);
    await c.cmd('UNSELECT');
    assert.match(await c.cmd(`REPLACE 1 INBOX ${lit(draft(2))}`), /^t\d+ BAD /);
    assert.match(await c.cmd('STATUS INBOX (MESSAGES)'), /\(MESSAGES 1\)/);
  } finally {
    await h.close();
  }
});

it('a large REPLACE literal gets the message-size limit and streams into the store, as APPEND does', async () => {
  const h = await createHarness();
  try {
    const c = await h.open({ login: true });
    await c.cmd(`APPEND Drafts ${lit(draft(1))}`);
    await c.cmd('SELECT Drafts');
    const big = message({ subject: 'big draft', body: 'z'.repeat(200_000) });
    assert.match(await c.cmd(`UID REPLACE 1 Drafts ${lit(big)}`), /\* OK \[APPENDUID \d+ 2\][^]*\* 1 EXPUNGE\r\nt\d+ OK REPLACE completed\r\n$/);
    assert.match(await c.cmd('FETCH 1 (UID RFC822.SIZE)'), new RegExp(`UID 2 RFC822\\.SIZE ${big.length}\\)`));
  } finally {
    await h.close();
  }
});
