/**
 * Differential transcripts: the same mailbox content is delivered to
 * Mailstead and to Dovecot 2.3, the same IMAP commands are sent to both over
 * TLS, and the answers are compared after canonicalising tags, ids, dates,
 * capability lists and representation choices (lib/imap-canonical.ts).
 *
 * Every remaining difference must be listed in lib/known-differences.ts: either an
 * acceptable difference (documented in docs/compatibility.md) or a Mailstead
 * bug (the subtest is then marked todo, naming the bug). An unlisted
 * difference fails the test. The full side-by-side report is written to
 * $TMPDIR/mailstead-differential-report.txt.
 */
import { after, before, test } from 'node:test';
import { Differ } from './lib/differ.js';
import type { WireClient } from './lib/imap-wire.js';
import { ok } from './lib/mailbox-snapshot.js';
import { type ServerPair, startPair } from './lib/pair.js';
import { bodystructureOf, corpus, fetchCommands, MAILBOX_COMMANDS, SEARCH_COMMANDS } from './lib/transcripts.js';

let pair: ServerPair;
let dvc: WireClient;
let differ: Differ;

before(async () => {
  pair = await startPair();
  dvc = pair.dvc;
  differ = new Differ('mailstead-differential-report', pair.msc, pair.dvc);
});

after(async () => {
  if (differ) console.log(`# differential report: ${differ.write()}`);
  await pair?.stop();
});

const compare = (t: import('node:test').TestContext, command: string) => differ.compare(t, command);

test('FETCH of every part of every MIME fixture answers as Dovecot does', async (t) => {
  const messages = corpus();
  for (let seq = 1; seq <= messages.length; seq++) {
    const bsLine = (await ok(dvc, `FETCH ${seq} (BODYSTRUCTURE)`)).find((l) => l.startsWith(`* ${seq} FETCH`))!;
    for (const command of fetchCommands(seq, bodystructureOf(bsLine))) {
      await t.test(`${messages[seq - 1]!.name}: ${command}`, (st) => compare(st, command));
    }
  }
});

test('SEARCH variants answer as Dovecot does', async (t) => {
  for (const command of SEARCH_COMMANDS) await t.test(command, (st) => compare(st, command));
});

test('LIST, STATUS, EXAMINE and SELECT answer as Dovecot does', async (t) => {
  for (const command of MAILBOX_COMMANDS) await t.test(command, (st) => compare(st, command));
});
