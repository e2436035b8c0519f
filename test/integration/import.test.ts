/**
 * `mailstead import` against the real server: Maildir (Maildir++ folders,
 * info flags, file-name dates), mbox (mboxrd and mboxo unquoting, Status and
 * X-Status flags, From_ dates), .eml files; SPECIAL-USE mapping; a rerun that
 * imports nothing; --direct keeping POP3 UIDLs from an archive and X-UIDL.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ImapFlow } from 'imapflow';
import { Pop3Client } from '../../src/tools/clients/pop3-client.js';
import { addUser, cli, makeMessage, ROOT, startServer, type TestServer } from '../helpers/server.js';

const F = join(ROOT, 'test/fixtures/import');

interface Seen {
  subject: string;
  flags: string[];
  internalDate: string;
  source: string;
}

describe('mailstead import', () => {
  let server: TestServer;
  const dirs: string[] = [];
  const imap = async (user: string) => {
    const c = new ImapFlow({ host: '127.0.0.1', port: server.ports.imaps, secure: true, auth: { user, pass: 'pw' }, tls: { ca: [server.certPem], servername: 'localhost' }, logger: false });
    await c.connect();
    return c;
  };
  const folder = async (user: string, name: string): Promise<Seen[]> => {
    const c = await imap(user);
    const out: Seen[] = [];
    await c.mailboxOpen(name, { readOnly: true });
    if (c.mailbox && c.mailbox.exists > 0) {
      for await (const m of c.fetch('1:*', { envelope: true, flags: true, internalDate: true, source: true })) {
        out.push({
          subject: m.envelope?.subject ?? '',
          flags: [...(m.flags ?? [])].sort(),
          internalDate: new Date(m.internalDate as Date).toISOString(),
          source: m.source!.toString('utf8'),
        });
      }
    }
    await c.logout();
    return out.sort((a, b) => (a.subject < b.subject ? -1 : 1));
  };
  const importTo = (user: string, args: string[]) =>
    cli(['import', ...args, '--to', `imaps://${user}@127.0.0.1:${server.ports.imaps}`, '--ca', server.certFile, '--no-progress', '--password-stdin'], 'pw\n');

  before(async () => {
    server = await startServer();
    for (const u of ['a@example.com', 'o@example.com', 'pop@example.com', 'new@example.com']) addUser(server.dataDir, u, 'pw');
  });
  after(async () => {
    await server.stop();
    server.cleanup();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  test('Maildir, mbox and .eml: folders, flags and INTERNALDATE over IMAP; a rerun imports nothing', async () => {
    const sources = [join(F, 'maildir'), join(F, 'mbox/Saved.mbox'), join(F, 'eml')];
    const dry = importTo('a@example.com', [...sources, '--dry-run']);
    assert.equal(dry.status, 0, dry.stderr);
    assert.match(dry.stdout, /^plan: Sent Items -> Sent: 1 messages$/m);
    assert.match(dry.stdout, /^plan: Projects\/2019 -> Projects\/2019: 1 messages \(folder will be created\)$/m);
    assert.equal((await folder('a@example.com', 'INBOX')).length, 0, 'dry run changes nothing');

    const r = importTo('a@example.com', sources);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^imported 11 messages/m);

    const inbox = await folder('a@example.com', 'INBOX');
    assert.deepEqual(
      inbox.map((m) => [m.subject, m.flags.join(' '), m.internalDate]),
      [
        ['eml one', '', '2012-01-02T10:00:00.000Z'],
        ['eml two received', '', '2012-01-03T11:30:00.000Z'],
        ['maildir answered trashed', '\\Answered \\Deleted', '2017-07-14T03:40:00.000Z'],
        ['maildir new', '', '2017-07-14T04:40:00.000Z'],
        ['maildir seen flagged', '\\Flagged \\Seen', '2017-07-14T02:40:00.000Z'],
      ],
    );
    assert.match(inbox[0]!.source, /\r\nBody of eml one\.\r\n$/, 'bare LF became CRLF');
    const sent = await folder('a@example.com', 'Sent');
    assert.deepEqual(sent.map((m) => [m.subject, m.flags.join(' '), m.internalDate]), [['maildir sent forwarded', '$Forwarded \\Seen', '2014-05-13T16:53:20.000Z']]);
    const projects = await folder('a@example.com', 'Projects/2019');
    assert.deepEqual(projects.map((m) => [m.subject, m.flags.join(' ')]), [['maildir draft in subfolder', '\\Draft \\Seen']]);
    assert.equal((await folder('a@example.com', 'Receipts')).length, 1);

    const saved = await folder('a@example.com', 'Saved');
    assert.deepEqual(
      saved.map((m) => [m.subject, m.flags.join(' '), m.internalDate]),
      [
        ['mbox flagged unread', '\\Flagged', '2018-03-05T06:07:08.000Z'],
        ['mbox no status', '', '2018-03-06T07:08:09.000Z'],
        ['mbox read answered', '\\Answered \\Seen', '2018-03-04T05:06:07.000Z'],
      ],
    );
    const read = saved[2]!.source;
    assert.match(read, /\r\n\r\nFrom here the body starts\.\r\n>From a quoted quote\.\r\n$/, 'mboxrd unquoted, separator line dropped');
    assert.doesNotMatch(read, /^(Status|X-Status):/im, 'mbox status headers are not part of the message');
    assert.match(saved[1]!.source, /Third body, last line\.\r\n$/);

    const again = importTo('a@example.com', sources);
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stdout, /^imported 0 messages/m);
    assert.match(again.stdout, /^skipped 11 already present$/m);
    assert.equal((await folder('a@example.com', 'INBOX')).length, 5);
  });

  test('mboxo unquotes only ">From ", and --map picks the folder', async () => {
    const r = importTo('o@example.com', [join(F, 'mbox/Old.mbox'), '--mbox-format', 'mboxo', '--map', 'Old=Archive/2001']);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    const [m] = await folder('o@example.com', 'Archive/2001');
    assert.equal(m!.subject, 'mboxo quoting');
    assert.deepEqual(m!.flags, ['\\Seen']);
    assert.match(m!.source, /\r\n\r\nFrom once quoted\.\r\n>>From stays twice quoted in mboxo\.\r\n$/);
  });

  test('--direct keeps POP3 UIDLs from an archive and from X-UIDL; a rerun imports nothing', async () => {
    const c = await imap('pop@example.com');
    for (let i = 0; i < 3; i++) await c.append('INBOX', makeMessage({ subject: `uidl ${i}` }));
    await c.logout();
    const dir = mkdtempSync(join(tmpdir(), 'mailstead-import-archive-'));
    dirs.push(dir);
    const a = cli(['archive', `pop3s://pop@example.com@127.0.0.1:${server.ports.pop3s}`, '--to', dir, '--ca', server.certFile, '--no-progress', '--password-stdin'], 'pw\n');
    assert.equal(a.status, 0, a.stderr);
    const uidls = async (user: string) => {
      const c = new Pop3Client({ host: '127.0.0.1', port: server.ports.pop3s, security: 'tls', ca: [server.certPem], servername: 'localhost' });
      await c.connect();
      await c.login(user, 'pw');
      const list = (await c.uidl()).map((u) => u.uidl).sort();
      await c.quit();
      return list;
    };
    const original = await uidls('pop@example.com');
    const direct = (args: string[]) => cli(['import', ...args, '--direct', '--data-dir', server.dataDir, '--to', 'new@example.com', '--no-progress']);
    const r = direct([dir, join(F, 'mbox/Saved.mbox'), '--map', 'Saved=INBOX']);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^imported 6 messages/m);
    const after = await uidls('new@example.com');
    for (const u of original) assert.ok(after.includes(u), `UIDL ${u} kept`);
    assert.ok(after.includes('UID-frank-0001'), 'X-UIDL kept');
    const again = direct([dir, join(F, 'mbox/Saved.mbox'), '--map', 'Saved=INBOX']);
    assert.match(again.stdout, /^imported 0 messages/m);
    assert.match(again.stdout, /^skipped 6 already present$/m);
  });
});
