/** UIDONLY (RFC 9586): transcripts after the RFC's examples. */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { ALICE, createHarness, type Harness, message } from './harness.test.js';

let h: Harness;
before(async () => {
  h = await createHarness();
  for (const s of ['a', 'b', 'c', 'd']) await h.domain.deliver(ALICE, message({ subject: s }));
});
after(() => h.close());

it('ENABLE UIDONLY; commands with message numbers are refused with BAD [UIDREQUIRED] (§3)', async () => {
  const c = await h.open({ login: true });
  assert.match(await c.cmd('ENABLE UIDONLY'), /^\* ENABLED UIDONLY\r\nt\d+ OK /);
  const selected = await c.cmd('SELECT INBOX');
  assert.match(selected, /\* 4 EXISTS\r\n/);
  // IMAP4rev1's UNSEEN code is a sequence number: not sent.
  assert.doesNotMatch(selected, /UNSEEN/);
  for (const command of [
    'FETCH 1 (FLAGS)',
    'STORE 1 +FLAGS (\\Seen)',
    'SEARCH ALL',
    'COPY 1 Archive',
    'MOVE 1 Archive',
    'SORT (SUBJECT) UTF-8 ALL',
    'THREAD REFERENCES UTF-8 ALL',
    // A sequence set inside a UID command's search program.
    'UID SEARCH 1:2',
    'UID SEARCH OR UID 1 NOT 3',
  ]) {
    assert.match(await c.cmd(command), /^t\d+ BAD \[UIDREQUIRED\] /, command);
  }
  // QRESYNC's sequence match data names message numbers too.
  const uidValidity = /UIDVALIDITY (\d+)/.exec(await c.cmd('STATUS INBOX (UIDVALIDITY)'))![1];
  await c.cmd('ENABLE QRESYNC');
  assert.match(await c.cmd(`SELECT INBOX (QRESYNC (${uidValidity} 1 1:4 (1:2 1:2)))`), /^t\d+ BAD \[UIDREQUIRED\] /);
  assert.match(await c.cmd(`SELECT INBOX (QRESYNC (${uidValidity} 1 1:4))`), /\* VANISHED \(EARLIER\)|t\d+ OK /);
  // "$" names saved UIDs, not numbers.
  assert.match(await c.cmd('UID SEARCH RETURN (SAVE) UID 2:3'), /^t\d+ OK /);
  assert.match(await c.cmd('UID SEARCH $'), /^\* ESEARCH|^\* SEARCH 2 3\r\n/);
});

it('FETCH data comes as UIDFETCH numbered by UID, also for STORE and changes of other sessions (§3.3)', async () => {
  const c = await h.open({ login: true });
  await c.cmd('ENABLE UIDONLY');
  await c.cmd('SELECT INBOX');
  // UID only when asked for: the number is the UID.
  assert.match(await c.cmd('UID FETCH 2:3 (FLAGS)'), /^\* 2 UIDFETCH \(FLAGS \(\)\)\r\n\* 3 UIDFETCH \(FLAGS \(\)\)\r\nt\d+ OK /);
  assert.match(await c.cmd('UID FETCH 2 (UID FLAGS)'), /^\* 2 UIDFETCH \(UID 2 FLAGS \(\)\)\r\nt\d+ OK /);
  assert.match(await c.cmd('UID STORE 3 +FLAGS (\\Flagged)'), /^\* 3 UIDFETCH \(UID 3 FLAGS \(\\Flagged\)\)\r\nt\d+ OK /);

  const other = await h.open({ login: true });
  await other.cmd('SELECT INBOX');
  await other.cmd('UID STORE 4 +FLAGS (\\Answered)');
  assert.match(await c.cmd('NOOP'), /^\* 4 UIDFETCH \(UID 4 FLAGS \(\\Answered\)\)\r\nt\d+ OK /);
});

it('expunges are reported as VANISHED, never EXPUNGE (§3.2)', async () => {
  const c = await h.open({ login: true });
  await c.cmd('ENABLE UIDONLY');
  await c.cmd('SELECT INBOX');
  await c.cmd('UID STORE 1 +FLAGS.SILENT (\\Deleted)');
  assert.match(await c.cmd('EXPUNGE'), /^\* VANISHED 1\r\nt\d+ OK /);

  const other = await h.open({ login: true });
  await other.cmd('SELECT INBOX');
  await other.cmd('UID STORE 2 +FLAGS.SILENT (\\Deleted)');
  await other.cmd('UID EXPUNGE 2');
  assert.match(await c.cmd('NOOP'), /^\* VANISHED 2\r\nt\d+ OK /);
});

it('a session without UIDONLY keeps sequence numbers', async () => {
  const c = await h.open({ login: true });
  await c.cmd('SELECT INBOX');
  assert.match(await c.cmd('FETCH 1 (UID)'), /^\* 1 FETCH \(UID \d+\)\r\nt\d+ OK /);
});
