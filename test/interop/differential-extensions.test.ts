/**
 * Differential transcripts for the extensions added after the first suite:
 * SORT and THREAD (RFC 5256, RFC 5957) over a mailbox built for them,
 * BINARY (RFC 3516) of base64 and quoted-printable parts, ESEARCH (RFC 4731)
 * and SEARCHRES (RFC 5182), WITHIN (RFC 5032), STATUS=SIZE (RFC 8438),
 * LIST-EXTENDED (RFC 5258) and LIST-STATUS (RFC 5819). Same rules as
 * differential.test.ts: every difference is in lib/known-differences.ts or
 * the test fails. Report: $TMPDIR/mailstead-differential-extensions-report.txt.
 *
 * QUOTA (GETQUOTAROOT) is not compared: the reference Dovecot runs without
 * its quota plugins, so it has no quota roots to answer with.
 */
import { after, before, test } from 'node:test';
import { Differ } from './lib/differ.js';
import { ok } from './lib/mailbox-snapshot.js';
import { type ServerPair, startPair } from './lib/pair.js';
import { BINARY_COMMANDS, BINARY_MULTIPART_COMMANDS, ESORT_COMMANDS, SORT_THREAD_COMMANDS } from './lib/thread-corpus.js';
import { ESEARCH_COMMANDS, LIST_EXTENDED_COMMANDS, WITHIN_COMMANDS } from './lib/transcripts.js';

let pair: ServerPair;
let differ: Differ;

before(async () => {
  pair = await startPair();
  differ = new Differ('mailstead-differential-extensions-report', pair.msc, pair.dvc);
});

after(async () => {
  if (differ) console.log(`# differential report: ${differ.write()}`);
  await pair?.stop();
});

async function run(t: import('node:test').TestContext, commands: string[]): Promise<void> {
  for (const command of commands) await t.test(command, (st) => differ.compare(st, command));
}

async function selectBoth(mailbox: string): Promise<void> {
  for (const c of [pair.msc, pair.dvc]) await ok(c, `SELECT ${mailbox}`);
}

test('ESEARCH returns and SEARCHRES ($) answer as Dovecot does', async (t) => {
  await selectBoth('INBOX');
  await run(t, ESEARCH_COMMANDS);
});

test('WITHIN (OLDER, YOUNGER) answers as Dovecot does', async (t) => {
  await selectBoth('INBOX');
  await run(t, WITHIN_COMMANDS);
});

test('SORT and THREAD answer as Dovecot does', async (t) => {
  await selectBoth('Threads');
  await run(t, SORT_THREAD_COMMANDS);
});

test('ESORT (SORT RETURN) answers as Dovecot does', async (t) => {
  await selectBoth('Threads');
  await run(t, ESORT_COMMANDS);
});

test('BINARY and BINARY.SIZE of encoded parts answer as Dovecot does', async (t) => {
  await selectBoth('Threads');
  await run(t, BINARY_COMMANDS);
  await selectBoth('INBOX');
  await run(t, BINARY_MULTIPART_COMMANDS);
});

test('STATUS SIZE, LIST-EXTENDED and LIST-STATUS answer as Dovecot does', async (t) => {
  await selectBoth('Threads');
  await run(t, LIST_EXTENDED_COMMANDS);
});
