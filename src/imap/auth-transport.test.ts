/** SCRAM-SHA-256, PLAIN authorization identities, LITERAL-/LITERAL+ and COMPRESS=DEFLATE over a fake connection. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ScramClient } from '../../test/helpers/scram-client.js';
import { encodePlain } from '../protocol/sasl/plain.js';
import { ALICE, createHarness, PASSWORD, type Harness } from './harness.test.js';

const continuation = /^\+ (\S*)\r\n$/;

describe('IMAP authentication and transport extensions', () => {
  let h: Harness;
  before(async () => {
    h = await createHarness();
  });
  after(() => h.close());

  it('AUTHENTICATE SCRAM-SHA-256 with SASL-IR: the server proves itself, then OK [CAPABILITY]', async () => {
    const c = await h.open({ secure: true });
    const client = new ScramClient(ALICE, PASSWORD);
    c.conn.take();
    c.conn.send(`a AUTHENTICATE SCRAM-SHA-256 ${client.first()}\r\n`);
    const serverFirst = continuation.exec(await c.conn.waitFor(/\r\n$/))![1];
    c.conn.take();
    c.conn.send(client.final(serverFirst) + '\r\n');
    const serverFinal = continuation.exec(await c.conn.waitFor(/\r\n$/))![1];
    assert.equal(client.verifyServer(serverFinal), true);
    c.conn.take();
    c.conn.send('\r\n');
    assert.match(await c.waitTagged('a'), /^a OK \[CAPABILITY IMAP4rev2 [^\]]*\] Logged in\r\n$/);
    assert.match(await c.cmd('SELECT INBOX'), /OK \[READ-WRITE\]/);
  });

  it('SCRAM without initial response starts with an empty challenge; a wrong password or * fails', async () => {
    const c = await h.open({ secure: true });
    c.conn.take();
    c.conn.send('b AUTHENTICATE scram-sha-256\r\n');
    assert.equal(await c.conn.waitFor(/\r\n$/), '+ \r\n');
    const wrong = new ScramClient(ALICE, 'not the password');
    c.conn.take();
    c.conn.send(wrong.first() + '\r\n');
    const serverFirst = continuation.exec(await c.conn.waitFor(/\r\n$/))![1];
    c.conn.take();
    c.conn.send(wrong.final(serverFirst) + '\r\n');
    assert.equal(await c.waitTagged('b'), 'b NO [AUTHENTICATIONFAILED] Authentication failed\r\n');

    c.conn.send(`d AUTHENTICATE SCRAM-SHA-256 ${new ScramClient(ALICE, PASSWORD).first()}\r\n`);
    await c.conn.waitFor(/\+ \S+\r\n$/);
    c.conn.take();
    c.conn.send('*\r\n');
    assert.equal(await c.waitTagged('d'), 'd BAD Authentication cancelled\r\n');
  });

  it('SCRAM for an unknown user looks like a real exchange (stable salt) and fails', async () => {
    const salts: string[] = [];
    for (const tag of ['e1', 'e2']) {
      const c = await h.open({ secure: true });
      const client = new ScramClient('nobody@example.com', 'x');
      c.conn.take();
      c.conn.send(`${tag} AUTHENTICATE SCRAM-SHA-256 ${client.first()}\r\n`);
      const serverFirst = continuation.exec(await c.conn.waitFor(/\r\n$/))![1];
      // The decoy's count is the one new keys get (65,536 by default), like a real account's.
      salts.push(/,s=([^,]+),i=65536$/.exec(Buffer.from(serverFirst, 'base64').toString())![1]);
      c.conn.take();
      c.conn.send(client.final(serverFirst) + '\r\n');
      assert.match(await c.waitTagged(tag), /NO \[AUTHENTICATIONFAILED\]/);
    }
    assert.equal(salts[0], salts[1]);
  });

  it('SCRAM refuses another authzid, channel binding, and accounts whose password predates SCRAM', async () => {
    const c = await h.open({ secure: true });
    const proxy = new ScramClient(ALICE, PASSWORD, 'n,a=bob@example.com,');
    c.conn.take();
    c.conn.send(`f AUTHENTICATE SCRAM-SHA-256 ${proxy.first()}\r\n`);
    const serverFirst = continuation.exec(await c.conn.waitFor(/\r\n$/))![1];
    c.conn.take();
    c.conn.send(proxy.final(serverFirst) + '\r\n');
    assert.match(await c.waitTagged('f'), /^f NO \[AUTHORIZATIONFAILED\]/);

    const plus = new ScramClient(ALICE, PASSWORD, 'p=tls-exporter,,');
    assert.match(await c.cmd(`AUTHENTICATE SCRAM-SHA-256 ${plus.first()}`), /NO \[AUTHENTICATIONFAILED\]/);
    assert.match(await c.cmd('AUTHENTICATE SCRAM-SHA-256-PLUS biws'), /^t\d+ NO Unsupported authentication mechanism/);

    // A credential stored before SCRAM (scrypt only): LOGIN works, SCRAM does not.
    // (A new connection: the third failure on one connection closes it.)
    const c2 = await h.open({ secure: true });
    const account = (await h.domain.store.getAccount(ALICE))!;
    await h.domain.store.setPasswordHash(account.id, account.passwordHash.split(' ')[0]);
    try {
      const legacy = new ScramClient(ALICE, PASSWORD);
      c2.conn.take();
      c2.conn.send(`g AUTHENTICATE SCRAM-SHA-256 ${legacy.first()}\r\n`);
      const first = continuation.exec(await c2.conn.waitFor(/\r\n$/))![1];
      c2.conn.take();
      c2.conn.send(legacy.final(first) + '\r\n');
      assert.match(await c2.waitTagged('g'), /NO \[AUTHENTICATIONFAILED\]/);
      assert.match(await c2.cmd(`LOGIN ${ALICE} "${PASSWORD}"`), /OK \[CAPABILITY/);
    } finally {
      await h.domain.store.setPasswordHash(account.id, account.passwordHash);
    }
  });

  it('AUTHENTICATE PLAIN: authzid equal to the user works, a different one is refused (no proxy login)', async () => {
    const a = await h.open({ secure: true });
    assert.match(await a.cmd(`AUTHENTICATE PLAIN ${encodePlain(ALICE, PASSWORD, ALICE)}`), /^t1 OK \[CAPABILITY /);
    const b = await h.open({ secure: true });
    assert.equal(
      await b.cmd(`AUTHENTICATE PLAIN ${encodePlain(ALICE, PASSWORD, 'bob@example.com')}`),
      't1 NO [AUTHORIZATIONFAILED] Authorization as another user is not permitted\r\n',
    );
    assert.match(await b.cmd('NOOP'), /^t2 OK/);
    assert.match(await b.cmd('SELECT INBOX'), /^t3 BAD/);
  });

  it('LITERAL- before login: a non-synchronising literal over 4096 octets is BAD [TOOBIG] and skipped; LITERAL+ after', async () => {
    const c = await h.open({ secure: true });
    assert.match(c.conn.text(), /IMAP4rev1 LITERAL- ENABLE/);
    c.conn.take();
    c.conn.send(`x LOGIN {4097+}\r\n${'a'.repeat(4097)} pass\r\ny NOOP\r\n`);
    await c.conn.waitFor('y OK');
    assert.equal(
      c.conn.take(),
      'x BAD [TOOBIG] Non-synchronising literals are limited to 4096 bytes here (LITERAL-)\r\ny OK NOOP completed\r\n',
    );
    // 4096 is still fine, and a synchronising literal of any allowed size too.
    c.conn.send(`z LOGIN {4096+}\r\n${'a'.repeat(4096)} pass\r\n`);
    assert.match(await c.waitTagged('z'), /^z NO \[AUTHENTICATIONFAILED\]/);
    assert.match(await c.cmd(`LOGIN {${ALICE.length}+}\r\n${ALICE} "${PASSWORD}"`), /OK \[CAPABILITY [^\]]* LITERAL\+ /);
    c.conn.take();
    c.conn.send(`w STATUS {8000+}\r\n${'m'.repeat(8000)} (MESSAGES)\r\n`);
    assert.match(await c.waitTagged('w'), /^w NO \[NONEXISTENT\]/);
  });

  it('COMPRESS DEFLATE: OK in clear, then every byte deflated; a second COMPRESS is NO [COMPRESSIONACTIVE]', async () => {
    const pre = await h.open({ secure: true });
    assert.match(await pre.cmd('COMPRESS DEFLATE'), /^t1 BAD Command requires authentication/);

    const c = await h.open({ login: true });
    assert.match(await c.cmd('COMPRESS LZW'), /^t1 BAD Unknown compression algorithm LZW/);
    assert.equal(c.conn.compressed, false);
    assert.equal(await c.cmd('COMPRESS DEFLATE'), 't2 OK DEFLATE active\r\n');
    assert.equal(c.conn.compressed, true);
    assert.equal(c.conn.wire.length, 0, 'the tagged OK itself goes out uncompressed');
    assert.equal(await c.cmd('COMPRESS DEFLATE'), 't3 NO [COMPRESSIONACTIVE] DEFLATE is already active\r\n');
    assert.match(await c.cmd('SELECT INBOX'), /t4 OK \[READ-WRITE\] SELECT completed\r\n$/);
    const wire = Buffer.concat(c.conn.wire);
    assert.ok(wire.length > 0);
    assert.equal(wire.includes('READ-WRITE'), false, 'responses travel deflated');
  });
});
