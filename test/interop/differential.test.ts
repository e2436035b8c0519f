/**
 * Differential transcripts: the same mailbox content is delivered to
 * Mailstead and to Dovecot 2.3, the same IMAP commands are sent to both over
 * TLS, and the answers are compared after canonicalising tags, ids, dates,
 * capability lists and representation choices (lib/imap-canonical.ts).
 *
 * Every remaining difference must be listed in KNOWN below: either an
 * acceptable difference (documented in docs/compatibility.md) or a Mailstead
 * bug (the subtest is then marked todo, naming the bug). An unlisted
 * difference fails the test. The full side-by-side report is written to
 * $TMPDIR/mailstead-differential-report.txt.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type DovecotInstance, startDovecot } from '../helpers/dovecot.js';
import { canonicalResponses } from './lib/imap-canonical.js';
import type { WireClient } from './lib/imap-wire.js';
import { login, ok } from './lib/mailbox-snapshot.js';
import { interopMessage, type MailsteadFixture, startMailstead } from './lib/mailstead.js';
import { bodystructureOf, corpus, FLAG_SETUP, fetchCommands, MAILBOX_COMMANDS, SEARCH_COMMANDS } from './lib/transcripts.js';
import { KNOWN } from './lib/known-differences.js';

let ms: MailsteadFixture;
let dv: DovecotInstance;
let msc: WireClient;
let dvc: WireClient;
const report: string[] = [];

before(async () => {
  [ms, dv] = await Promise.all([startMailstead(), startDovecot()]);
  // The same mailboxes and subscriptions on both (Dovecot does not subscribe INBOX or CREATEd mailboxes by itself).
  const setup = ['CREATE Work', 'CREATE "Work/Reports"', 'SUBSCRIBE INBOX', 'SUBSCRIBE Work', 'SUBSCRIBE "Work/Reports"'];
  await ms.run(...setup);
  const dvSetup = await login({ port: dv.imapsPort, certPem: dv.certPem, user: dv.user, password: dv.password });
  for (const cmd of setup) await ok(dvSetup, cmd);
  dvSetup.close();
  for (const { message } of corpus()) {
    ms.deliver(message);
    await dv.deliver(message);
  }
  ms.deliver(interopMessage('r1'), 'Work/Reports');
  await dv.deliver(interopMessage('r1'), 'Work/Reports');
  msc = await login(ms.imap);
  dvc = await login({ port: dv.imapsPort, certPem: dv.certPem, user: dv.user, password: dv.password });
  for (const c of [msc, dvc]) {
    await ok(c, 'SELECT INBOX');
    for (const cmd of FLAG_SETUP) await ok(c, cmd);
  }
});

after(async () => {
  msc?.close();
  dvc?.close();
  const file = join(tmpdir(), 'mailstead-differential-report.txt');
  writeFileSync(file, report.join('\n'));
  console.log(`# differential report: ${file} (${report.filter((l) => l.startsWith('### ')).length} differences)`);
  await Promise.all([ms?.stop(), dv?.stop()]);
});

async function compare(t: import('node:test').TestContext, command: string): Promise<void> {
  const [mine, theirs] = [await msc.command(command), await dvc.command(command)];
  const [a, b] = [canonicalResponses(mine), canonicalResponses(theirs)];
  if (JSON.stringify(a) === JSON.stringify(b)) return;
  const known = KNOWN.find((k) => k.command.test(command) && (!k.when || k.when(a, b)));
  report.push(`### ${command}${known ? `  [${known.kind}: ${known.id}]` : '  [UNLISTED]'}`, '--- mailstead', ...a, '--- dovecot', ...b, '');
  if (known?.kind === 'bug') {
    t.todo(`Mailstead bug ${known.id}: ${known.reason}`);
    return;
  }
  if (known) {
    t.diagnostic(`accepted difference ${known.id}: ${known.reason}`);
    return;
  }
  assert.deepEqual(a, b, `unlisted difference for ${command}`);
}

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
