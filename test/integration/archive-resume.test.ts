/**
 * kill -9 in the middle of `mailstead archive --delete`, then a rerun: every
 * message is archived exactly once, nothing is lost, the server ends empty.
 * Runs for POP3 (DELE applied only at QUIT) and IMAP (UID EXPUNGE per batch).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ImapFlow } from 'imapflow';
import { addUser, CLI, cli, startServer, type TestServer } from '../helpers/server.js';

const COUNT = 150;

function manifestLines(dir: string): Array<{ uidl?: string; uid?: number; sha256: string; file: string }> {
  const path = join(dir, 'manifest.jsonl');
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8').split('\n').filter((l) => l.endsWith('}')).map((l) => JSON.parse(l));
}

function body(i: number): string {
  const filler = `line ${i} `.repeat(400);
  return `From: s@example.org\r\nTo: x@example.com\r\nSubject: resume ${i}\r\nMessage-ID: <r${i}@example.org>\r\n\r\n${filler}\r\n`;
}

describe('archive survives kill -9', () => {
  let server: TestServer;
  const dirs: string[] = [];
  const sha = (s: string) => createHash('sha256').update(s).digest('hex');

  before(async () => {
    server = await startServer();
    for (const u of ['k@example.com', 'm@example.com']) {
      addUser(server.dataDir, u, 'pw');
      const c = new ImapFlow({ host: '127.0.0.1', port: server.ports.imaps, secure: true, auth: { user: u, pass: 'pw' }, tls: { ca: [server.certPem], servername: 'localhost' }, logger: false });
      await c.connect();
      for (let i = 0; i < COUNT; i++) await c.append('INBOX', body(i));
      await c.logout();
    }
  });
  after(async () => {
    await server.stop();
    server.cleanup();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  for (const scheme of ['pop3s', 'imaps'] as const) {
    test(`${scheme}: killed mid-run, rerun finishes with nothing lost and nothing twice`, async () => {
      const user = scheme === 'pop3s' ? 'k@example.com' : 'm@example.com';
      const url = `${scheme}://${user}@127.0.0.1:${scheme === 'pop3s' ? server.ports.pop3s : server.ports.imaps}`;
      const dir = mkdtempSync(join(tmpdir(), 'mailstead-resume-'));
      dirs.push(dir);
      const args = ['archive', url, '--to', dir, '--delete', '--ca', server.certFile, '--no-progress', '--password-stdin'];
      const child = spawn(process.execPath, [CLI, ...args], { stdio: ['pipe', 'ignore', 'ignore'] });
      child.stdin!.end('pw\n');
      const exited = new Promise((resolve) => child.once('exit', resolve));
      const deadline = Date.now() + 30_000;
      while (manifestLines(dir).length < 30 && child.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      child.kill('SIGKILL');
      await exited;
      const atKill = manifestLines(dir).length;
      assert.ok(atKill > 0 && atKill < COUNT, `killed in the middle (${atKill} of ${COUNT} archived)`);

      const rerun = cli(args, 'pw\n');
      assert.equal(rerun.status, 0, `${rerun.stdout}\n${rerun.stderr}`);
      assert.match(rerun.stdout, /^recovered from an interrupted run|^archived/m);
      const lines = manifestLines(dir);
      const ids = lines.map((l) => l.uidl ?? String(l.uid));
      assert.equal(new Set(ids).size, ids.length, 'no message recorded twice');
      assert.equal(lines.length, COUNT, 'every message archived');
      const wanted = new Set(Array.from({ length: COUNT }, (_, i) => sha(body(i))));
      assert.deepEqual(new Set(lines.map((l) => l.sha256)), wanted);
      const files = lines.map((l) => l.file);
      assert.equal(new Set(files).size, COUNT);
      assert.equal(cli(['archive', 'verify', dir]).status, 0);

      const c = new ImapFlow({ host: '127.0.0.1', port: server.ports.imaps, secure: true, auth: { user, pass: 'pw' }, tls: { ca: [server.certPem], servername: 'localhost' }, logger: false });
      await c.connect();
      const status = await c.status('INBOX', { messages: true });
      await c.logout();
      assert.equal(status.messages, 0, 'the server is empty after --delete');
    });
  }
});
