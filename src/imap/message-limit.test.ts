/** MESSAGELIMIT (RFC 9738): at most <n> messages per command, the highest UIDs first; COPY is all or nothing. */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { ALICE, createHarness, type Harness, message } from './harness.test.js';

let h: Harness;
before(async () => {
  h = await createHarness();
  for (let i = 1; i <= 5; i++) await h.domain.deliver(ALICE, message({ subject: `m${i}` }));
});
after(() => h.close());

const open = async () => {
  const c = await h.open({ login: true, ctx: { messageLimit: 2 } });
  await c.cmd('SELECT INBOX');
  return c;
};

it('announces MESSAGELIMIT=<n>; the default is high', async () => {
  const c = await open();
  assert.match(await c.cmd('CAPABILITY'), /\* CAPABILITY [^\r]* MESSAGELIMIT=2[ \r]/);
  const d = await h.open({ login: true });
  assert.match(await d.cmd('CAPABILITY'), / MESSAGELIMIT=1000000[ \r]/);
  // Under the default nothing changes.
  await d.cmd('SELECT INBOX');
  assert.match(await d.cmd('UID FETCH 1:* (UID)'), /\* 5 FETCH \(UID 5\)\r\nt\d+ OK FETCH completed\r\n$/);
});

it('FETCH processes the highest UIDs and names the lowest one processed; the client continues below it', async () => {
  const c = await open();
  assert.match(await c.cmd('UID FETCH 1:* (UID)'), /^\* 4 FETCH \(UID 4\)\r\n\* 5 FETCH \(UID 5\)\r\nt\d+ OK \[MESSAGELIMIT 2 4\] /);
  assert.match(await c.cmd('UID FETCH 1:3 (UID)'), /^\* 2 FETCH \(UID 2\)\r\n\* 3 FETCH \(UID 3\)\r\nt\d+ OK \[MESSAGELIMIT 2 2\] /);
  assert.match(await c.cmd('UID FETCH 1 (UID)'), /^\* 1 FETCH \(UID 1\)\r\nt\d+ OK FETCH completed\r\n$/);
  // With sequence numbers too.
  assert.match(await c.cmd('FETCH 1:5 (UID)'), /^\* 4 FETCH \(UID 4\)\r\n\* 5 FETCH \(UID 5\)\r\nt\d+ OK \[MESSAGELIMIT 2 4\] /);
});

it('SEARCH examines at most <n> messages of those its UID or sequence keys name', async () => {
  const c = await open();
  assert.match(await c.cmd('UID SEARCH ALL'), /^\* SEARCH 4 5\r\nt\d+ OK \[MESSAGELIMIT 2 4\] /);
  assert.match(await c.cmd('UID SEARCH UID 1:3 ALL'), /^\* SEARCH 2 3\r\nt\d+ OK \[MESSAGELIMIT 2 2\] /);
  assert.match(await c.cmd('UID SEARCH UID 1:3 SUBJECT m1'), /^\* SEARCH\r\nt\d+ OK \[MESSAGELIMIT 2 2\] /);
  assert.match(await c.cmd('UID SEARCH UID 1 SUBJECT m1'), /^\* SEARCH 1\r\nt\d+ OK SEARCH completed\r\n$/);
  assert.match(await c.cmd('SEARCH RETURN (COUNT) 2:5'), /^\* ESEARCH \(TAG "t\d+"\) COUNT 2\r\nt\d+ OK \[MESSAGELIMIT 2 4\] /);
});

it('STORE, MOVE and UID EXPUNGE change the highest UIDs only; COPY over the limit stores nothing', async () => {
  const c = await open();
  assert.match(await c.cmd('UID STORE 1:* +FLAGS (\\Flagged)'), /^\* 4 FETCH \(UID 4 FLAGS \(\\Flagged\)\)\r\n\* 5 FETCH \(UID 5 FLAGS \(\\Flagged\)\)\r\nt\d+ OK \[MESSAGELIMIT 2 4\] /);
  assert.match(await c.cmd('COPY 1:5 Archive'), /^t\d+ NO \[MESSAGELIMIT 2\] /);
  assert.match(await c.cmd('STATUS Archive (MESSAGES)'), /MESSAGES 0\)/);
  assert.match(await c.cmd('COPY 1:2 Archive'), /^t\d+ OK \[COPYUID /);
  const moved = await c.cmd('UID MOVE 1:* Archive');
  assert.match(moved, /^\* OK \[COPYUID \d+ 4:5 \d+:\d+\] [^\r]*\r\n\* 5 EXPUNGE\r\n\* 4 EXPUNGE\r\nt\d+ OK \[MESSAGELIMIT 2 4\] /);
  assert.match(await c.cmd('UID STORE 1:3 +FLAGS.SILENT (\\Deleted)'), /^t\d+ OK \[MESSAGELIMIT 2 2\] /);
  await c.cmd('UID STORE 1 +FLAGS.SILENT (\\Deleted)');
  assert.match(await c.cmd('UID EXPUNGE 1:3'), /^\* 3 EXPUNGE\r\n\* 2 EXPUNGE\r\nt\d+ OK \[MESSAGELIMIT 2 2\] /);
  assert.match(await c.cmd('UID EXPUNGE 1:3'), /^\* 1 EXPUNGE\r\nt\d+ OK EXPUNGE completed\r\n$/);
});
