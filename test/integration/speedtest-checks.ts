/**
 * Shared checks for the speed test against any server (Mailstead here,
 * Dovecot in test/interop): run the real CLI, and verify every figure is
 * present and plausible, and that the server's state did not change.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { ImapFlow } from 'imapflow';
import { CLI } from '../helpers/server.js';

export interface Account {
  host: string;
  imapsPort: number;
  pop3sPort: number;
  user: string;
  password: string;
  certPem: string;
}

export interface CliRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `mailstead speedtest ARGS` without blocking the event loop (a server may live in this process). */
export function speedtest(args: string[], env: Record<string, string> = {}, input = ''): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, 'speedtest', ...args], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (t: string) => (stdout += t));
    child.stderr.setEncoding('utf8').on('data', (t: string) => (stderr += t));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.once('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
    child.stdin.end(input);
  });
}

function imapClient(a: Account): ImapFlow {
  const c = new ImapFlow({ host: a.host, port: a.imapsPort, secure: true, auth: { user: a.user, pass: a.password }, tls: { ca: [a.certPem] }, logger: false });
  c.on('error', () => {});
  return c;
}

/**
 * Everything a client can observe of the account: every mailbox with its
 * UIDVALIDITY, UIDNEXT and HIGHESTMODSEQ (when offered), and every message's
 * UID, flags and size. Read with EXAMINE, so taking it changes nothing.
 */
export async function accountState(a: Account): Promise<unknown> {
  const c = imapClient(a);
  await c.connect();
  try {
    const state: Record<string, unknown> = {};
    for (const box of (await c.list()).sort((x, y) => x.path.localeCompare(y.path))) {
      const mb = await c.mailboxOpen(box.path, { readOnly: true });
      const messages = mb.exists > 0 ? await c.fetchAll('1:*', { uid: true, flags: true, size: true }, { uid: true }) : [];
      state[box.path] = {
        uidValidity: String(mb.uidValidity),
        uidNext: mb.uidNext,
        highestModseq: mb.highestModseq === undefined ? null : String(mb.highestModseq),
        // \Recent belongs to whichever session saw the message first (RFC 3501 §2.3.2), not to the mailbox.
        messages: messages.map((m) => [m.uid, [...(m.flags ?? [])].filter((f) => f !== '\\Recent').sort(), m.size]),
      };
      await c.mailboxClose();
    }
    return state;
  } finally {
    await c.logout();
  }
}

/** Appends `n` small varied messages (some with an attachment) to INBOX over IMAP. */
export async function seedMailbox(a: Account, n: number): Promise<void> {
  const c = imapClient(a);
  await c.connect();
  try {
    for (let i = 0; i < n; i++) {
      const attachment = i % 7 === 3 ? `\r\n--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n${Buffer.alloc(20_000 + i * 500, i).toString('base64').replace(/.{76}/g, '$&\r\n')}\r\n` : '\r\n';
      const body =
        `From: Seeder <seed@example.org>\r\nTo: ${a.user}\r\nSubject: seeded ${i + 1}\r\nMessage-ID: <seed-${i}@example.org>\r\nDate: Thu, 26 Nov 2026 10:00:00 +0000\r\n` +
        `MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n${'line of text\r\n'.repeat(5 + i)}${attachment}--b--\r\n`;
      await c.append('INBOX', body, i % 3 === 0 ? ['\\Seen'] : []);
    }
  } finally {
    await c.logout();
  }
}

function plausibleFigure(f: { median: number; min: number; max: number; runs: number[] }, runs: number, name: string, positive = true): void {
  assert.equal(f.runs.length, runs, `${name}: one value per run`);
  assert.ok(f.min <= f.median && f.median <= f.max, `${name}: min <= median <= max (${JSON.stringify(f)})`);
  assert.equal(f.min, Math.min(...f.runs), `${name}: min`);
  assert.equal(f.max, Math.max(...f.runs), `${name}: max`);
  for (const v of f.runs) assert.ok(Number.isFinite(v) && (positive ? v > 0 : v >= 0), `${name}: ${v} should be ${positive ? '> 0' : '>= 0'}`);
}

