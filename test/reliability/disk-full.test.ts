/**
 * Disk full, on a real small filesystem: the data directory is an 8 MB tmpfs
 * (mounted here, so the test runs as root). With the disk filled, IMAP APPEND
 * answers NO [UNAVAILABLE], LMTP 452 4.3.1, `mailstead deliver` exits 75, and
 * nothing refused is stored; the same IMAP session still answers NOOP and
 * FETCH, and once space is freed everything works again without a restart.
 * Build first (npm run build): the server is the built dist/.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, rmSync, rmdirSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ImapFlow } from 'imapflow';
import nodemailer from 'nodemailer';
import { deliver, startServer, type TestServer } from '../helpers/server.js';

/** Mounts an 8 MB tmpfs; null (with the reason) when this machine cannot (not root, no mount). */
function mountSmallFilesystem(): { dir: string } | { skip: string } {
  if (process.getuid?.() !== 0) return { skip: 'needs root to mount a tmpfs' };
  const dir = mkdtempSync(join(tmpdir(), 'mailstead-full-'));
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=8m,mode=0750', 'tmpfs', dir], { encoding: 'utf8' });
  if (r.status !== 0) {
    rmdirSync(dir);
    return { skip: `mount -t tmpfs failed: ${r.stderr.trim()}` };
  }
  return { dir };
}

function unmount(dir: string): void {
  spawnSync('umount', [dir]);
  rmdirSync(dir);
}

/** Writes zeros into `file` until the filesystem refuses (ENOSPC). */
function fillDisk(file: string): void {
  const fd = openSync(file, 'w');
  const chunk = Buffer.alloc(64 * 1024);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (err) {
    assert.equal((err as NodeJS.ErrnoException).code, 'ENOSPC');
  } finally {
    closeSync(fd);
  }
  // The last partial block too.
  const tail = openSync(file, 'a');
  try {
    for (;;) writeSync(tail, Buffer.alloc(512));
  } catch {
    // full
  } finally {
    closeSync(tail);
  }
}

/** A message of about `size` bytes (CRLF, ASCII) whose subject names it. */
function message(subject: string, size: number): Buffer {
  const head = `From: sender@example.org\r\nTo: someone@example.com\r\nSubject: ${subject}\r\nMessage-ID: <${subject}@full.test>\r\n\r\n`;
  const line = 'The quick brown fox jumps over the lazy dog, again and again and again.\r\n';
  return Buffer.from(head + line.repeat(Math.max(1, Math.ceil(size / line.length))));
}

async function subjectsIn(client: ImapFlow): Promise<string[]> {
  const subjects: string[] = [];
  const lock = await client.getMailboxLock('INBOX');
  try {
    if ((client.mailbox as { exists: number }).exists === 0) return subjects;
    for await (const m of client.fetch('1:*', { envelope: true })) subjects.push(m.envelope?.subject ?? '');
  } finally {
    lock.release();
  }
  return subjects;
}

describe('disk full', () => {
  test('refuses with temporary-failure answers, stores nothing refused, and recovers without a restart', async (t) => {
    const mounted = mountSmallFilesystem();
    if ('skip' in mounted) {
      t.skip(mounted.skip);
      return;
    }
    const dataDir = join(mounted.dir, 'data');
    mkdirSync(dataDir, { mode: 0o750 });
    let server: TestServer | null = null;
    let client: ImapFlow | null = null;
    try {
      server = await startServer({ dataDir });
      const { address, password } = server.initialAccount;
      client = new ImapFlow({
        host: '127.0.0.1',
        port: server.ports.imaps,
        secure: true,
        tls: { ca: [server.certPem], servername: 'localhost' },
        auth: { user: address, pass: password },
        logger: false,
        disableAutoIdle: true,
      });
      await client.connect();
      const lmtp = nodemailer.createTransport({ lmtp: true, host: '127.0.0.1', port: server.ports.lmtp, ignoreTLS: true });
      const lmtpSend = (subject: string, size: number) =>
        lmtp.sendMail({ envelope: { from: 'sender@example.org', to: [address] }, raw: message(subject, size) });

      const before = message('before', 2000);
      assert.ok(await client.append('INBOX', before));

      // --- full: a 1 MB message cannot fit, whatever free pages the WAL may still hold.
      const filler = join(mounted.dir, 'filler');
      fillDisk(filler);

      await assert.rejects(client.append('INBOX', message('refused-imap', 1024 * 1024)), (err: Error & Record<string, unknown>) => {
        assert.equal(err.serverResponseCode, 'UNAVAILABLE', `IMAP answer: ${String(err.response ?? err.message)}`);
        assert.match(String(err.response ?? ''), /NO \[UNAVAILABLE\] Server storage is full/);
        return true;
      });

      // LMTP answers per recipient after DATA (RFC 2033 §4.2); nodemailer resolves with the recipient rejected.
      const refusedLmtp = await lmtpSend('refused-lmtp', 1024 * 1024);
      assert.deepEqual(refusedLmtp.accepted, []);
      assert.deepEqual(refusedLmtp.rejected, [address]);
      assert.match(refusedLmtp.response, /^452 4\.3\.1 Mail system full/);

      const cli = deliver(dataDir, address, message('refused-deliver', 1024 * 1024));
      assert.equal(cli.status, 75, `deliver exit status; stderr: ${cli.stderr}`);
      assert.doesNotMatch(cli.stdout, /delivered/);
      assert.match(cli.stderr, /mail system full/);
      // The body files that hit ENOSPC are gone, not left half-written (bodies are files, issue 11).
      assert.deepEqual(readdirSync(join(dataDir, 'blobs', 'tmp')), []);

      // --- the same session is still usable while the disk is full.
      await client.noop();
      const lock = await client.getMailboxLock('INBOX');
      try {
        const fetched = await client.fetchOne('*', { source: true });
        assert.ok(fetched && fetched.source?.equals(before), 'FETCH of the stored message while the disk is full');
      } finally {
        lock.release();
      }

      // --- space freed: everything works again, in the same session and process.
      rmSync(filler);
      const after = message('after-imap', 1024 * 1024);
      const appended = await client.append('INBOX', after);
      assert.ok(appended && appended.uid, 'APPEND after space is freed');
      const info = await lmtpSend('after-lmtp', 1024 * 1024);
      assert.deepEqual(info.accepted, [address]);
      const cliAfter = deliver(dataDir, address, message('after-deliver', 1024));
      assert.equal(cliAfter.status, 0, cliAfter.stderr);
      await client.noop();

      // Nothing refused was stored; everything acknowledged was, byte for byte.
      const subjects = await subjectsIn(client);
      assert.deepEqual(subjects.sort(), ['after-deliver', 'after-imap', 'after-lmtp', 'before'].sort());
      const check = await client.getMailboxLock('INBOX');
      try {
        const stored = await client.fetchOne(String(appended.uid), { source: true }, { uid: true });
        assert.ok(stored && stored.source?.equals(after), 'the message appended after freeing space is byte-identical');
      } finally {
        check.release();
      }
      await client.logout();
      client = null;
      assert.equal(await server.stop(), 0);
      assert.doesNotMatch(server.stderr(), /uncaught|unhandled/i);
    } finally {
      client?.close();
      await server?.kill();
      unmount(mounted.dir);
    }
  });
});
