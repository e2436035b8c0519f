/** CONTEXT=SEARCH / CONTEXT=SORT (RFC 5267 §4): live ADDTO/REMOVEFROM updates; imaptest's search-context-update 1-3. */
import assert from 'node:assert/strict';
import { after, before, beforeEach, it } from 'node:test';
import { ALICE, createHarness, type Harness, message } from './harness.test.js';
import { MAX_CONTEXTS } from './search-context.js';

let h: Harness;
before(async () => {
  h = await createHarness();
});
after(() => h.close());

/** A fresh mailbox per test, with messages whose subjects are given. */
let box = 0;
let name = '';
beforeEach(async () => {
  name = `ctx${++box}`;
  const c = await h.open({ login: true });
  await c.cmd(`CREATE ${name}`);
  for (const s of ['s1', 's2', 's3', 's4', 's5']) {
    const m = message({ subject: s, body: 'body text' });
    await c.cmd(`APPEND ${name} {${m.length}+}\r\n${m.toString('latin1')}`);
  }
});

const tagOf = (r: string) => /\* ESEARCH \(TAG "(t\d+)"\)/.exec(r)![1];

it('search-context-update: ADDTO on \\Seen, REMOVEFROM on -\\Seen and before EXPUNGE, ADDTO after EXISTS; CANCELUPDATE stops it', async () => {
  const c = await h.open({ login: true });
  await c.cmd(`SELECT ${name}`);
  const r = await c.cmd('SEARCH RETURN (UPDATE) BODY body SEEN');
  assert.match(r, /^\* ESEARCH \(TAG "t\d+"\)\r\nt\d+ OK /);
  const tag = tagOf(r);
  assert.match(await c.cmd('STORE 1,2,4 +FLAGS (\\Seen)'), new RegExp(`\\* ESEARCH \\(TAG "${tag}"\\) ADDTO \\(0 1:2,4\\)\\r\\nt\\d+ OK `));
  assert.match(await c.cmd('STORE 1,2 -FLAGS (\\Seen)'), new RegExp(`\\* ESEARCH \\(TAG "${tag}"\\) REMOVEFROM \\(0 1:2\\)\\r\\nt\\d+ OK `));
  await c.cmd('STORE 3:5 +FLAGS.SILENT (\\Deleted)');
  // Numbered as before the expunge, and sent before it.
  assert.match(
    await c.cmd('EXPUNGE'),
    new RegExp(`^\\* ESEARCH \\(TAG "${tag}"\\) REMOVEFROM \\(0 4\\)\\r\\n\\* 5 EXPUNGE\\r\\n\\* 4 EXPUNGE\\r\\n\\* 3 EXPUNGE\\r\\nt\\d+ OK `),
  );
  const m = message({ subject: 'new', body: 'body' });
  assert.match(
    await c.cmd(`APPEND ${name} (\\Seen) {${m.length}+}\r\n${m.toString('latin1')}`),
    new RegExp(`\\* 3 EXISTS\\r\\n(?:\\* \\d+ RECENT\\r\\n)?\\* ESEARCH \\(TAG "${tag}"\\) ADDTO \\(0 3\\)\\r\\nt\\d+ OK `),
  );
  assert.match(await c.cmd(`CANCELUPDATE "${tag}"`), /^t\d+ OK /);
  assert.doesNotMatch(await c.cmd('STORE 1 +FLAGS (\\Seen)'), /ESEARCH/);
  assert.match(await c.cmd(`CANCELUPDATE "${tag}"`), /^t\d+ BAD /);
});

it('search-context-update2/3: with ALL first, and by UID; changes of another session arrive too', async () => {
  const c = await h.open({ login: true });
  await c.cmd(`SELECT ${name}`);
  await c.cmd('STORE 1,2 +FLAGS.SILENT (\\Seen)');
  const r = await c.cmd('UID SEARCH RETURN (UPDATE ALL) OR SEEN SUBJECT s33');
  assert.match(r, /^\* ESEARCH \(TAG "t\d+"\) UID ALL 1:2\r\n/);
  const tag = tagOf(r);
  assert.match(await c.cmd('STORE 3:5 +FLAGS.SILENT (\\Seen)'), new RegExp(`ESEARCH \\(TAG "${tag}"\\) UID ADDTO \\(0 3:5\\)`));
  assert.match(await c.cmd('STORE 1:5 -FLAGS.SILENT (\\Seen)'), new RegExp(`ESEARCH \\(TAG "${tag}"\\) UID REMOVEFROM \\(0 1:5\\)`));

  const other = await h.open({ login: true });
  await other.cmd(`SELECT ${name}`);
  await other.cmd('UID STORE 3,4 +FLAGS.SILENT (\\Seen)');
  assert.match(await c.cmd('NOOP'), new RegExp(`^\\* 3 FETCH [^\\r]*\\r\\n\\* 4 FETCH [^\\r]*\\r\\n\\* ESEARCH \\(TAG "${tag}"\\) UID ADDTO \\(0 3:4\\)\\r\\n`));
  await other.cmd('UID STORE 3 +FLAGS.SILENT (\\Deleted)');
  await other.cmd('UID EXPUNGE 3');
  assert.match(await c.cmd('NOOP'), new RegExp(`^\\* ESEARCH \\(TAG "${tag}"\\) UID REMOVEFROM \\(0 3\\)\\r\\n\\* 3 EXPUNGE\\r\\n`));
});

