/** ESORT (RFC 5267 §3.2) with PARTIAL (RFC 9394): SORT RETURN (...) answers in an ESEARCH response. */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { ALICE, createHarness, type Harness, message } from './harness.test.js';

let h: Harness;
before(async () => {
  h = await createHarness();
  // Subjects sort c, a, e, b, d: sorted by SUBJECT the order is 2 4 1 5 3.
  for (const s of ['c', 'a', 'e', 'b', 'd']) await h.domain.deliver(ALICE, message({ subject: s }));
});
after(() => h.close());

it('MIN, MAX, ALL and COUNT of a SORT (imaptest esort), in sort order', async () => {
  const c = await h.open({ login: true });
  await c.cmd('SELECT INBOX');
  const esearch = async (args: string) => /\* ESEARCH \(TAG "t\d+"\)([^\r]*)\r\nt\d+ OK /.exec(await c.cmd(args))?.[1];
  assert.equal(await esearch('SORT RETURN (MIN) (ARRIVAL) US-ASCII 1:5'), ' MIN 1');
  assert.equal(await esearch('SORT RETURN (MAX) (ARRIVAL) US-ASCII 1:5'), ' MAX 5');
  assert.equal(await esearch('SORT RETURN (ALL) (ARRIVAL) US-ASCII 1:5'), ' ALL 1:5');
  assert.equal(await esearch('SORT RETURN (COUNT) (ARRIVAL) US-ASCII 1:5'), ' COUNT 5');
  assert.equal(await esearch('SORT RETURN () (SUBJECT) UTF-8 ALL'), ' ALL 2,4,1,5,3');
  assert.equal(await esearch('SORT RETURN (MIN MAX COUNT) (SUBJECT) UTF-8 ALL'), ' MIN 2 MAX 3 COUNT 5');
  assert.equal(await esearch('UID SORT RETURN (ALL) (REVERSE SUBJECT) UTF-8 2:4'), ' UID ALL 3:4,2');
  assert.equal(await esearch('SORT RETURN (COUNT) (ARRIVAL) UTF-8 SUBJECT nothing'), ' COUNT 0');
  // Without RETURN the answer stays a SORT response.
  assert.match(await c.cmd('SORT (SUBJECT) UTF-8 ALL'), /^\* SORT 2 4 1 5 3\r\n/);
});

it('PARTIAL pages the sorted result; SAVE keeps it for $', async () => {
  const c = await h.open({ login: true });
  await c.cmd('SELECT INBOX');
  assert.match(await c.cmd('SORT RETURN (PARTIAL 2:3) (SUBJECT) UTF-8 ALL'), /\* ESEARCH \(TAG "t\d+"\) PARTIAL \(2:3 4,1\)\r\n/);
  assert.match(await c.cmd('SORT RETURN (PARTIAL -1:-2) (SUBJECT) UTF-8 ALL'), /\* ESEARCH \(TAG "t\d+"\) PARTIAL \(-1:-2 5,3\)\r\n/);
  assert.match(await c.cmd('SORT RETURN (PARTIAL 1:6) (ARRIVAL) UTF-8 ALL'), /PARTIAL \(1:6 1:5\)/);
  assert.match(await c.cmd('SORT RETURN (PARTIAL 6:9) (ARRIVAL) UTF-8 ALL'), /PARTIAL \(6:9 NIL\)/);
  assert.match(await c.cmd('SORT RETURN (ALL PARTIAL 1:2) (ARRIVAL) UTF-8 ALL'), /^t\d+ BAD /);
  assert.match(await c.cmd('SORT RETURN (PARTIAL 1) (ARRIVAL) UTF-8 ALL'), /^t\d+ BAD /);
  assert.match(await c.cmd('SORT RETURN (FOO) (ARRIVAL) UTF-8 ALL'), /^t\d+ BAD /);
  assert.match(await c.cmd('SORT RETURN (SAVE) (SUBJECT) UTF-8 SUBJECT a'), /^t\d+ OK /);
  assert.match(await c.cmd('FETCH $ (UID)'), /^\* 2 FETCH \(UID 2\)\r\nt\d+ OK /);
});
