/**
 * Archive and import against Dovecot from Debian, and third-party clients
 * reading what import wrote: archive from Dovecot over pop3s (read-only: RSET
 * leaves nothing \Seen) and imaps (--all-folders --delete, UIDPLUS); import
 * the fixtures into Dovecot (SPECIAL-USE mapping, flags, dates, rerun
 * imports nothing); import into Mailstead, then mbsync and fetchmail read it.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ImapFlow } from 'imapflow';
import { type DovecotInstance, startDovecot } from '../helpers/dovecot.js';
import { addUser, cli, ROOT, startServer, type TestServer } from '../helpers/server.js';

const F = join(ROOT, 'test/fixtures/import');
const SOURCES = [join(F, 'maildir'), join(F, 'mbox/Saved.mbox'), join(F, 'eml')];

function message(i: number): string {
  return `From: s@example.org\r\nTo: alice@example.com\r\nSubject: dovecot ${i}\r\nDate: Mon, 0${i + 1} Mar 2021 10:00:00 +0000\r\nMessage-ID: <dc${i}@example.org>\r\n\r\nbody ${i}\r\n`;
}

function lines(dir: string): Array<{ folder: string | null; uidl?: string; uid?: number; flags: string[] }> {
  return readFileSync(join(dir, 'manifest.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
}

describe('archive and import with Dovecot and real clients', () => {
  let dovecot: DovecotInstance;
  let mailstead: TestServer;
  const dirs: string[] = [];
  const tmp = (prefix: string) => {
    const d = mkdtempSync(join(tmpdir(), prefix));
    dirs.push(d);
    return d;
  };
  const dovecotImap = async () => {
    const c = new ImapFlow({ host: '127.0.0.1', port: dovecot.imapsPort, secure: true, auth: { user: dovecot.user, pass: dovecot.password }, tls: { ca: [dovecot.certPem], servername: 'localhost' }, logger: false });
    await c.connect();
    return c;
  };
  const run = (args: string[], password: string, ca: string) => cli([...args, '--ca', ca, '--no-progress', '--password-stdin'], `${password}\n`);

  before(async () => {
    dovecot = await startDovecot();
    mailstead = await startServer();
    addUser(mailstead.dataDir, 'mig@example.com', 'pw');
  });
  after(async () => {
    await dovecot?.stop();
    await mailstead?.stop();
    mailstead?.cleanup();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  test('archive from Dovecot: pop3s leaves everything unread, imaps --all-folders --delete empties the folders', async () => {
    for (let i = 0; i < 3; i++) await dovecot.deliver(message(i));
    await dovecot.deliver(message(3), 'Sent');
    const dir = tmp('mailstead-dc-archive-');
    const pop = run(['archive', `pop3s://${dovecot.user}@127.0.0.1:${dovecot.pop3sPort}`, '--to', dir], dovecot.password, dovecot.certFile);
    assert.equal(pop.status, 0, pop.stdout + pop.stderr);
    assert.equal(lines(dir).length, 3);
    let c = await dovecotImap();
    await c.mailboxOpen('INBOX', { readOnly: true });
    for await (const m of c.fetch('1:*', { flags: true })) assert.ok(!m.flags?.has('\\Seen'), 'RSET before QUIT: Dovecot marked nothing \\Seen');
    await c.logout();
    const again = run(['archive', `pop3s://${dovecot.user}@127.0.0.1:${dovecot.pop3sPort}`, '--to', dir], dovecot.password, dovecot.certFile);
    assert.match(again.stdout, /^archived 0 messages/m);

    const imap = run(['archive', `imaps://${dovecot.user}@127.0.0.1:${dovecot.imapsPort}`, '--to', dir, '--all-folders', '--delete'], dovecot.password, dovecot.certFile);
    assert.equal(imap.status, 0, imap.stdout + imap.stderr);
    assert.match(imap.stdout, /^deleted on the server 4$/m);
    assert.deepEqual(lines(dir).filter((l) => l.uid !== undefined).map((l) => l.folder).sort(), ['INBOX', 'INBOX', 'INBOX', 'Sent']);
    c = await dovecotImap();
    assert.equal((await c.status('INBOX', { messages: true })).messages, 0);
    assert.equal((await c.status('Sent', { messages: true })).messages, 0);
    await c.logout();
    assert.equal(cli(['archive', 'verify', dir]).status, 0);
  });

  test('import into Dovecot: SPECIAL-USE mapping, flags, dates; a rerun imports nothing', async () => {
    const to = `imaps://${dovecot.user}@127.0.0.1:${dovecot.imapsPort}`;
    const r = run(['import', ...SOURCES, '--to', to], dovecot.password, dovecot.certFile);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^folder Sent Items -> Sent: imported 1/m);
    assert.match(r.stdout, /^imported 11 messages/m);
    const c = await dovecotImap();
    await c.mailboxOpen('Sent', { readOnly: true });
    const sent = [];
    for await (const m of c.fetch('1:*', { envelope: true, flags: true, internalDate: true })) sent.push(m);
    await c.mailboxOpen('Saved', { readOnly: true });
    const saved = [];
    for await (const m of c.fetch('1:*', { envelope: true, flags: true, internalDate: true })) saved.push(m);
    await c.logout();
    assert.equal(sent.length, 1);
    const noRecent = (f: Set<string> | undefined) => [...(f ?? [])].filter((x) => x !== '\\Recent').sort();
    assert.deepEqual(noRecent(sent[0]!.flags), ['$Forwarded', '\\Seen']);
    assert.equal(new Date(sent[0]!.internalDate as Date).toISOString(), '2014-05-13T16:53:20.000Z');
    const read = saved.find((m) => m.envelope?.subject === 'mbox read answered')!;
    assert.deepEqual(noRecent(read.flags), ['\\Answered', '\\Seen']);
    assert.equal(new Date(read.internalDate as Date).toISOString(), '2018-03-04T05:06:07.000Z');
    const again = run(['import', ...SOURCES, '--to', to], dovecot.password, dovecot.certFile);
    assert.match(again.stdout, /^skipped 11 already present$/m);
  });

  test('mbsync and fetchmail read what import wrote into Mailstead', () => {
    const r = run(['import', ...SOURCES, '--to', `imaps://mig@example.com@127.0.0.1:${mailstead.ports.imaps}`], 'pw', mailstead.certFile);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    const dir = tmp('mailstead-import-clients-');
    const local = join(dir, 'Mail');
    mkdirSync(local);
    writeFileSync(
      join(dir, 'mbsyncrc'),
      `IMAPAccount ms\nHost localhost\nPort ${mailstead.ports.imaps}\nUser mig@example.com\nPass pw\nSSLType IMAPS\nCertificateFile ${mailstead.certFile}\n\nIMAPStore remote\nAccount ms\n\nMaildirStore local\nPath ${local}/\nInbox ${local}/INBOX\nSubFolders Verbatim\n\nChannel all\nFar :remote:\nNear :local:\nPatterns *\nCreate Near\nSyncState *\n`,
    );
    const m = spawnSync('mbsync', ['-c', join(dir, 'mbsyncrc'), '-a'], { encoding: 'utf8', timeout: 120_000 });
    assert.equal(m.status, 0, m.stdout + m.stderr);
    const count = (box: string) => ['cur', 'new'].flatMap((s) => readdirSync(join(local, box, s))).length;
    assert.equal(count('INBOX'), 5);
    assert.equal(count('Sent'), 1);
    assert.equal(count('Saved'), 3);
    assert.equal(count('Projects/2019'), 1);
    const seenFlagged = readdirSync(join(local, 'INBOX', 'cur')).filter((n) => /:2,[A-Z]*F[A-Z]*S/.test(n));
    assert.equal(seenFlagged.length, 1, 'the \\Flagged \\Seen message keeps its flags');

    const out = join(dir, 'fetched');
    mkdirSync(out);
    const rc = join(dir, 'fetchmailrc');
    writeFileSync(
      rc,
      `set no syslog\npoll localhost with proto POP3 service ${mailstead.ports.pop3s} uidl\n  user "mig@example.com" there with password "pw" is "root" here\n  ssl sslcertck sslcertfile "${mailstead.certFile}"\n  keep\n  mda "/bin/sh -c 'cat > ${out}/msg.$$'"\n`,
    );
    chmodSync(rc, 0o600);
    const f = spawnSync('fetchmail', ['-f', rc, '--nodetach'], { encoding: 'utf8', timeout: 120_000, env: { ...process.env, FETCHMAILHOME: dir, HOME: dir } });
    assert.ok(f.status === 0, `fetchmail exited with ${f.status}:\n${f.stdout}${f.stderr}`);
    const fetched = readdirSync(out).map((n) => readFileSync(join(out, n), 'utf8'));
    assert.equal(fetched.length, 5);
    assert.ok(fetched.some((t) => t.includes('Subject: maildir seen flagged')));
  });
});
