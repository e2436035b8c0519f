/**
 * `mailstead archive` against the real server: POP3 and IMAP sources, leave-a-copy
 * and --delete, reruns that download nothing, and `archive verify` catching an
 * altered and an unlisted file.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ImapFlow } from 'imapflow';
import { Pop3Client } from '../../src/tools/clients/pop3-client.js';
import { addUser, cli, makeMessage, startServer, type TestServer } from '../helpers/server.js';

interface Line {
  source: string;
  folder: string | null;
  uidl?: string;
  uid?: number;
  uidValidity?: number;
  sha256: string;
  size: number;
  file: string;
  flags: string[];
  internalDate: string;
}

function manifest(dir: string): Line[] {
  return readFileSync(join(dir, 'manifest.jsonl'), 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Line);
}

describe('mailstead archive', () => {
  let server: TestServer;
  const dirs: string[] = [];
  const newDir = () => {
    const d = mkdtempSync(join(tmpdir(), 'mailstead-archive-'));
    dirs.push(d);
    return d;
  };
  const run = (args: string[], password: string) => {
    const r = cli([...args, '--ca', server.certFile, '--no-progress', '--password-stdin'], `${password}\n`);
    return r;
  };
  const pop3 = async (user: string, password: string) => {
    const c = new Pop3Client({ host: '127.0.0.1', port: server.ports.pop3s, security: 'tls', ca: [server.certPem], servername: 'localhost' });
    await c.connect();
    await c.login(user, password);
    return c;
  };
  const imap = async (user: string, password: string) => {
    const c = new ImapFlow({ host: '127.0.0.1', port: server.ports.imaps, secure: true, auth: { user, pass: password }, tls: { ca: [server.certPem], servername: 'localhost' }, logger: false });
    await c.connect();
    return c;
  };

  before(async () => {
    server = await startServer();
    for (const u of ['p@example.com', 'q@example.com', 'i@example.com', 'j@example.com']) addUser(server.dataDir, u, 'pw');
    // APPEND is much faster than one `deliver` process per message.
    const put = async (user: string, mailbox: string, message: string) => {
      const c = await imap(user, 'pw');
      await c.append(mailbox, message);
      await c.logout();
    };
    for (let i = 0; i < 3; i++) for (const u of ['p@example.com', 'q@example.com']) await put(u, 'INBOX', makeMessage({ subject: `pop ${i}` }));
    for (const u of ['i@example.com', 'j@example.com']) {
      await put(u, 'INBOX', makeMessage({ subject: 'in inbox' }));
      await put(u, 'Sent', makeMessage({ subject: 'in sent', date: 'Mon, 01 Feb 2021 09:00:00 +0000' }));
    }
  });
  after(async () => {
    await server.stop();
    server.cleanup();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  test('pop3s, leave a copy: byte-exact read-only files, manifest lines, nothing changed on the server, rerun downloads nothing', async () => {
    const dir = newDir();
    const url = `pop3s://p@example.com@127.0.0.1:${server.ports.pop3s}`;
    const r = run(['archive', url, '--to', dir], 'pw');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^archived 3 messages/m);
    const lines = manifest(dir);
    assert.equal(lines.length, 3);
    const c = await pop3('p@example.com', 'pw');
    const uidls = await c.uidl();
    for (const entry of uidls) {
      const line = lines.find((l) => l.uidl === entry.uidl);
      assert.ok(line, `UIDL ${entry.uidl} archived`);
      const onDisk = readFileSync(join(dir, line.file));
      assert.deepEqual(onDisk, await c.retr(entry.number));
      assert.equal(line.size, onDisk.length);
      assert.equal(statSync(join(dir, line.file)).mode & 0o777, 0o444);
      assert.match(line.file, /^cur\//);
    }
    await c.rset();
    await c.quit();
    // Read-only: nothing became \Seen, nothing was deleted.
    const client = await imap('p@example.com', 'pw');
    await client.mailboxOpen('INBOX', { readOnly: true });
    const flags = [];
    for await (const m of client.fetch('1:*', { flags: true })) flags.push([...(m.flags ?? [])]);
    await client.logout();
    assert.deepEqual(flags, [[], [], []]);

    const again = run(['archive', url, '--to', dir], 'pw');
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stdout, /^archived 0 messages/m);
    assert.match(again.stdout, /^already archived 3; on the server 3$/m);
    assert.equal(manifest(dir).length, 3);
    assert.equal(cli(['archive', 'verify', dir]).status, 0);
  });

  test('pop3s --delete: the maildrop is emptied, every message is in the archive', async () => {
    const dir = newDir();
    const before = await pop3('q@example.com', 'pw');
    const uidls = (await before.uidl()).map((u) => u.uidl).sort();
    await before.quit();
    const r = run(['archive', `pop3s://q@example.com@127.0.0.1:${server.ports.pop3s}`, '--to', dir, '--delete'], 'pw');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^deleted on the server 3$/m);
    assert.deepEqual(manifest(dir).map((l) => l.uidl).sort(), uidls);
    const c = await pop3('q@example.com', 'pw');
    assert.equal((await c.stat()).count, 0);
    await c.quit();
  });

  test('imaps --all-folders: Maildir++ folders, flags and INTERNALDATE kept; --delete expunges only archived mail', async () => {
    const dir = newDir();
    const url = `imaps://i@example.com@127.0.0.1:${server.ports.imaps}`;
    const client = await imap('i@example.com', 'pw');
    await client.mailboxOpen('Sent');
    await client.messageFlagsAdd('1:*', ['\\Seen', '\\Flagged']);
    await client.logout();
    const r = run(['archive', url, '--to', dir, '--all-folders'], 'pw');
    assert.equal(r.status, 0, r.stderr);
    const lines = manifest(dir);
    assert.equal(lines.length, 2);
    const sent = lines.find((l) => l.folder === 'Sent')!;
    assert.ok(sent.uidValidity && sent.uid === 1);
    assert.match(sent.file, /^\.Sent\/cur\/.*:2,FS$/);
    assert.deepEqual(sent.flags.sort(), ['\\Flagged', '\\Seen']);
    assert.equal(lines.find((l) => l.folder === 'INBOX')!.file.startsWith('cur/'), true);

    // Only INBOX by default; rerun downloads nothing.
    const again = run(['archive', url, '--to', dir], 'pw');
    assert.match(again.stdout, /^archived 0 messages/m);

    const del = run(['archive', `imaps://j@example.com@127.0.0.1:${server.ports.imaps}/Sent`, '--to', dir, '--delete'], 'pw');
    assert.equal(del.status, 0, del.stderr);
    assert.match(del.stdout, /^deleted on the server 1$/m);
    const j = await imap('j@example.com', 'pw');
    const sentStatus = await j.status('Sent', { messages: true });
    const inboxStatus = await j.status('INBOX', { messages: true });
    await j.logout();
    assert.equal(sentStatus.messages, 0);
    assert.equal(inboxStatus.messages, 1);
    const jLines = manifest(dir).filter((l) => l.source.startsWith('imap://j@'));
    assert.equal(jLines.length, 1);
    assert.equal(new Date(jLines[0]!.internalDate).getTime() > 0, true);
    assert.equal(cli(['archive', 'verify', dir]).status, 0);
  });

  test('archive verify reports an altered and an unlisted file, with exit 1', () => {
    const dir = newDir();
    const r = run(['archive', `pop3s://p@example.com@127.0.0.1:${server.ports.pop3s}`, '--to', dir], 'pw');
    assert.equal(r.status, 0, r.stderr);
    const ok = cli(['archive', 'verify', dir]);
    assert.equal(ok.status, 0);
    assert.match(ok.stdout, /verified 3 of 3 listed messages; 0 missing, 0 altered, 0 unlisted/);
    const [first] = manifest(dir);
    const path = join(dir, first!.file);
    chmodSync(path, 0o644);
    const bytes = readFileSync(path);
    bytes[bytes.length - 3] ^= 0x01;
    writeFileSync(path, bytes);
    writeFileSync(join(dir, 'cur', '1700000000.stranger:2,S'), 'Subject: not mine\r\n\r\nx\r\n');
    const bad = cli(['archive', 'verify', dir]);
    assert.equal(bad.status, 1);
    assert.match(bad.stdout, new RegExp(`^altered ${first!.file.replace(/[.+]/g, '\\$&')}:`, 'm'));
    assert.match(bad.stdout, /^unlisted cur\/1700000000\.stranger:2,S:/m);
    assert.match(bad.stdout, /2 of 3|verified 2 of 3/);
  });

  test('named failures: wrong password, untrusted certificate, missing --to', () => {
    const url = `pop3s://p@example.com@127.0.0.1:${server.ports.pop3s}`;
    const dir = newDir();
    const auth = run(['archive', url, '--to', dir], 'wrong');
    assert.equal(auth.status, 5, auth.stderr);
    assert.match(auth.stderr, /authentication failed/);
    const tls = cli(['archive', url, '--to', dir, '--password-stdin', '--no-progress'], 'pw\n');
    assert.equal(tls.status, 4, tls.stderr);
    assert.match(tls.stderr, /certificate/);
    assert.equal(cli(['archive', url]).status, 64);
  });
});
