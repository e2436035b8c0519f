/** POP3 login limits: three failures per connection, and the node's throttle (RFC 2449 / RFC 3206 codes). */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { FakeConnection } from '../../test/helpers/fake-connection.js';
import { DEFAULT_LOGIN_THROTTLE, LoginThrottle } from '../domain/login-throttle.js';
import { MailDomain } from '../domain/mail-domain.js';
import { LocalBus } from '../notify/bus.js';
import { silentLogger } from '../observability/log.js';
import { encodePlain } from '../protocol/sasl/plain.js';
import { openSqliteStore } from '../store/sqlite/index.js';
import type { MailStore } from '../store/types.js';
import { createPop3Session } from './session.js';

const USER = 'alice@example.com';
const PASSWORD = 'alice password';
let store: MailStore;
let domain: MailDomain;

before(async () => {
  store = await openSqliteStore(':memory:');
  const loginThrottle = new LoginThrottle({ ...DEFAULT_LOGIN_THROTTLE, baseDelayMs: 1, maxDelayMs: 2, sourceBlockAfterFailures: 4 });
  domain = new MailDomain(store, new LocalBus(), { passwords: { scram: false, scramIterations: 4096 }, loginThrottle });
  await domain.createAccount(USER, PASSWORD);
});
after(async () => store.close());

function open(remoteAddress: string): FakeConnection {
  const conn = new FakeConnection({ secure: true, remoteAddress });
  conn.session = createPop3Session(conn, {
    domain,
    log: silentLogger(),
    hostname: 'mail.example.test',
    tlsAvailable: true,
    allowCleartextAuthFromLoopback: false,
    authFailureDelayMs: 1,
    idleTimeoutMs: 600000,
    unauthenticatedTimeoutMs: 60000,
  });
  return conn;
}

async function cmd(conn: FakeConnection, line: string): Promise<string> {
  conn.take();
  conn.send(line + '\r\n');
  await conn.waitFor(/\r\n$/);
  return conn.take();
}

test('the third failed login on a connection is answered -ERR [AUTH] and the connection is closed', async () => {
  const conn = open('192.0.2.10');
  await conn.waitFor(/\r\n$/);
  await cmd(conn, `USER ${USER}`);
  assert.equal(await cmd(conn, 'PASS wrong'), '-ERR [AUTH] Authentication failed\r\n');
  assert.equal(await cmd(conn, `AUTH PLAIN ${encodePlain('nobody@example.com', 'x')}`), '-ERR [AUTH] Authentication failed\r\n');
  assert.equal(conn.closedByServer, false);
  assert.equal(await cmd(conn, `AUTH PLAIN ${encodePlain(USER, PASSWORD, 'someone@else')}`), '-ERR [AUTH] Authentication failed; too many failures, closing\r\n');
  await new Promise((r) => setImmediate(r));
  assert.equal(conn.closedByServer, true);
});

test('a blocked address gets -ERR [SYS/TEMP] without a password check, also with the right password', async () => {
  for (let i = 0; i < 2; i++) {
    const conn = open('192.0.2.20');
    await conn.waitFor(/\r\n$/);
    await cmd(conn, `AUTH PLAIN ${encodePlain(USER, `wrong${i}a`)}`);
    await cmd(conn, `AUTH PLAIN ${encodePlain(USER, `wrong${i}b`)}`);
  }
  const conn = open('192.0.2.20');
  await conn.waitFor(/\r\n$/);
  assert.equal(await cmd(conn, `AUTH PLAIN ${encodePlain(USER, PASSWORD)}`), '-ERR [SYS/TEMP] Too many failed logins; try again later\r\n');
  // Another address logs in at once.
  const owner = open('198.51.100.1');
  await owner.waitFor(/\r\n$/);
  assert.equal(await cmd(owner, `AUTH PLAIN ${encodePlain(USER, PASSWORD)}`), '+OK Logged in\r\n');
});
