import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { encodePlain } from '../protocol/sasl/plain.js';
import { ALICE, createHarness, PASSWORD, type Harness } from './harness.test.js';

describe('IMAP session: greeting, TLS and authentication', () => {
  let h: Harness;
  before(async () => {
    h = await createHarness();
  });
  after(() => h.close());

  it('greets with capabilities; plain connection offers STARTTLS and LOGINDISABLED only', async () => {
    const c = await h.open();
    assert.match(c.conn.text(), /^\* OK \[CAPABILITY IMAP4rev2 IMAP4rev1 [^\]]*STARTTLS[^\]]*LOGINDISABLED\] Mailstead ready\r\n$/);
    const caps = await c.cmd('CAPABILITY');
    assert.match(caps, /^\* CAPABILITY IMAP4rev2 IMAP4rev1 .*STARTTLS.*LOGINDISABLED\r\nt1 OK/);
    assert.doesNotMatch(caps, /AUTH=/);
  });

  it('refuses LOGIN and AUTHENTICATE before TLS with PRIVACYREQUIRED', async () => {
    const c = await h.open();
    assert.match(
      await c.cmd(`LOGIN ${ALICE} "${PASSWORD}"`),
      /^t1 NO \[PRIVACYREQUIRED\] Cleartext authentication is disabled; use STARTTLS or port 993\r\n$/,
    );
    assert.match(await c.cmd(`AUTHENTICATE PLAIN ${encodePlain(ALICE, PASSWORD)}`), /^t2 NO \[PRIVACYREQUIRED\]/);
  });

  it('allows cleartext from loopback only when configured', async () => {
    const c = await h.open({ remoteAddress: '127.0.0.1', ctx: { allowCleartextAuthFromLoopback: true } });
    assert.match(c.conn.text(), /AUTH=PLAIN/);
    assert.match(await c.cmd(`LOGIN ${ALICE} "${PASSWORD}"`), /^t1 OK \[CAPABILITY /);
    const remote = await h.open({ remoteAddress: '192.0.2.7', ctx: { allowCleartextAuthFromLoopback: true } });
    assert.match(await remote.cmd(`LOGIN ${ALICE} "${PASSWORD}"`), /PRIVACYREQUIRED/);
  });

  it('STARTTLS then LOGIN; capabilities change', async () => {
    const c = await h.open();
    assert.equal(await c.cmd('STARTTLS'), 't1 OK Begin TLS negotiation now\r\n');
    assert.equal(c.conn.secure, true);
    const caps = await c.cmd('CAPABILITY');
    assert.match(caps, /AUTH=PLAIN AUTH=SCRAM-SHA-256 SASL-IR/);
    assert.doesNotMatch(caps, /STARTTLS|LOGINDISABLED/);
    assert.match(await c.cmd('STARTTLS'), /^t3 BAD/);
    const login = await c.cmd(`LOGIN ${ALICE} "${PASSWORD}"`);
    assert.match(login, /^t4 OK \[CAPABILITY IMAP4rev2 IMAP4rev1 .*IDLE.*MOVE.*\] Logged in\r\n$/);
    assert.equal(c.conn.idleTimeoutMs, 1800000);
  });

  it('discards commands pipelined behind STARTTLS', async () => {
    const c = await h.open();
    c.conn.send('a STARTTLS\r\nb NOOP\r\n');
    await c.conn.waitFor('a OK');
    // Replies come in command order: had b run, its reply would come before c's (no sleep needed).
    await new Promise((r) => setImmediate(r)); // the fake handshake completes
    assert.equal(c.conn.secure, true);
    c.conn.send('c NOOP\r\n');
    const text = await c.conn.waitFor(/\r\nc OK [^\r]*\r\n$/);
    assert.match(text, /^\* OK [^\r]*Mailstead ready\r\na OK [^\r]*\r\nc OK NOOP completed\r\n$/);
  });

  it('failed login waits, answers AUTHENTICATIONFAILED, and allows retries', async () => {
    const c = await h.open({ secure: true });
    const t0 = Date.now();
    assert.equal(await c.cmd(`LOGIN ${ALICE} wrong`), 't1 NO [AUTHENTICATIONFAILED] Authentication failed\r\n');
    assert.ok(Date.now() - t0 >= 9);
    assert.match(await c.cmd(`LOGIN nobody@example.com wrong`), /^t2 NO \[AUTHENTICATIONFAILED\]/);
    assert.match(await c.cmd(`LOGIN ${ALICE} "${PASSWORD}"`), /^t3 OK/);
  });

  it('the third failed login on a connection (LOGIN, AUTHENTICATE, malformed SCRAM) is answered, then BYE and close', async () => {
    const c = await h.open({ secure: true });
    assert.match(await c.cmd(`LOGIN ${ALICE} wrong`), /^t1 NO \[AUTHENTICATIONFAILED\]/);
    assert.match(await c.cmd('AUTHENTICATE PLAIN ' + encodePlain('nobody@example.com', 'x')), /^t2 NO \[AUTHENTICATIONFAILED\]/);
    c.conn.take();
    c.conn.send('t3 AUTHENTICATE SCRAM-SHA-256 bm90IHNjcmFt\r\n');
    await c.conn.waitFor('* BYE');
    await new Promise((r) => setImmediate(r));
    assert.equal(c.conn.take(), 't3 NO [AUTHENTICATIONFAILED] Authentication failed\r\n* BYE Too many authentication failures\r\n');
    assert.equal(c.conn.closedByServer, true);
  });

  it('AUTHENTICATE PLAIN with SASL-IR and with a continuation; * cancels', async () => {
    const a = await h.open({ secure: true });
    assert.match(await a.cmd(`AUTHENTICATE PLAIN ${encodePlain(ALICE, PASSWORD)}`), /^t1 OK \[CAPABILITY /);

    const b = await h.open({ secure: true });
    b.conn.take();
    b.conn.send('x AUTHENTICATE PLAIN\r\n');
    await b.conn.waitFor('+ \r\n');
    b.conn.send(encodePlain(ALICE, PASSWORD) + '\r\n');
    assert.match(await b.waitTagged('x'), /x OK \[CAPABILITY/);
    assert.match(await b.cmd('SELECT INBOX'), /t1 OK \[READ-WRITE\]/);

    const c = await h.open({ secure: true });
    c.conn.take();
    c.conn.send('y AUTHENTICATE PLAIN\r\n*\r\n');
    assert.match(await c.waitTagged('y'), /^\+ \r\ny BAD Authentication cancelled\r\n$/);
    assert.match(await c.cmd('AUTHENTICATE PLAIN ' + encodePlain(ALICE, 'nope')), /NO \[AUTHENTICATIONFAILED\]/);
    assert.match(await c.cmd('AUTHENTICATE CRAM-MD5'), /^t2 NO /);
  });

  it('answers BAD to malformed commands and goes on; closes after too many', async () => {
    const c = await h.open({ login: true });
    assert.match(await c.cmd('FROBNICATE'), /^t1 BAD /);
    assert.match(await c.cmd('NOOP'), /^t2 OK NOOP completed/);
    c.conn.take();
    for (let i = 0; i < 10; i++) c.conn.send(`b${i} BLAH\r\n`);
    await c.conn.waitFor('* BYE Too many invalid commands');
    await new Promise((r) => setImmediate(r));
    assert.match(c.conn.text(), /^(b\d BAD [^\r]*\r\n){10}\* BYE Too many invalid commands\r\n$/);
    assert.equal(c.conn.closedByServer, true);
  });

  it('wrong-state commands get BAD', async () => {
    const c = await h.open({ secure: true });
    assert.match(await c.cmd('SELECT INBOX'), /^t1 BAD .*authentication/);
    assert.match(await c.cmd(`LOGIN ${ALICE} "${PASSWORD}"`), /^t2 OK/);
    assert.match(await c.cmd('FETCH 1 FLAGS'), /^t3 BAD No mailbox selected/);
    assert.match(await c.cmd(`LOGIN ${ALICE} "${PASSWORD}"`), /^t4 BAD Already authenticated/);
  });

  it('LOGOUT says BYE, then OK, then closes', async () => {
    const c = await h.open({ login: true });
    assert.equal(await c.cmd('LOGOUT'), '* BYE Logging out\r\nt1 OK LOGOUT completed\r\n');
    assert.equal(c.conn.closedByServer, true);
  });

  it('inactivity timeout says BYE Autologout; shutdown says BYE', async () => {
    const c = await h.open();
    assert.equal(c.conn.idleTimeoutMs, 60000);
    c.conn.take();
    c.conn.fireTimeout();
    await c.conn.waitFor('* BYE Autologout; idle for too long\r\n').catch(() => undefined);
    assert.equal(c.conn.text(), '* BYE Autologout; idle for too long\r\n');
    assert.equal(c.conn.closedByServer, true);

    const d = await h.open({ login: true });
    d.conn.take();
    // eslint-disable-next-line @typescript-eslint/no-floating-promises
    await d.conn.session!.shutdown();
    assert.equal(d.conn.text(), '* BYE Server shutting down\r\n');
    assert.equal(d.conn.closedByServer, true);
  });

  it('ID, NAMESPACE, ENABLE', async () => {
    const c = await h.open({ login: true });
    assert.equal(
      await c.cmd('ID ("name" "test")'),
      '* ID ("name" "Mailstead" "version" "0.1.0" "vendor" "Mailstead" "support-url" "mailto:postmaster@mail.example.com")\r\nt1 OK ID completed\r\n',
    );
    assert.equal(await c.cmd('NAMESPACE'), '* NAMESPACE (("" "/")) (("Shared/" "/")) NIL\r\nt2 OK NAMESPACE completed\r\n');
    assert.equal(await c.cmd('ENABLE IMAP4rev2 X-NONE'), '* ENABLED IMAP4rev2\r\nt3 OK ENABLE completed\r\n');
    assert.equal(await c.cmd('ENABLE IMAP4rev2'), '* ENABLED\r\nt4 OK ENABLE completed\r\n');
  });
});
