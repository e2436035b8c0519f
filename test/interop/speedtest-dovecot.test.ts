/**
 * `mailstead speedtest` against Dovecot from Debian: the same checks as
 * against Mailstead (figures plausible, read-only leaves the account
 * unchanged — including Dovecot's POP3 \Seen-at-logout, which RSET avoids —
 * and --allow-write leaves no folder behind), plus QRESYNC resync.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type DovecotInstance, startDovecot } from '../helpers/dovecot.js';
import { type Account, accountState, assertOneLineError, checkReport, seedMailbox, speedtest } from '../integration/speedtest-checks.js';

const MESSAGES = 40;

describe('mailstead speedtest against Dovecot', () => {
  let dovecot: DovecotInstance;
  let account: Account;
  let out: string;
  const urls = () => ['--imap', `imaps://${account.user}@127.0.0.1:${account.imapsPort}`, '--pop3', `pop3s://${account.user}@127.0.0.1:${account.pop3sPort}`];

  before(async () => {
    dovecot = await startDovecot();
    account = { host: '127.0.0.1', imapsPort: dovecot.imapsPort, pop3sPort: dovecot.pop3sPort, user: dovecot.user, password: dovecot.password, certPem: dovecot.certPem };
    await seedMailbox(account, MESSAGES);
    out = mkdtempSync(join(tmpdir(), 'speedtest-dovecot-'));
  });
  after(async () => {
    await dovecot.stop();
    rmSync(out, { recursive: true, force: true });
  });

  test('read-only: every figure plausible, QRESYNC used, the account unchanged', async () => {
    const beforeState = await accountState(account);
    const json = join(out, 'r.json');
    const r = await speedtest([...urls(), '--ca', dovecot.certFile, '--runs', '2', '--json', json, '--html', join(out, 'r.html')], { MAILSTEAD_PASSWORD: account.password });
    assert.equal(r.status, 0, r.stderr);
    const report = JSON.parse(readFileSync(json, 'utf8'));
    checkReport(report, { runs: 2, messages: MESSAGES, allowWrite: false });
    assert.equal(report.imap.resync.method, 'qresync');
    assert.deepEqual(await accountState(account), beforeState);
  });

  test('--allow-write: push and coherence measured, no folder left behind', async () => {
    const beforeState = await accountState(account);
    const json = join(out, 'w.json');
    const r = await speedtest([...urls(), '--ca', dovecot.certFile, '--runs', '1', '--allow-write', '--json', json, '--quiet'], { MAILSTEAD_PASSWORD: account.password });
    assert.equal(r.status, 0, r.stderr);
    const report = JSON.parse(readFileSync(json, 'utf8'));
    checkReport(report, { runs: 1, messages: MESSAGES, allowWrite: true });
    assert.deepEqual(await accountState(account), beforeState);
  });

  test('wrong password and bad certificate are named', async () => {
    assertOneLineError(await speedtest([...urls(), '--ca', dovecot.certFile], { MAILSTEAD_PASSWORD: 'wrong' }), 5, /authentication failed/);
    assertOneLineError(await speedtest(urls(), { MAILSTEAD_PASSWORD: account.password }), 4, /bad certificate/);
  });
});
