/** The tools' own POP3 client against the real server: byte-exact RETR, both TLS modes, errors named. */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Pop3Client, Pop3Error } from '../../src/tools/clients/pop3-client.js';
import { addUser, deliver, startServer, type TestServer } from '../helpers/server.js';

describe('tools POP3 client', () => {
  let server: TestServer;
  const message = Buffer.concat([
    Buffer.from('Subject: bytes\r\nContent-Type: text/plain; charset=latin1\r\n\r\n.starts with dot\r\n'),
    Buffer.from([0xe9, 0xe8, 0x0d, 0x0a]),
    Buffer.from('.\r\n..\r\nlast line\r\n'),
  ]);

  before(async () => {
    server = await startServer();
    addUser(server.dataDir, 'c@example.com', 'pw');
    assert.equal(deliver(server.dataDir, 'c@example.com', message).status, 0);
  });
  after(async () => {
    await server.stop();
    server.cleanup();
  });

  for (const security of ['tls', 'starttls'] as const) {
    test(`${security}: login, STAT, UIDL, RETR byte-exact, TOP`, async () => {
      const c = new Pop3Client({ host: '127.0.0.1', port: security === 'tls' ? server.ports.pop3s : server.ports.pop3, security, ca: [server.certPem], servername: 'localhost' });
      const timings = await c.connect();
      assert.match(timings.tlsVersion ?? '', /^TLSv1\.[23]$/);
      await c.login('c@example.com', 'pw');
      assert.deepEqual(await c.stat(), { count: 1, size: message.length });
      const [entry] = await c.uidl();
      assert.equal(entry.number, 1);
      assert.deepEqual(await c.retr(1), message);
      assert.match((await c.top(1, 0)).toString('latin1'), /^Subject: bytes\r\n[^]*\r\n\r\n$/);
      await c.quit();
    });
  }

  test('errors are named: bad password, self-signed certificate, refused port', async () => {
    const bad = new Pop3Client({ host: '127.0.0.1', port: server.ports.pop3s, security: 'tls', insecure: true });
    await bad.connect();
    await assert.rejects(bad.login('c@example.com', 'wrong'), (e: Pop3Error) => e.kind === 'auth');
    bad.close();
    const untrusted = new Pop3Client({ host: '127.0.0.1', port: server.ports.pop3s, security: 'tls' });
    await assert.rejects(untrusted.connect(), (e: Pop3Error) => e.kind === 'tls' && /certificate/.test(e.message));
    const refused = new Pop3Client({ host: '127.0.0.1', port: 1, security: 'plain' });
    await assert.rejects(refused.connect(), (e: Pop3Error) => e.kind === 'connect');
  });
});
