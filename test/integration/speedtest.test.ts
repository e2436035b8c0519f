/**
 * `mailstead speedtest` against the real server: every figure present and
 * plausible, the read-only default changes nothing, --allow-write leaves no
 * folder behind, failures are named with their exit codes.
 */
import assert from 'node:assert/strict';
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { addUser, startServer, type TestServer } from '../helpers/server.js';
import { type Account, accountState, assertOneLineError, checkReport, seedMailbox, speedtest } from './speedtest-checks.js';

/** A few hundred: POP3's TOP per message against IMAP's one command shows in the round trips. */
const MESSAGES = 300;

describe('mailstead speedtest against Mailstead', () => {
  let server: TestServer;
  let account: Account;
  let out: string;
  const urls = () => [`--imap`, `imaps://${account.user}@127.0.0.1:${account.imapsPort}`, `--pop3`, `pop3s://${account.user}@127.0.0.1:${account.pop3sPort}`];

  before(async () => {
    server = await startServer();
    addUser(server.dataDir, 'speed@example.com', 'speed-pw');
    account = { host: '127.0.0.1', imapsPort: server.ports.imaps, pop3sPort: server.ports.pop3s, user: 'speed@example.com', password: 'speed-pw', certPem: server.certPem };
    await seedMailbox(account, MESSAGES);
    out = mkdtempSync(join(tmpdir(), 'speedtest-out-'));
  });
  after(async () => {
    await server.stop();
    server.cleanup();
    rmSync(out, { recursive: true, force: true });
  });

  test('read-only by default: every figure plausible, the account unchanged', async () => {
    const beforeState = await accountState(account);
    const json = join(out, 'r.json');
    const r = await speedtest([...urls(), '--ca', server.certFile, '--runs', '2', '--json', json, '--html', join(out, 'r.html')], { MAILSTEAD_PASSWORD: account.password });
    assert.equal(r.status, 0, r.stderr);
    const report = JSON.parse(readFileSync(json, 'utf8'));
    checkReport(report, { runs: 2, messages: MESSAGES, allowWrite: false });
    assert.equal(report.insecure, false);
    assert.match(r.stdout, /Open mailbox \(headers\)/);
    assert.match(r.stdout, new RegExp(report.verdict.slice(0, 40).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
    // Not a TTY: plain progress lines on stderr.
    assert.match(r.stderr, /^imap run 2\/2: download done \(300\/300\)$/m);
    assert.match(r.stderr, /^pop3 run 2\/2: headers done \(300\/300\)$/m);
    // The table shows the client's cost and the projections; the verdict projects onto both default links.
    assert.match(r.stdout, /^ {2}client +CPU .*round trips?, /m);
    assert.match(r.stdout, /^Projected +IMAP Wi-Fi 20 ms +POP3 Wi-Fi 20 ms +IMAP mobile 80 ms +POP3 mobile 80 ms$/m);
    assert.match(report.verdict, /Projected for Wi-Fi 20 ms round trips: .*Projected for mobile 80 ms round trips: /);
    assert.deepEqual(await accountState(account), beforeState);
  });

  test('--allow-write measures push and coherence and leaves no folder behind', async () => {
    const beforeState = await accountState(account);
    const json = join(out, 'w.json');
    const r = await speedtest([...urls(), '--ca', server.certFile, '--runs', '1', '--allow-write', '--password-stdin', '--json', json, '--quiet'], {}, `${account.password}\n`);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, '');
    checkReport(JSON.parse(readFileSync(json, 'utf8')), { runs: 1, messages: MESSAGES, allowWrite: true });
    assert.deepEqual(await accountState(account), beforeState);
  });

  test('--rtt adds a link to every projection; a bad value is a usage error', async () => {
    const env = { MAILSTEAD_PASSWORD: account.password };
    const json = join(out, 'rtt.json');
    const r = await speedtest(['--pop3', urls()[3], '--ca', server.certFile, '--runs', '1', '--rtt', '150', '--rtt', '20', '--json', json, '--quiet'], env);
    assert.equal(r.status, 0, r.stderr);
    const report = JSON.parse(readFileSync(json, 'utf8'));
    assert.deepEqual(report.links, [
      { name: 'Wi-Fi', rttMs: 20 },
      { name: 'mobile', rttMs: 80 },
      { name: '--rtt 150', rttMs: 150 },
    ]);
    const headers = report.pop3.headerSync;
    assert.equal(headers.projections[2].rttMs, 150);
    assert.ok(headers.projections[2].ms >= headers.roundTrips * 150, 'every TOP costs at least the link RTT');
    assert.match(r.stdout, /POP3 150 ms/);
    for (const bad of ['0', 'abc', '-3', '20ms', '10001']) {
      assertOneLineError(await speedtest(['--pop3', urls()[3], '--insecure', '--rtt', bad], env), 64, /--rtt wants a round-trip time in milliseconds/);
    }
    const many = ['1', '2', '3', '4', '5'].flatMap((v) => ['--rtt', v]);
    assertOneLineError(await speedtest(['--pop3', urls()[3], '--insecure', ...many], env), 64, /--rtt may be given at most 4 times/);
  });

  test('failures are one line with a named exit code', async () => {
    const env = { MAILSTEAD_PASSWORD: account.password };
    assertOneLineError(await speedtest([...urls(), '--ca', server.certFile], { MAILSTEAD_PASSWORD: 'wrong' }), 5, /authentication failed/);
    assertOneLineError(await speedtest(urls(), env), 4, /bad certificate/);
    const closed = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const port = (s.address() as { port: number }).port;
        s.close(() => resolve(port));
      });
    });
    assertOneLineError(await speedtest(['--pop3', `pop3s://x@127.0.0.1:${closed}`, '--insecure'], env), 3, /unreachable/);
    assertOneLineError(await speedtest(['--imap', `imaps://x@127.0.0.1:${closed}`, '--insecure'], env), 3, /unreachable/);
    assertOneLineError(await speedtest(['--imap', `imap://x@127.0.0.1:${server.ports.imap}`], env), 64, /plaintext/);
    assertOneLineError(await speedtest(['--imap', `imaps://x@127.0.0.1:${server.ports.imaps}`], { MAILSTEAD_PASSWORD: '' }), 64, /no password/);
    // --insecure is accepted, and the report says so.
    const json = join(out, 'i.json');
    const r = await speedtest(['--pop3', `pop3s://${account.user}@127.0.0.1:${account.pop3sPort}`, '--insecure', '--runs', '1', '--json', json, '--quiet'], env);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(JSON.parse(readFileSync(json, 'utf8')).insecure, true);
    assert.match(r.stdout, /certificates were NOT verified/);
  });
});
