import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_LOGIN_THROTTLE, LoginThrottle, type LoginThrottleSettings, sourceKey, throttledLogin } from './login-throttle.js';

function throttle(over: Partial<LoginThrottleSettings> = {}) {
  const clock = { now: 1_000_000 };
  const t = new LoginThrottle(
    {
      ...DEFAULT_LOGIN_THROTTLE,
      baseDelayMs: 100,
      maxDelayMs: 1600,
      sourceBlockAfterFailures: 5,
      accountBlockAfterFailures: 8,
      blockSeconds: 60,
      failureWindowSeconds: 300,
      ...over,
    },
    () => clock.now,
  );
  return { t, clock };
}

test('a clean source is admitted at once', () => {
  const { t } = throttle();
  assert.deepEqual(t.admit('192.0.2.1', 'alice@example.com'), { refused: false, waitMs: 0 });
});

test('the failure delay grows per source and is capped', () => {
  const { t } = throttle();
  const delays = [];
  for (let i = 0; i < 4; i++) delays.push(t.failed('192.0.2.1', `user${i}@example.com`).replyDelayMs);
  assert.deepEqual(delays, [100, 200, 400, 800]);
  const capped = throttle({ sourceBlockAfterFailures: 100 });
  let last = 0;
  for (let i = 0; i < 20; i++) last = capped.t.failed('192.0.2.1', 'x').replyDelayMs;
  assert.equal(last, 1600);
});

test('a failing source is paced before its next check, also on parallel connections', () => {
  const { t, clock } = throttle();
  t.failed('192.0.2.1', 'alice@example.com');
  t.failed('192.0.2.1', 'alice@example.com'); // next step 200 ms
  const first = t.admit('192.0.2.1', 'alice@example.com');
  const second = t.admit('192.0.2.1', 'alice@example.com');
  assert.deepEqual(first, { refused: false, waitMs: 200 });
  // The second parallel attempt waits for the first one's slot too.
  assert.deepEqual(second, { refused: false, waitMs: 400 });
  clock.now += 10_000;
  assert.deepEqual(t.admit('192.0.2.1', 'alice@example.com'), { refused: false, waitMs: 0 });
});

test('a source is blocked after N failures, and the block expires', () => {
  const { t, clock } = throttle();
  for (let i = 0; i < 4; i++) t.failed('192.0.2.9', `guess${i}@example.com`);
  assert.equal(t.admit('192.0.2.9', 'x@example.com').refused, false);
  assert.equal(t.failed('192.0.2.9', 'guess4@example.com').blockStarted, 'source');
  const blocked = t.admit('192.0.2.9', 'anyone@example.com');
  assert.deepEqual(blocked, { refused: true, replyDelayMs: 100, reason: 'source' });
  clock.now += 59_000;
  assert.equal(t.admit('192.0.2.9', 'anyone@example.com').refused, true);
  clock.now += 2_000;
  assert.equal(t.admit('192.0.2.9', 'anyone@example.com').refused, false);
  // The failures themselves are forgotten after the window.
  clock.now += 300_001;
  assert.deepEqual(t.admit('192.0.2.9', 'anyone@example.com'), { refused: false, waitMs: 0 });
});

test('an account under attack refuses the attacking sources, never a clean one (the owner)', () => {
  const { t } = throttle({ sourceBlockAfterFailures: 1000 });
  // A botnet: eight addresses, one failure each, on alice.
  for (let i = 1; i <= 8; i++) t.failed(`198.51.100.${i}`, 'alice@example.com');
  for (let i = 1; i <= 8; i++) {
    assert.deepEqual(t.admit(`198.51.100.${i}`, 'alice@example.com'), { refused: true, replyDelayMs: 100, reason: 'account' });
    // The same addresses may still try other accounts (at their own pace).
    assert.equal(t.admit(`198.51.100.${i}`, 'bob@example.com').refused, false);
  }
  // Alice from her own address: admitted at once, however long the attack goes on.
  assert.deepEqual(t.admit('203.0.113.7', 'Alice@Example.com'), { refused: false, waitMs: 0 });
  t.succeeded('203.0.113.7', 'alice@example.com');
  assert.deepEqual(t.admit('203.0.113.7', 'alice@example.com'), { refused: false, waitMs: 0 });
});