const round3 = (v: number) => Math.round(v * 1000) / 1000;

/**
 * A phase of schema version 2: wall and CPU time per run, round trips and
 * octets, and one projection per link that follows projection.ts's arithmetic.
 */
// biome-ignore lint: the report is checked field by field
export function checkPhase(phase: any, runs: number, name: string, links: Array<{ name: string; rttMs: number }>, rttMs: number, cost = true): void {
  plausibleFigure(phase.ms, runs, `${name} ms`);
  assert.ok(Number.isInteger(phase.roundTrips) && phase.roundTrips >= 1, `${name}: round trips ${phase.roundTrips}`);
  if (cost) {
    plausibleFigure(phase.cpuMs, runs, `${name} cpuMs`, false);
    assert.equal(typeof phase.clientBound, 'boolean', `${name}: clientBound`);
    assert.ok(Number.isInteger(phase.wireBytes) && phase.wireBytes > 0, `${name}: wire bytes ${phase.wireBytes}`);
  }
  assert.deepEqual(
    phase.projections.map((p: { link: string; rttMs: number }) => [p.link, p.rttMs]),
    links.map((l) => [l.name, l.rttMs]),
    `${name}: one projection per link`,
  );
  for (const p of phase.projections) {
    const expected = round3(Math.max(0, phase.ms.median - phase.roundTrips * rttMs) + phase.roundTrips * p.rttMs);
    assert.ok(Math.abs(p.ms - expected) < 0.002, `${name} on ${p.link}: ${p.ms} = max(0, ${phase.ms.median} − ${phase.roundTrips} × ${rttMs}) + ${phase.roundTrips} × ${p.rttMs}`);
  }
}

