import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { encodePlain } from '../protocol/sasl/plain.js';
import { ALICE, createHarness, PASSWORD, type Harness } from './harness.test.js';

describe('IMAP authentication limits', () => {
  let h: Harness;
  before(async () => {
    h = await createHarness();
  });
  after(async () => h.close());

  it('with [auth] scram = false: no AUTH=SCRAM-SHA-256, AUTHENTICATE SCRAM-SHA-256 refused, PLAIN works', async () => {
    const c = await h.open({ secure: true, ctx: { scram: false } });
    assert.match(c.conn.text(), /AUTH=PLAIN/);
    assert.doesNotMatch(c.conn.text(), /SCRAM/);
    assert.doesNotMatch(await c.cmd('CAPABILITY'), /SCRAM/);
    assert.match(await c.cmd('AUTHENTICATE SCRAM-SHA-256 biws'), /^t2 NO Unsupported authentication mechanism/);
    assert.match(await c.cmd(`AUTHENTICATE PLAIN ${encodePlain(ALICE, PASSWORD)}`), /^t3 OK \[CAPABILITY /);
  });

  it('SCRAM stays offered by default', async () => {
    const c = await h.open({ secure: true });
    assert.match(c.conn.text(), /AUTH=SCRAM-SHA-256/);
  });

  it('cancelled exchanges are BAD and do not count as failed logins (the bad-command limit bounds them)', async () => {
    const c = await h.open({ secure: true });
    c.conn.take();
    c.conn.send('a AUTHENTICATE PLAIN\r\n*\r\n');
    assert.match(await c.waitTagged('a'), /a BAD Authentication cancelled/);
    assert.match(await c.cmd(`LOGIN ${ALICE} wrong`), /NO \[AUTHENTICATIONFAILED\]/);
    assert.match(await c.cmd(`LOGIN ${ALICE} wrong`), /NO \[AUTHENTICATIONFAILED\]/);
    assert.match(await c.cmd(`LOGIN ${ALICE} "${PASSWORD}"`), /OK \[CAPABILITY/);
  });
});
