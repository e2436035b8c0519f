/**
 * Login throttling and password storage over the real server (dist/), with
 * real sockets from several loopback source addresses (127.0.0.2 attacks,
 * 127.0.0.3 is the owner). Delays are configured tiny: the tests assert on
 * replies, closes and stored strings, not on elapsed time.
 */
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { ScramClient } from '../helpers/scram-client.js';
import { addUser, cli, makeDataDir, startServer, type TestServer } from '../helpers/server.js';
import { LineClient } from '../helpers/line-client.js';

const ALICE = 'alice@example.com';
const ALICE_PASSWORD = 'alice-correct-horse';
const BOB = 'bob@example.com';
const BOB_PASSWORD = 'bob-battery-staple';
const CAROL = 'carol@example.com';

async function imap(server: TestServer, source: string): Promise<LineClient> {
  const c = await LineClient.open(server.ports.imap, source);
  await c.read(/^\* OK [^\r]*\r\n/);
  return c;
}

async function imapCmd(c: LineClient, tag: string, command: string): Promise<string> {
  c.send(`${tag} ${command}`);
  return c.read(new RegExp(`(^|\\r\\n)${tag} (OK|NO|BAD)[^\\r]*\\r\\n`));
}

async function pop3(server: TestServer, source: string): Promise<LineClient> {
  const c = await LineClient.open(server.ports.pop3, source);
  await c.read(/^\+OK[^\r]*\r\n/);
  return c;
}

async function pop3Cmd(c: LineClient, line: string): Promise<string> {
  c.send(line);
  return c.read(/^(\+OK|-ERR|\+ )[^\r]*\r\n/);
}

/** A LOGIN from `source` on a fresh connection: the tagged reply. */
async function imapLogin(server: TestServer, source: string, user: string, password: string): Promise<string> {
  const c = await imap(server, source);
  try {
    return await imapCmd(c, 'a', `LOGIN "${user}" "${password}"`);
  } finally {
    c.end();
  }
}

function storedCredential(dataDir: string, address: string): string {
  const db = new Database(join(dataDir, 'mailstead.db'), { readonly: true, fileMustExist: true });
  try {
    return (db.prepare('SELECT password_hash FROM accounts WHERE address = ?').get(address) as { password_hash: string }).password_hash;
  } finally {
    db.close();
  }
}

const THROTTLE_CONFIG = {
  authFailureDelayMs: 1,
  tls: { allowCleartextAuthFromLoopback: true },
  auth: {
    scramIterations: 4096,
    maxFailureDelayMs: 8,
    sourceBlockAfterFailures: 6,
    accountBlockAfterFailures: 4,
    blockSeconds: 3600,
    failureWindowSeconds: 3600,
  },
};