// biome-ignore lint: the report is checked field by field
export function checkReport(report: any, opts: { runs: number; messages: number; allowWrite: boolean }): void {
  assert.equal(report.tool, 'mailstead speedtest');
  assert.equal(report.version, 2);
  assert.deepEqual(report.links.slice(0, 2), [
    { name: 'Wi-Fi', rttMs: 20 },
    { name: 'mobile', rttMs: 80 },
  ]);
  assert.equal(report.runs, opts.runs);
  assert.equal(report.readOnly, !opts.allowWrite);
  assert.ok(report.verdict.length > 80, 'a verdict paragraph');
  for (const name of ['imap', 'pop3']) {
    const p = report[name];
    assert.ok(p, `${name} measured`);
    const c = p.connection;
    plausibleFigure(c.dnsMs, opts.runs, `${name} dns`, false);
    for (const k of ['tcpMs', 'tlsMs', 'greetingMs', 'authMs']) plausibleFigure(c[k], opts.runs, `${name} ${k}`);
    assert.match(c.tlsVersion, /^TLSv1\.[23]$/);
    assert.ok(c.tlsCipher.length > 3);
    assert.equal(c.security, 'tls');
    plausibleFigure(p.listing.ms, opts.runs, `${name} listing`);
    plausibleFigure(p.headerSync.ms, opts.runs, `${name} header sync`);
    assert.equal(p.listing.messages, opts.messages, `${name} listing count`);
    assert.equal(p.headerSync.messages, opts.messages, `${name} header count`);
    assert.equal(p.download.messages, opts.messages, `${name} download count`);
    assert.ok(p.listing.bytes > 0 && p.download.bytes === p.listing.bytes, `${name}: downloaded bytes ${p.download.bytes} = listed ${p.listing.bytes}`);
    for (const k of ['seconds', 'messagesPerSecond', 'megabytesPerSecond', 'timeToFirstMessageMs']) plausibleFigure(p.download[k], opts.runs, `${name} download ${k}`);
    assert.ok(p.download.timeToFirstMessageMs.median <= p.download.seconds.median * 1000);
    plausibleFigure(p.resync.ms, opts.runs, `${name} resync`);
    assert.equal(p.resync.newMessages, 0, 'no message added outside --demo');
    assert.equal(p.latencySamplesMs.length, opts.runs * 10);
    assert.ok(p.latencySamplesMs.every((v: number) => v > 0));
    assert.ok(p.measuredRttMs > 0, `${name}: measured RTT`);

    // Version 2: every phase with CPU time, round trips, octets and projections.
    const phase = (f: unknown, what: string, cost = true) => checkPhase(f, opts.runs, `${name} ${what}`, report.links, p.measuredRttMs, cost);
    phase(c.connect, 'connect', false);
    assert.ok(c.connect.roundTrips >= 2, `${name}: TCP and greeting at least`);
    phase(p.login, 'login');
    assert.deepEqual(p.login.ms, c.authMs, `${name}: authMs is the login phase`);
    for (const what of ['listing', 'headerSync', 'download', 'resync']) phase(p[what], what);
    // No compression in the main figures: every message octet crossed the wire, plus the protocol's own.
    assert.equal(c.compression, false, `${name}: no compression in the main figures`);
    assert.ok(p.download.wireBytes >= p.download.bytes, `${name}: download read ${p.download.wireBytes} octets for ${p.download.bytes} of messages: not compressed`);
    assert.ok(Math.abs(p.download.ms.median - p.download.seconds.median * 1000) <= 1, `${name}: download ms is seconds × 1000 (seconds keep three decimals)`);
    for (const what of ['headerSyncPipelined', 'downloadPipelined', 'downloadCompressed']) if (p[what] !== null) phase(p[what], what);
  }
  // IMAP fetches every header in one command; POP3 needs a TOP per message, one at a time.
  assert.ok(report.imap.headerSync.roundTrips <= 2, `IMAP header sync: ${report.imap.headerSync.roundTrips} round trips`);
  assert.ok(report.pop3.headerSync.roundTrips >= opts.messages, `POP3 header sync: ${report.pop3.headerSync.roundTrips} round trips`);
  assert.equal(report.imap.headerSyncPipelined, null);
  assert.equal(report.imap.downloadPipelined, null);
  assert.equal(report.pop3.downloadCompressed, null);
  assert.equal(report.pop3.headerSyncPipelined !== null, report.pop3.pipeliningOffered, 'pipelined rows where PIPELINING is offered');
  if (report.pop3.headerSyncPipelined) assert.ok(report.pop3.headerSyncPipelined.roundTrips < report.pop3.headerSync.roundTrips);
  assert.equal(report.imap.downloadCompressed !== null, report.imap.compressionOffered, 'a compressed row where COMPRESS=DEFLATE is offered');
  if (report.imap.downloadCompressed) {
    assert.equal(report.imap.downloadCompressed.bytes, report.imap.download.bytes);
    assert.ok(report.imap.downloadCompressed.wireBytes < report.imap.download.wireBytes, 'the compressed row read fewer octets');
  }
  assert.equal(report.imap.download.bytes, report.pop3.download.bytes, 'both protocols download the same bytes');
  assert.match(report.imap.resync.method, /^(qresync|condstore|uid-fetch)$/);
  assert.equal(report.pop3.resync.method, 'uidl-diff');
  assert.equal(report.pop3.push.supported, false);
  assert.equal(report.pop3.push.expectedDelayMs, report.pollIntervalSeconds * 500);
  assert.equal(report.pop3.coherence.possible, false);
  if (opts.allowWrite) {
    plausibleFigure(report.imap.push.ms, opts.runs, 'imap push');
    plausibleFigure(report.imap.coherence.ms, opts.runs, 'imap coherence');
  } else {
    assert.equal(report.imap.push.ms, null);
    assert.equal(report.imap.coherence.ms, null);
  }
}

/** One line on stderr, no stack trace. */
export function assertOneLineError(r: CliRun, code: number, pattern: RegExp): void {
  assert.equal(r.status, code, `exit ${r.status}, stderr: ${r.stderr}`);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line: ${r.stderr}`);
  assert.match(lines[0], pattern);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
}