test('an owner who mistyped during an attack is paced by the account only until her next success', () => {
  const { t, clock } = throttle({ sourceBlockAfterFailures: 1000, accountBlockAfterFailures: 1000 });
  for (let i = 1; i <= 5; i++) t.failed(`198.51.100.${i}`, 'alice@example.com');
  t.failed('203.0.113.7', 'alice@example.com'); // her typo: she is now paced by the account's counter
  const paced = t.admit('203.0.113.7', 'alice@example.com');
  assert.equal(paced.refused, false);
  assert.ok(!paced.refused && paced.waitMs > 0);
  clock.now += 10_000;
  t.succeeded('203.0.113.7', 'alice@example.com');
  t.failed('198.51.100.1', 'alice@example.com');
  assert.deepEqual(t.admit('203.0.113.7', 'alice@example.com').refused, false);
  clock.now += 1_000;
  // Her pair is gone: the account's pace no longer reaches her (her own source record alone: 1 failure, long past).
  assert.deepEqual(t.admit('203.0.113.7', 'alice@example.com'), { refused: false, waitMs: 0 });
});

test('tables are bounded: many addresses and names evict the oldest entries', () => {
  const { t } = throttle({ maxTrackedEntries: 100, sourceBlockAfterFailures: 1 });
  for (let i = 0; i < 10_000; i++) t.failed(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, `u${i}@example.com`);
  assert.deepEqual(t.tracked, { sources: 100, accounts: 100, pairs: 100 });
  // The newest are still blocked, the oldest were forgotten.
  assert.equal(t.admit('10.0.39.15', 'x').refused, true); // i = 9999
  assert.equal(t.admit('10.0.0.0', 'x').refused, false);
});

test('IPv6 sources are grouped by /64; IPv4-mapped addresses count as IPv4', () => {
  assert.equal(sourceKey('2001:db8:1:2:3:4:5:6'), '2001:db8:1:2::/64');
  assert.equal(sourceKey('2001:db8:1:2::99'), '2001:db8:1:2::/64');
  assert.equal(sourceKey('2001:DB8:0001:0002:ffff::1%eth0'), '2001:db8:1:2::/64');
  assert.equal(sourceKey('::1'), '0:0:0:0::/64');
  assert.equal(sourceKey('::ffff:192.0.2.1'), '192.0.2.1');
  assert.equal(sourceKey('192.0.2.1'), '192.0.2.1');
  const { t } = throttle({ sourceBlockAfterFailures: 2 });
  t.failed('2001:db8:1:2::a', 'x');
  t.failed('2001:db8:1:2::b', 'y');
  assert.equal(t.admit('2001:db8:1:2:ffff::c', 'z').refused, true);
  assert.equal(t.admit('2001:db8:1:3::a', 'z').refused, false);
});

test('throttledLogin: ok, failed (recorded, reply delayed) and refused (password not checked)', async () => {
  const { t } = throttle({ baseDelayMs: 1, maxDelayMs: 1, sourceBlockAfterFailures: 2 });
  let checks = 0;
  const right = async () => (checks++, 'account');
  const wrong = async () => (checks++, null);
  assert.deepEqual(await throttledLogin(t, '192.0.2.1', 'a', right), { status: 'ok', value: 'account' });
  assert.equal((await throttledLogin(t, '192.0.2.1', 'a', wrong)).status, 'failed');
  assert.equal((await throttledLogin(t, '192.0.2.1', 'a', wrong)).status, 'failed');
  assert.equal(checks, 3);
  assert.deepEqual(await throttledLogin(t, '192.0.2.1', 'a', right), { status: 'refused', reason: 'source' });
  assert.equal(checks, 3);
});

test('fixedDelay keeps the old behaviour: the same delay every time, never a block', () => {
  const t = LoginThrottle.fixedDelay(10);
  for (let i = 0; i < 50; i++) assert.equal(t.failed('192.0.2.1', 'a').replyDelayMs, 10);
  assert.equal(t.admit('192.0.2.1', 'a').refused, false);
});
