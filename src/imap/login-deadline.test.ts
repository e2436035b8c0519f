/** The idle timer restarts on every byte; the login deadline ends a trickling, never-authenticated client. */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { ALICE, createHarness, PASSWORD } from './harness.test.js';

it('a client that sends NOOPs but never logs in gets * BYE after three idle periods; a logged-in one does not', async () => {
  const h = await createHarness();
  try {
    const user = await h.open({ secure: true, ctx: { unauthenticatedTimeoutMs: 60 } });
    assert.match(await user.cmd(`LOGIN ${ALICE} "${PASSWORD}"`), / OK /);
    const started = Date.now();
    const lurker = await h.open({ secure: true, ctx: { unauthenticatedTimeoutMs: 60 } });
    while (!lurker.conn.closedByServer && Date.now() - started < 2000) {
      lurker.conn.send('n NOOP\r\n');
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(lurker.conn.closedByServer, 'closed');
    assert.ok(Date.now() - started >= 150, 'not before the deadline');
    assert.match(lurker.conn.text(), /\* BYE Too long without logging in\r\n$/);
    await new Promise((r) => setTimeout(r, 250));
    assert.equal(user.conn.closedByServer, false, 'the deadline does not touch an authenticated session');
  } finally {
    await h.close();
  }
});
