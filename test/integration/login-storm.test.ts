/**
 * Logins under load over the real server (dist/): the verified-credential
 * cache against `user passwd` / `user del` from the CLI (another process),
 * a storm of logins that must not hold up a logged-in session, and the
 * temporary refusal once the verification queue is full. The tests assert on
 * replies and on the order in which they arrive, not on elapsed time.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { addUser, cli, deliver, makeMessage, startServer, type TestServer } from '../helpers/server.js';
import { LineClient } from '../helpers/line-client.js';

const ALICE = 'alice@example.com';
const ALICE_PASSWORD = 'alice-correct-horse';

async function imap(server: TestServer, source?: string): Promise<LineClient> {
  const c = await LineClient.open(server.ports.imap, source);
  await c.read(/^\* OK [^\r]*\r\n/);
  return c;
}

const tagged = (tag: string) => new RegExp(`(^|\\r\\n)${tag} (OK|NO|BAD)[^\\r]*\\r\\n`);

async function imapCmd(c: LineClient, tag: string, command: string): Promise<string> {
  c.send(`${tag} ${command}`);
  return c.read(tagged(tag));
}

/** The tagged reply to a LOGIN on a fresh connection. */
async function imapLogin(server: TestServer, user: string, password: string, source?: string): Promise<string> {
  const c = await imap(server, source);
  try {
    return await imapCmd(c, 'a', `LOGIN "${user}" "${password}"`);
  } finally {
    c.end();
  }
}

/** No delays and no blocks: these tests are about verification load, not guessing. */
const STORM_CONFIG = {
  authFailureDelayMs: 0,
  tls: { allowCleartextAuthFromLoopback: true },
  auth: { scram: false, maxFailureDelayMs: 0, sourceBlockAfterFailures: 100_000, accountBlockAfterFailures: 100_000 },
};

describe('verified-credential cache and login storms over the real server', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ config: STORM_CONFIG });
    addUser(server.dataDir, ALICE, ALICE_PASSWORD);
  });
  after(async () => {
    await server.stop();
    server.cleanup();
  });

  it('user passwd from the CLI: the cached old password fails at once, the new one works; user del: no login', async () => {
    // Twice: the second login is answered from the cache.
    assert.match(await imapLogin(server, ALICE, ALICE_PASSWORD), /^a OK /);
    assert.match(await imapLogin(server, ALICE, ALICE_PASSWORD), /^a OK /);
    const changed = cli(['user', 'passwd', ALICE, '--password-stdin', '--data-dir', server.dataDir], 'brand-new-password\n');
    assert.equal(changed.status, 0, changed.stderr);
    assert.equal(await imapLogin(server, ALICE, ALICE_PASSWORD), 'a NO [AUTHENTICATIONFAILED] Authentication failed\r\n');
    assert.match(await imapLogin(server, ALICE, 'brand-new-password'), /^a OK /);
    assert.match(await imapLogin(server, ALICE, 'brand-new-password'), /^a OK /);

    addUser(server.dataDir, 'bob@example.com', 'bob-password');
    assert.match(await imapLogin(server, 'bob@example.com', 'bob-password'), /^a OK /);
    const deleted = cli(['user', 'del', 'bob@example.com', '--data-dir', server.dataDir]);
    assert.equal(deleted.status, 0, deleted.stderr);
    assert.equal(await imapLogin(server, 'bob@example.com', 'bob-password'), 'a NO [AUTHENTICATIONFAILED] Authentication failed\r\n');
  });

  it('during a storm of 50 logins a logged-in session answers NOOP and FETCH BODY[] before most of the storm is answered', async (t) => {
    const body = 'x'.repeat(76) + '\r\n';
    const r = deliver(server.dataDir, ALICE, makeMessage({ subject: 'during the storm', body: body.repeat(2000) }));
    assert.equal(r.status, 0, r.stderr);
    const session = await imap(server);
    assert.match(await imapCmd(session, 'a', `LOGIN ${ALICE} brand-new-password`), /^a OK /);
    assert.match(await imapCmd(session, 'b', 'SELECT INBOX'), /b OK /);

    // Distinct wrong passwords: no cache hit and no shared verification, so each costs one scrypt.
    const storm = await Promise.all(Array.from({ length: 50 }, () => imap(server, '127.0.0.2')));
    let answered = 0;
    const replies = storm.map(async (c, i) => {
      const reply = await imapCmd(c, 's', `LOGIN ${ALICE} wrong-${i}`);
      answered++;
      c.end();
      return reply;
    });
    // The first storm answer means every storm LOGIN has reached the server and waits for its verification.
    await Promise.race(replies);
    assert.match(await imapCmd(session, 'c', 'NOOP'), /c OK /);
    const fetched = await imapCmd(session, 'd', 'UID FETCH 1:* (BODY.PEEK[])');
    const answeredBeforeFetch = answered;
    t.diagnostic(`FETCH answered after ${answeredBeforeFetch} of 50 storm logins`);
    assert.match(fetched, /BODY\[\] \{\d+\}/);
    assert.match(fetched, /d OK /);
    const all = await Promise.all(replies);
    assert.ok(all.every((reply) => reply === 's NO [AUTHENTICATIONFAILED] Authentication failed\r\n'), all.find((x) => !x.startsWith('s NO')));
    // Body reads share the libuv pool with scrypt: unbounded, the FETCH waited behind nearly all 50 verifications.
    assert.ok(answeredBeforeFetch < 25, `the FETCH was answered after ${answeredBeforeFetch} of 50 storm logins`);
    assert.match(await imapCmd(session, 'e', 'LOGOUT'), /e OK /);
    session.end();
  });
});