it('SORT RETURN (UPDATE): (position uid) pairs keep the sorted result in order', async () => {
  const c = await h.open({ login: true });
  await c.cmd(`SELECT ${name}`);
  await c.cmd('STORE 2,4 +FLAGS.SILENT (\\Flagged)');
  const r = await c.cmd('UID SORT RETURN (UPDATE ALL) (REVERSE SUBJECT) UTF-8 FLAGGED');
  assert.match(r, /^\* ESEARCH \(TAG "t\d+"\) UID ALL 4,2\r\n/);
  const tag = tagOf(r);
  // s5 goes first, s3 between s4 and s2: the sorted result becomes 5,4,3,2.
  assert.match(await c.cmd('UID STORE 3,5 +FLAGS.SILENT (\\Flagged)'), new RegExp(`ESEARCH \\(TAG "${tag}"\\) UID ADDTO \\(1 5\\) ADDTO \\(3 3\\)\\r\\n`));
  // Removing s4 and s2 (positions 2 and 4): the last position first.
  assert.match(await c.cmd('UID STORE 2,4 -FLAGS.SILENT (\\Flagged)'), new RegExp(`ESEARCH \\(TAG "${tag}"\\) UID REMOVEFROM \\(4 2\\) REMOVEFROM \\(2 4\\)\\r\\n`));
  // A new message sorts in at its place (after EXISTS); an expunged one leaves before its EXPUNGE.
  const m = message({ subject: 's0' });
  assert.match(
    await c.cmd(`APPEND ${name} (\\Flagged) {${m.length}+}\r\n${m.toString('latin1')}`),
    new RegExp(`\\* 6 EXISTS\\r\\n(?:\\* \\d+ RECENT\\r\\n)?\\* ESEARCH \\(TAG "${tag}"\\) UID ADDTO \\(3 6\\)\\r\\n`),
  );
  await c.cmd('UID STORE 5 +FLAGS.SILENT (\\Deleted)');
  assert.match(await c.cmd('UID EXPUNGE 5'), new RegExp(`^\\* ESEARCH \\(TAG "${tag}"\\) UID REMOVEFROM \\(1 5\\)\\r\\n\\* 5 EXPUNGE\\r\\n`));
  // RETURN (CONTEXT) alone is a hint: the result is returned as ALL.
  assert.match(await c.cmd('SORT RETURN (CONTEXT) (SUBJECT) UTF-8 FLAGGED'), /^\* ESEARCH \(TAG "t\d+"\) ALL 5,3\r\n/);
});

it(`at most ${MAX_CONTEXTS} contexts: one more is answered with NO [NOUPDATE]; a duplicate tag is refused; SELECT ends them`, async () => {
  const c = await h.open({ login: true });
  await c.cmd(`SELECT ${name}`);
  c.conn.take();
  c.conn.send('dup SEARCH RETURN (UPDATE) SEEN\r\n');
  await c.waitTagged('dup');
  c.conn.send('dup SEARCH RETURN (UPDATE) SEEN\r\n');
  assert.match(await c.waitTagged('dup'), /dup BAD /);
  for (let i = 1; i < MAX_CONTEXTS; i++) assert.match(await c.cmd('SEARCH RETURN (UPDATE) SEEN'), /^\* ESEARCH /);
  assert.match(await c.cmd('SEARCH RETURN (UPDATE COUNT) SEEN'), /^\* ESEARCH \(TAG "(t\d+)"\) COUNT 0\r\n\* NO \[NOUPDATE "\1"\] [^\r]*\r\nt\d+ OK /);
  await c.cmd(`SELECT ${name}`);
  assert.doesNotMatch(await c.cmd('STORE 1 +FLAGS (\\Seen)'), /ESEARCH/);
});
