/**
 * /healthz and /metrics on every node of a PostgreSQL cluster: each node
 * serves its own figures, and /healthz turns 503 while PostgreSQL is down and
 * 200 again when it is back.
 */
import assert from 'node:assert/strict';
import { request as httpsRequest } from 'node:https';
import { after, describe, test } from 'node:test';
import { ImapFlow } from 'imapflow';
import { cli, startServer, type TestServer } from '../helpers/server.js';
import { startPostgres } from '../helpers/postgres.js';
import { httpsGet } from '../helpers/https.js';

const pg = await startPostgres();
after(() => pg.stop());

const get = httpsGet;

/** Asks until the answer is `status`: the store's connection pool notices an outage on its next query. */
async function healthBecomes(server: TestServer, status: number): Promise<void> {
  const deadline = Date.now() + 120_000; // generous: only a node that never notices fails this
  for (;;) {
    if ((await get(server, '/healthz')).status === status) return;
    if (Date.now() > deadline) throw new Error(`/healthz never answered ${status}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const imapConnections = (metrics: string) => Number(/^mailstead_connections_total\{protocol="imap"\} (\d+)$/m.exec(metrics)?.[1] ?? 0);

describe('HTTP on a PostgreSQL cluster', { skip: pg.down === null ? 'needs our own PostgreSQL server' : false }, () => {
  test('each node serves its own metrics; /healthz follows PostgreSQL', async () => {
    const url = await pg.newDatabase();
    const listeners = { imap: '127.0.0.1:0', imaps: '127.0.0.1:0', pop3: '127.0.0.1:0', pop3s: '127.0.0.1:0', lmtp: '127.0.0.1:0', https: '127.0.0.1:0' };
    const a = await startServer({ config: { store: url, listeners } });
    const b = await startServer({ config: { store: url, listeners } });
    try {
      const r = cli(['user', 'add', 'node@example.com', '--password-stdin', '--store', url], 'pw\n');
      assert.equal(r.status, 0, r.stderr);
      const client = new ImapFlow({
        host: '127.0.0.1',
        port: a.ports.imaps,
        secure: true,
        tls: { ca: [a.certPem], servername: 'localhost' },
        auth: { user: 'node@example.com', pass: 'pw' },
        logger: false,
      });
      await client.connect();
      await client.logout();
      assert.equal(imapConnections((await get(a, '/metrics')).body), 1, 'node A counted its IMAP connection');
      assert.equal(imapConnections((await get(b, '/metrics')).body), 0, 'node B has its own figures');

      assert.equal((await get(a, '/healthz')).status, 200);
      assert.equal((await get(b, '/healthz')).status, 200);
      await pg.down!();
      await healthBecomes(a, 503);
      await healthBecomes(b, 503);
      await pg.up!();
      await healthBecomes(a, 200);
      await healthBecomes(b, 200);
    } finally {
      await a.stop();
      await b.stop();
      a.cleanup();
      b.cleanup();
    }
  });
});
