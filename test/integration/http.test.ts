/**
 * The HTTP listeners of the real server: `listening https ...`, TLS 1.2+ with
 * the IMAPS certificate, security headers, /healthz, and /metrics scraped
 * after IMAP, POP3 and LMTP traffic showing each protocol's counters.
 */
import assert from 'node:assert/strict';
import { Agent, request as httpsRequest } from 'node:https';
import { connect as tlsConnect } from 'node:tls';
import { after, before, describe, test } from 'node:test';
import { ImapFlow } from 'imapflow';
import nodemailer from 'nodemailer';
import { addUser, makeMessage, python, startServer, type TestServer } from '../helpers/server.js';
import { httpsGet } from '../helpers/https.js';

const USER = 'metrics@example.com';

const get = httpsGet;

/** The value of one sample in a Prometheus exposition, 0 when absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const labelText = /\{([^}]*)\}/.exec(line)?.[1] ?? '';
    if (wanted.every((w) => labelText.split(',').includes(w))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return 0;
}

describe('HTTP listener and /metrics', () => {
  let server: TestServer;

  before(async () => {
    server = await startServer({
      config: {
        listeners: {
          imap: '127.0.0.1:0',
          imaps: '127.0.0.1:0',
          pop3: '127.0.0.1:0',
          pop3s: '127.0.0.1:0',
          lmtp: '127.0.0.1:0',
          https: '127.0.0.1:0',
        },
      },
    });
    addUser(server.dataDir, USER, 'pw');
  });
  after(async () => {
    await server.stop();
    server.cleanup();
  });

  test('prints "listening https" and serves /healthz over TLS with HSTS and a strict CSP', async () => {
    assert.match(server.stdout(), /^listening https 127\.0\.0\.1:\d+$/m);
    const r = await get(server, '/healthz');
    assert.equal(r.status, 200);
    assert.equal(r.body, 'ok\n');
    assert.match(String(r.headers['strict-transport-security']), /max-age=\d+/);
    assert.match(String(r.headers['content-security-policy']), /default-src 'none'/);
  });

  test('TLS 1.2 is accepted and TLS 1.1 refused, as on IMAPS', async () => {
    const handshake = (maxVersion: 'TLSv1.1' | 'TLSv1.2') =>
      new Promise<string>((resolve, reject) => {
        const socket = tlsConnect({
          host: '127.0.0.1',
          port: server.ports.https,
          ca: [server.certPem],
          servername: 'localhost',
          minVersion: 'TLSv1',
          maxVersion,
          // Lets this client offer TLS 1.1 at all, so the refusal is the server's.
          ciphers: 'DEFAULT@SECLEVEL=0',
        });
        socket.once('secureConnect', () => {
          resolve(socket.getProtocol() ?? '');
          socket.end();
        });
        socket.once('error', reject);
      });
    assert.equal(await handshake('TLSv1.2'), 'TLSv1.2');
    await assert.rejects(handshake('TLSv1.1'));
  });

  test('after IMAP, POP3 and LMTP traffic /metrics shows each protocol', async () => {
    // LMTP: two deliveries.
    const lmtp = nodemailer.createTransport({ lmtp: true, host: '127.0.0.1', port: server.ports.lmtp, secure: false, ignoreTLS: true });
    await lmtp.sendMail({ envelope: { from: 'a@example.org', to: [USER] }, raw: makeMessage({ subject: 'one', to: USER }) });

    // IMAP: a login, SELECT, then IDLE while a second delivery arrives (push).
    const imap = new ImapFlow({
      host: '127.0.0.1',
      port: server.ports.imaps,
      secure: true,
      tls: { ca: [server.certPem], servername: 'localhost' },
      auth: { user: USER, pass: 'pw' },
      logger: false,
    });
    await imap.connect();
    await imap.mailboxOpen('INBOX');
    const idleEnded = imap.idle();
    // Waits for the server to count the IDLE (an event, not a delay).
    for (let m = ''; sample(m, 'mailstead_imap_idle_sessions') < 1; m = (await get(server, '/metrics')).body) {
      await new Promise((r) => setImmediate(r));
    }
    const pushed = new Promise<void>((resolve) => imap.once('exists', () => resolve()));
    await lmtp.sendMail({ envelope: { from: 'a@example.org', to: [USER] }, raw: makeMessage({ subject: 'two', to: USER }) });
    await pushed;
    const during = (await get(server, '/metrics')).body;
    assert.equal(sample(during, 'mailstead_imap_idle_sessions'), 1);
    assert.equal(sample(during, 'mailstead_sessions_open', { protocol: 'imap' }), 1);
    await imap.logout();
    await idleEnded.catch(() => {});

    // POP3: a login with RETR (Python's poplib, over TLS).
    python(
      `
import poplib, ssl, os
ctx = ssl.create_default_context(cafile=os.environ['CA'])
p = poplib.POP3_SSL('127.0.0.1', int(os.environ['PORT']), context=ctx)
p.user(os.environ['USER']); p.pass_('pw')
p.stat(); p.retr(1); p.rset(); p.quit()
`,
      { CA: server.certFile, PORT: server.ports.pop3s, USER },
    );

    const m = (await get(server, '/metrics')).body;
    for (const protocol of ['imap', 'pop3', 'lmtp', 'http']) {
      assert.ok(sample(m, 'mailstead_connections_total', { protocol }) > 0, `connections of ${protocol}`);
    }
    assert.ok(sample(m, 'mailstead_logins_total', { protocol: 'imap', result: 'ok' }) >= 1);
    assert.ok(sample(m, 'mailstead_logins_total', { protocol: 'pop3', result: 'ok' }) >= 1);
    assert.equal(sample(m, 'mailstead_deliveries_total', { result: 'delivered' }), 2);
    assert.ok(sample(m, 'mailstead_command_duration_seconds_count', { protocol: 'imap', command: 'SELECT' }) >= 1);
    assert.ok(sample(m, 'mailstead_command_duration_seconds_count', { protocol: 'pop3', command: 'RETR' }) >= 1);
    assert.equal(sample(m, 'mailstead_command_duration_seconds_count', { protocol: 'imap', command: 'IDLE' }), 0, 'IDLE is not a latency');
    assert.ok(sample(m, 'mailstead_store_operation_duration_seconds_count', { operation: 'appendStaged', result: 'ok' }) >= 2);
    assert.ok(sample(m, 'mailstead_push_signals_total') >= 2);
    assert.ok(sample(m, 'mailstead_push_deliveries_total', { protocol: 'imap' }) >= 1);
    assert.equal(sample(m, 'mailstead_imap_idle_sessions'), 0, 'the IDLE ended with the logout');
    assert.ok(sample(m, 'mailstead_process_resident_memory_bytes') > 0);
  });

  test('SIGTERM with a keep-alive HTTPS connection open: the server stops gracefully and exits 0', async () => {
    const agent = new Agent({ keepAlive: true, ca: [server.certPem], servername: 'localhost' });
    const status = await new Promise<number>((resolve, reject) => {
      httpsRequest({ host: '127.0.0.1', port: server.ports.https, path: '/healthz', agent }, (res) => {
        res.resume().on('end', () => resolve(res.statusCode ?? 0));
      })
        .on('error', reject)
        .end();
    });
    assert.equal(status, 200);
    assert.equal(await server.stop(), 0);
    agent.destroy();
  });
});