describe('a full verification queue', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({
      config: { ...STORM_CONFIG, auth: { ...STORM_CONFIG.auth, maxConcurrentVerifications: 1, maxQueuedVerifications: 1 } },
    });
    addUser(server.dataDir, ALICE, ALICE_PASSWORD);
  });
  after(async () => {
    await server.stop();
    server.cleanup();
  });

  it('refuses further logins as a temporary failure: IMAP NO [UNAVAILABLE], POP3 -ERR [SYS/TEMP]', async () => {
    // Ten at once with room for two (one verifying, one waiting): the rest are refused without a check.
    const clients = await Promise.all(Array.from({ length: 10 }, () => imap(server)));
    const replies = await Promise.all(clients.map((c, i) => imapCmd(c, 'a', `LOGIN ${ALICE} wrong-${i}`)));
    for (const c of clients) c.end();
    const busy = replies.filter((reply) => reply === 'a NO [UNAVAILABLE] Server busy; try again later\r\n');
    assert.ok(busy.length >= 1, replies.join(''));
    assert.ok(replies.every((reply) => busy.includes(reply) || reply === 'a NO [AUTHENTICATIONFAILED] Authentication failed\r\n'), replies.join(''));

    const pop3 = await Promise.all(
      Array.from({ length: 10 }, async () => {
        const p = await LineClient.open(server.ports.pop3);
        await p.read(/^\+OK[^\r]*\r\n/);
        p.send(`USER ${ALICE}`);
        await p.read(/^\+OK[^\r]*\r\n/);
        return p;
      }),
    );
    const passReplies = await Promise.all(
      pop3.map((p, i) => {
        p.send(`PASS wrong-${i}`);
        return p.read(/^(\+OK|-ERR)[^\r]*\r\n/);
      }),
    );
    for (const p of pop3) p.end();
    assert.ok(passReplies.includes('-ERR [SYS/TEMP] Server busy; try again later\r\n'), passReplies.join(''));
    // Once the storm has passed, the right password gets in.
    assert.match(await imapLogin(server, ALICE, ALICE_PASSWORD), /^a OK /);
  });
});