describe('login throttling over the real server', () => {
  let server: TestServer;
  before(async () => {
    const dataDir = makeDataDir();
    // Accounts made by the CLI with the server's [auth] settings (so their SCRAM count is the configured one).
    const cliConfig = join(dataDir, 'cli-config.json');
    writeFileSync(cliConfig, JSON.stringify({ dataDir, auth: THROTTLE_CONFIG.auth }));
    for (const [address, password] of [[ALICE, ALICE_PASSWORD], [BOB, BOB_PASSWORD], [CAROL, 'carol-password']]) {
      const r = cli(['user', 'add', address, '--password-stdin', '--config', cliConfig], `${password}\n`);
      assert.equal(r.status, 0, r.stderr);
    }
    server = await startServer({ dataDir, config: THROTTLE_CONFIG });
  });
  after(async () => {
    await server.stop();
    server.cleanup();
  });

  it('brute force on alice from 127.0.0.2 is refused, while alice logs in from 127.0.0.3 at every step', async () => {
    const replies: string[] = [];
    for (let i = 0; i < 4; i++) {
      replies.push(await imapLogin(server, '127.0.0.2', ALICE, `guess-${i}`));
      // The owner, from a clean address, is never held back by the attack on her account.
      assert.match(await imapLogin(server, '127.0.0.3', ALICE, ALICE_PASSWORD), /^a OK \[CAPABILITY /);
    }
    assert.deepEqual(replies, Array(4).fill('a NO [AUTHENTICATIONFAILED] Authentication failed\r\n'));
    // Four failures on alice: sources that failed on her are refused for her, without a password check
    // (the right password gets the same temporary refusal).
    assert.equal(await imapLogin(server, '127.0.0.2', ALICE, 'guess-5'), 'a NO [UNAVAILABLE] Too many failed logins; try again later\r\n');
    assert.equal(await imapLogin(server, '127.0.0.2', ALICE, ALICE_PASSWORD), 'a NO [UNAVAILABLE] Too many failed logins; try again later\r\n');
    const p = await pop3(server, '127.0.0.2');
    await pop3Cmd(p, `USER ${ALICE}`);
    assert.equal(await pop3Cmd(p, `PASS ${ALICE_PASSWORD}`), '-ERR [SYS/TEMP] Too many failed logins; try again later\r\n');
    p.end();
    // The owner still gets in from her address, by IMAP, SCRAM and POP3.
    assert.match(await imapLogin(server, '127.0.0.3', ALICE, ALICE_PASSWORD), /^a OK /);
    const scram = await imap(server, '127.0.0.3');
    const client = new ScramClient(ALICE, ALICE_PASSWORD);
    scram.send(`s AUTHENTICATE SCRAM-SHA-256 ${client.first()}`);
    const serverFirst = /^\+ (\S+)\r\n/.exec(await scram.read(/^\+ \S+\r\n/))![1];
    scram.send(client.final(serverFirst));
    const serverFinal = /^\+ (\S+)\r\n/.exec(await scram.read(/^\+ \S+\r\n/))![1];
    assert.equal(client.verifyServer(serverFinal), true);
    scram.send('');
    assert.match(await scram.read(/s (OK|NO|BAD)[^\r]*\r\n/), /^s OK /);
    scram.end();
    const owner = await pop3(server, '127.0.0.3');
    await pop3Cmd(owner, `USER ${ALICE}`);
    assert.equal(await pop3Cmd(owner, `PASS ${ALICE_PASSWORD}`), '+OK Logged in\r\n');
    owner.end();

    // The attacker turns to bob: its own address is not blocked yet, then is after six failures in all.
    assert.equal(await imapLogin(server, '127.0.0.2', BOB, 'x1'), 'a NO [AUTHENTICATIONFAILED] Authentication failed\r\n');
    assert.equal(await imapLogin(server, '127.0.0.2', BOB, 'x2'), 'a NO [AUTHENTICATIONFAILED] Authentication failed\r\n');
    assert.equal(await imapLogin(server, '127.0.0.2', BOB, BOB_PASSWORD), 'a NO [UNAVAILABLE] Too many failed logins; try again later\r\n');
    assert.match(await imapLogin(server, '127.0.0.3', BOB, BOB_PASSWORD), /^a OK /);
    // Failures are logged with address and attempted name, never the password.
    const log = server.stderr();
    assert.match(log, /"remote":"(::ffff:)?127\.0\.0\.2"[^\n]*"user":"alice@example.com"|"user":"alice@example.com"[^\n]*"remote":"(::ffff:)?127\.0\.0\.2"/);
    assert.doesNotMatch(log, /guess-0|alice-correct-horse/);
  });

  it('the third failure on one connection: IMAP answers, says BYE and closes; POP3 answers -ERR [AUTH] and closes', async () => {
    // Names of their own: the account counters of the test above must not reach these.
    const c = await imap(server, '127.0.0.4');
    assert.match(await imapCmd(c, 'a', `LOGIN dave@example.com wrong1`), /^a NO \[AUTHENTICATIONFAILED\]/);
    assert.match(await imapCmd(c, 'b', `AUTHENTICATE PLAIN ${Buffer.from(`\0dave@example.com\0wrong2`).toString('base64')}`), /^b NO \[AUTHENTICATIONFAILED\]/);
    c.send(`c LOGIN erin@example.com wrong3`);
    assert.equal(await c.untilClosed(), 'c NO [AUTHENTICATIONFAILED] Authentication failed\r\n* BYE Too many authentication failures\r\n');

    const p = await pop3(server, '127.0.0.5');
    await pop3Cmd(p, 'USER frank@example.com');
    assert.equal(await pop3Cmd(p, 'PASS wrong1'), '-ERR [AUTH] Authentication failed\r\n');
    assert.equal(await pop3Cmd(p, `AUTH PLAIN ${Buffer.from(`\0dave@example.com\0wrong2`).toString('base64')}`), '-ERR [AUTH] Authentication failed\r\n');
    await pop3Cmd(p, 'USER grace@example.com');
    p.send('PASS wrong3');
    assert.equal(await p.untilClosed(), '-ERR [AUTH] Authentication failed; too many failures, closing\r\n');
  });

  it('an unknown user and a wrong password get byte-identical replies (IMAP LOGIN, PLAIN, SCRAM; POP3)', async () => {
    const sources = ['127.0.0.6', '127.0.0.7'];
    const transcripts = [];
    for (const [i, user] of [CAROL, 'nobody@example.com'].entries()) {
      const c = await imap(server, sources[i]);
      const login = await imapCmd(c, 'a', `LOGIN ${user} wrong`);
      const plain = await imapCmd(c, 'b', `AUTHENTICATE PLAIN ${Buffer.from(`\0${user}\0wrong`).toString('base64')}`);
      c.end();
      const s = await imap(server, sources[i]);
      const client = new ScramClient(user, 'wrong');
      s.send(`c AUTHENTICATE SCRAM-SHA-256 ${client.first()}`);
      const serverFirst = /^\+ (\S+)\r\n/.exec(await s.read(/^\+ \S+\r\n/))![1];
      // The iteration count of an unknown user's decoy is the configured one, like a real account's.
      const iterations = /,i=(\d+)$/.exec(Buffer.from(serverFirst, 'base64').toString())![1];
      s.send(client.final(serverFirst));
      const scram = await s.read(/c (OK|NO|BAD)[^\r]*\r\n/);
      s.end();
      const p = await pop3(server, sources[i]);
      const userReply = await pop3Cmd(p, `USER ${user}`);
      const passReply = await pop3Cmd(p, 'PASS wrong');
      p.end();
      transcripts.push({ login, plain, scram, userReply, passReply, iterations });
    }
    assert.deepEqual(transcripts[0], transcripts[1]);
    assert.equal(transcripts[0].login, 'a NO [AUTHENTICATIONFAILED] Authentication failed\r\n');
    assert.equal(transcripts[0].iterations, '4096');
  });
});

describe('SCRAM settings over the real server and CLI', () => {
  it('scramIterations: user add --config stores the configured count; the default is 65,536', async () => {
    const dataDir = makeDataDir();
    const configFile = join(dataDir, 'config.json');
    writeFileSync(configFile, JSON.stringify({ dataDir, auth: { scramIterations: 5000 } }));
    try {
      const r = cli(['user', 'add', ALICE, '--password-stdin', '--config', configFile], `${ALICE_PASSWORD}\n`);
      assert.equal(r.status, 0, r.stderr);
      assert.match(storedCredential(dataDir, ALICE), / \$scram-sha-256\$i=5000\$/);
      addUser(dataDir, BOB, BOB_PASSWORD);
      assert.match(storedCredential(dataDir, BOB), / \$scram-sha-256\$i=65536\$/);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('scram = false: stored SCRAM keys are removed at start, SCRAM is not offered, PLAIN works, the CLI stores scrypt only', async () => {
    const dataDir = makeDataDir();
    addUser(dataDir, ALICE, ALICE_PASSWORD); // with SCRAM keys (the default)
    assert.match(storedCredential(dataDir, ALICE), /\$scram-sha-256\$/);
    const server = await startServer({ dataDir, config: { tls: { allowCleartextAuthFromLoopback: true }, auth: { scram: false } } });
    try {
      assert.doesNotMatch(storedCredential(dataDir, ALICE), /scram/);
      assert.match(storedCredential(dataDir, ALICE), /^\$scrypt\$ln=15,r=8,p=1\$[^ ]+$/);
      const c = await imap(server, '127.0.0.1');
      const caps = await imapCmd(c, 'a', 'CAPABILITY');
      assert.match(caps, /AUTH=PLAIN/);
      assert.doesNotMatch(caps, /SCRAM/);
      assert.match(await imapCmd(c, 'b', `AUTHENTICATE SCRAM-SHA-256 ${new ScramClient(ALICE, ALICE_PASSWORD).first()}`), /^b NO Unsupported/);
      assert.match(await imapCmd(c, 'c', `AUTHENTICATE PLAIN ${Buffer.from(`\0${ALICE}\0${ALICE_PASSWORD}`).toString('base64')}`), /^c OK /);
      c.end();
      const p = await pop3(server, '127.0.0.1');
      p.send('CAPA');
      const capa = await p.read(/\r\n\.\r\n/);
      assert.match(capa, /^SASL PLAIN\r$/m);
      assert.doesNotMatch(capa, /SCRAM/);
      p.end();
      // The CLI with the server's config honours the setting (passwd and add).
      const r = cli(['user', 'passwd', ALICE, '--password-stdin', '--config', join(dataDir, 'test-config.json')], 'new-password\n');
      assert.equal(r.status, 0, r.stderr);
      assert.doesNotMatch(storedCredential(dataDir, ALICE), /scram/);
      const added = cli(['user', 'add', BOB, '--password-stdin', '--config', join(dataDir, 'test-config.json')], `${BOB_PASSWORD}\n`);
      assert.equal(added.status, 0, added.stderr);
      assert.doesNotMatch(storedCredential(dataDir, BOB), /scram/);
      assert.match(await imapLogin(server, '127.0.0.1', BOB, BOB_PASSWORD), /^a OK /);
    } finally {
      await server.stop();
      server.cleanup();
    }
  });
});
