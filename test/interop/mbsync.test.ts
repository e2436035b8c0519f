/**
 * mbsync (isync 1.4, Debian) syncs a Mailstead account both ways with a local
 * Maildir: new mail, flag changes and deletions on both sides, a mailbox
 * created locally; after two runs both sides are equal and a third run changes
 * nothing. mbsync must print no error or warning at any point.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { imapSnapshot, maildirSnapshot, problemLines } from './lib/mailbox-snapshot.js';
import { interopMessage, type MailsteadFixture, startMailstead } from './lib/mailstead.js';

let ms: MailsteadFixture;
let dir: string;
let local: string;

function mbsync(): string {
  const r = spawnSync('mbsync', ['-c', join(dir, 'mbsyncrc'), '-a'], { encoding: 'utf8', timeout: 120_000 });
  const output = `${r.stdout}${r.stderr}`;
  assert.equal(r.status, 0, `mbsync exited with ${r.status}:\n${output}`);
  assert.deepEqual(problemLines(output), [], output);
  return output;
}

/** The Maildir file holding message `<id@interop.test>` in local mailbox `box`. */
function localFile(box: string, id: string): { sub: string; name: string } {
  for (const sub of ['cur', 'new']) {
    for (const name of readdirSync(join(local, box, sub))) {
      if (name.includes(`${id}`)) return { sub, name };
    }
  }
  throw new Error(`${id} not found locally in ${box}`);
}

before(async () => {
  ms = await startMailstead();
  dir = mkdtempSync(join(tmpdir(), 'mailstead-mbsync-'));
  local = join(dir, 'Mail');
  mkdirSync(local);
  await ms.run('CREATE Work');
  for (const id of ['m1', 'm2', 'm3', 'm4']) ms.deliver(interopMessage(id));
  for (const id of ['w1', 'w2']) ms.deliver(interopMessage(id), 'Work');
  writeFileSync(
    join(dir, 'mbsyncrc'),
    `IMAPAccount mailstead
Host localhost
Port ${ms.server.ports.imaps}
User ${ms.user}
Pass ${ms.password}
SSLType IMAPS
CertificateFile ${ms.server.certFile}

IMAPStore remote
Account mailstead

MaildirStore local
Path ${local}/
Inbox ${local}/INBOX
SubFolders Verbatim

Channel all
Far :remote:
Near :local:
Patterns *
Create Both
Remove Both
Expunge Both
SyncState *
`,
  );
});

after(async () => {
  await ms?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('first sync copies every mailbox and message to the Maildir', async () => {
  mbsync();
  const remote = await imapSnapshot(ms.imap);
  assert.deepEqual(maildirSnapshot(local, '/'), remote);
  assert.equal(remote.INBOX!.length, 4);
  assert.equal(remote.Work!.length, 2);
});

test('changes on both sides meet after two runs; a third run changes nothing', async () => {
  // Local side: read m1, delete m2, flag a new message in Work, create a mailbox (files named after the id so localFile finds them).
  const m1 = localFile('INBOX', 'U=1:');
  renameSync(join(local, 'INBOX', m1.sub, m1.name), join(local, 'INBOX', 'cur', `${m1.name.replace(/:2,.*$/, '')}:2,S`));
  const m2 = localFile('INBOX', 'U=2:');
  rmSync(join(local, 'INBOX', m2.sub, m2.name));
  writeFileSync(join(local, 'Work', 'cur', '1700000000.local1.host:2,F'), interopMessage('local1'));
  for (const sub of ['cur', 'new', 'tmp']) mkdirSync(join(local, 'Projects', 'Alpha', sub), { recursive: true });
  writeFileSync(join(local, 'Projects', 'Alpha', 'new', '1700000001.p1.host'), interopMessage('p1'));

  // Server side: flag and answer m3, expunge m4, new mail in INBOX, read w1.
  await ms.onMessage('INBOX', 'm3', 'UID STORE $UID +FLAGS (\\Flagged \\Answered)');
  await ms.onMessage('INBOX', 'm4', 'UID STORE $UID +FLAGS (\\Deleted)', 'UID EXPUNGE $UID');
  ms.deliver(interopMessage('m5'));
  await ms.onMessage('Work', 'w1', 'UID STORE $UID +FLAGS (\\Seen)');

  mbsync();
  mbsync();
  const remote = await imapSnapshot(ms.imap);
  assert.deepEqual(maildirSnapshot(local, '/'), remote);
  assert.deepEqual(remote.INBOX, [
    '<m1@interop.test> \\Seen',
    '<m3@interop.test> \\Answered \\Flagged',
    '<m5@interop.test>',
  ]);
  assert.deepEqual(remote.Work, ['<local1@interop.test> \\Flagged', '<w1@interop.test> \\Seen', '<w2@interop.test>']);
  assert.deepEqual(remote['Projects/Alpha'], ['<p1@interop.test>']);

  mbsync();
  assert.deepEqual(await imapSnapshot(ms.imap), remote);
  assert.deepEqual(maildirSnapshot(local, '/'), remote);
});
