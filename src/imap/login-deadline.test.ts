/** The idle timer restarts on every byte; the login deadline ends a trickling, never-authenticated client. */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { ALICE, createHarness, PASSWORD } from './harness.test.js';

it('a client that sends NOOPs but never logs in gets * BYE after three idle periods; a logged-in one does not', async (t) => {
  // Fake timers: the deadline is measured on a clock the test moves, so a slow LOGIN (scrypt on a
  // loaded machine) or a late NOOP cannot end a session early or late. FakeConnection has no idle timer.
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const h = await createHarness();
  try {
    const ctx = { unauthenticatedTimeoutMs: 60_000 };
    const user = await h.open({ secure: true, ctx });
    assert.match(await user.cmd(`LOGIN ${ALICE} "${PASSWORD}"`), / OK /);
    const lurker = await h.open({ secure: true, ctx });
    // A NOOP every 10 s (well inside the 60 s idle period) for 179.999 s: still open.
    for (let elapsed = 0; elapsed < 170_000; elapsed += 10_000) {
      assert.match(await lurker.cmd('NOOP'), / OK /);
      t.mock.timers.tick(10_000);
    }
    t.mock.timers.tick(9_999);
    assert.match(await lurker.cmd('NOOP'), / OK /);
    assert.equal(lurker.conn.closedByServer, false, 'not before the deadline');
    // 3 × 60 s after the greeting.
    t.mock.timers.tick(1);
    await lurker.conn.waitClosed();
    assert.match(lurker.conn.text(), /^\* BYE Too long without logging in\r\n$/);
    // The authenticated session's deadline has long passed too: it is untouched.
    t.mock.timers.tick(600_000);
    assert.match(await user.cmd('NOOP'), / OK /);
    assert.equal(user.conn.closedByServer, false, 'the deadline does not touch an authenticated session');
  } finally {
    await h.close();
  }
});
