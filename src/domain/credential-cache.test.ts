import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Account, MailStore } from '../store/types.js';
import type { NotifyBus } from '../notify/bus.js';
import { CredentialChecker, DEFAULT_CREDENTIAL_CHECK, defaultConcurrency, VerificationsBusy } from './credential-cache.js';
import { LoginThrottle, DEFAULT_LOGIN_THROTTLE } from './login-throttle.js';
import { MailDomain } from './mail-domain.js';
import { hashPassword, verifyPassword } from './passwords.js';

/** A verifier that compares `stored` with "hash:" + password, and counts its calls. */
function countingVerifier() {
  const calls: string[] = [];
  const verify = async (password: string, stored: string) => {
    calls.push(password);
    return stored === `hash:${password}`;
  };
  return { calls, verify };
}

/** A verifier whose answers the test releases one by one. */
function heldVerifier() {
  const held: Array<{ password: string; answer: (ok: boolean) => void }> = [];
  let waiters: Array<() => void> = [];
  const verify = (password: string, stored: string) =>
    new Promise<boolean>((resolve) => {
      held.push({ password, answer: (ok) => resolve(ok && stored === `hash:${password}`) });
      for (const w of waiters.splice(0)) w();
    });
  const until = async (count: number) => {
    while (held.length < count) await new Promise<void>((resolve) => waiters.push(resolve));
  };
  return { held, verify, until, reset: () => (waiters = []) };
}

const settings = (over: Partial<typeof DEFAULT_CREDENTIAL_CHECK> = {}) => ({ ...DEFAULT_CREDENTIAL_CHECK, maxConcurrentVerifications: 2, ...over });

describe('verified-credential cache', () => {
  test('a cache hit does not call the verifier; the entry expires after credentialCacheSeconds (injected clock)', async () => {
    let now = 1_000_000;
    const v = countingVerifier();
    const checker = new CredentialChecker(settings({ cacheSeconds: 300 }), { verify: v.verify, now: () => now });
    assert.equal(await checker.check('alice@example.com', 'hash:pw', 'pw'), true);
    assert.equal(v.calls.length, 1);
    now += 299_999;
    assert.equal(await checker.check('alice@example.com', 'hash:pw', 'pw'), true);
    assert.equal(v.calls.length, 1, 'a hit skips the verifier');
    now += 1;
    assert.equal(await checker.check('alice@example.com', 'hash:pw', 'pw'), true);
    assert.equal(v.calls.length, 2, 'after the TTL the password is verified again');
  });

  test('a wrong password is never cached: it is verified every time and never accepted', async () => {
    const v = countingVerifier();
    const checker = new CredentialChecker(settings(), { verify: v.verify });
    assert.equal(await checker.check('alice@example.com', 'hash:pw', 'pw'), true);
    for (let i = 0; i < 3; i++) assert.equal(await checker.check('alice@example.com', 'hash:pw', 'wrong'), false);
    assert.deepEqual(v.calls, ['pw', 'wrong', 'wrong', 'wrong']);
    // The right password is still cached after the failures; a failure never replaced it.
    assert.equal(await checker.check('alice@example.com', 'hash:pw', 'pw'), true);
    assert.equal(v.calls.length, 4);
    // A wrong password that came first is not cached either.
    assert.equal(await checker.check('bob@example.com', 'hash:b', 'nope'), false);
    assert.equal(await checker.check('bob@example.com', 'hash:b', 'nope'), false);
    assert.equal(v.calls.length, 6);
    assert.equal(checker.stats.cached, 1);
  });

  test('a changed stored credential (user passwd) never hits: the old password fails at once, the new one works', async () => {
    const v = countingVerifier();
    const checker = new CredentialChecker(settings(), { verify: v.verify });
    assert.equal(await checker.check('alice@example.com', 'hash:old', 'old'), true);
    assert.equal(await checker.check('alice@example.com', 'hash:new', 'old'), false);
    assert.equal(await checker.check('alice@example.com', 'hash:new', 'new'), true);
    assert.deepEqual(v.calls, ['old', 'old', 'new']);
  });

  test('credentialCacheSeconds = 0 turns the cache off; the number of accounts held is bounded (LRU)', async () => {
    const v = countingVerifier();
    const off = new CredentialChecker(settings({ cacheSeconds: 0 }), { verify: v.verify });
    await off.check('a@x', 'hash:p', 'p');
    await off.check('a@x', 'hash:p', 'p');
    assert.equal(v.calls.length, 2);
    assert.equal(off.stats.cached, 0);

    const lru = new CredentialChecker(settings({ cacheMaxEntries: 2 }), { verify: v.verify });
    await lru.check('a@x', 'hash:p', 'p');
    await lru.check('b@x', 'hash:p', 'p');
    await lru.check('a@x', 'hash:p', 'p'); // a is now the most recently used
    await lru.check('c@x', 'hash:p', 'p'); // evicts b
    assert.equal(lru.stats.cached, 2);
    const before = v.calls.length;
    await lru.check('a@x', 'hash:p', 'p');
    assert.equal(v.calls.length, before, 'a stayed');
    await lru.check('b@x', 'hash:p', 'p');
    assert.equal(v.calls.length, before + 1, 'b was evicted');
  });

  test('identical checks in flight share one verification', async () => {
    const v = heldVerifier();
    const checker = new CredentialChecker(settings(), { verify: v.verify });
    const all = Array.from({ length: 20 }, () => checker.check('a@x', 'hash:p', 'p'));
    await v.until(1);
    assert.equal(v.held.length, 1);
    v.held[0].answer(true);
    assert.deepEqual(await Promise.all(all), Array(20).fill(true));
  });
});

describe('bounded concurrent verifications', () => {
  test('at most N run at once, the rest wait in order, and a full queue refuses at once', async () => {
    const v = heldVerifier();
    const checker = new CredentialChecker(settings({ maxConcurrentVerifications: 2, maxQueuedVerifications: 3 }), { verify: v.verify });
    const logins = ['p0', 'p1', 'p2', 'p3', 'p4'].map((p) => checker.check(`${p}@x`, `hash:${p}`, p));
    await v.until(2);
    assert.deepEqual(v.held.map((h) => h.password), ['p0', 'p1']);
    assert.deepEqual(checker.stats, { cached: 0, running: 2, queued: 3 });
    await assert.rejects(checker.check('p5@x', 'hash:p5', 'p5'), VerificationsBusy);
    v.held[1].answer(true);
    await v.until(3);
    assert.equal(v.held[2].password, 'p2');
    for (let i = 0; i < 5; i++) {
      await v.until(i + 1);
      v.held[i].answer(true);
    }
    assert.deepEqual(await Promise.all(logins), Array(5).fill(true));
    assert.deepEqual(checker.stats, { cached: 5, running: 0, queued: 0 });
  });

  test('the default leaves one libuv thread free and uses no more than the cores', () => {
    assert.equal(defaultConcurrency({}, 2), 2);
    assert.equal(defaultConcurrency({}, 16), 3);
    assert.equal(defaultConcurrency({ UV_THREADPOOL_SIZE: '1' }, 16), 1);
    assert.equal(defaultConcurrency({ UV_THREADPOOL_SIZE: '9' }, 16), 8);
  });
});

/** A store with accounts only: enough for MailDomain.passwordLogin. */
function accountStore(accounts: Map<string, string>): MailStore {
  return {
    async getAccount(address: string) {
      const hash = accounts.get(address);
      return hash ? ({ id: 1, address, passwordHash: hash } as unknown as Account) : null;
    },
  } as unknown as MailStore;
}
const noBus = {} as NotifyBus;

describe('logins through the domain with a cache in place', () => {
  test('throttling still counts failures and blocks; a cached password does not pass a block', async () => {
    let now = 0;
    const v = countingVerifier();
    const accounts = new Map([['alice@example.com', 'hash:right']]);
    const throttle = new LoginThrottle(
      { ...DEFAULT_LOGIN_THROTTLE, baseDelayMs: 0, maxDelayMs: 0, sourceBlockAfterFailures: 3, accountBlockAfterFailures: 100 },
      () => now,
    );
    const domain = new MailDomain(accountStore(accounts), noBus, {
      loginThrottle: throttle,
      credentialChecker: new CredentialChecker(settings(), { verify: v.verify, now: () => now }),
    });
    assert.equal((await domain.passwordLogin(throttle, '10.0.0.1', 'alice@example.com', 'right')).status, 'ok');
    assert.equal((await domain.passwordLogin(throttle, '10.0.0.1', 'alice@example.com', 'right')).status, 'ok');
    assert.equal(v.calls.length, 1, 'the second login was a cache hit');
    for (let i = 1; i <= 3; i++) {
      const outcome = await domain.passwordLogin(throttle, '10.0.0.1', 'alice@example.com', `wrong${i}`);
      assert.equal(outcome.status, 'failed');
      assert.equal(outcome.status === 'failed' && outcome.note.sourceFailures, i);
    }
    // Blocked: the cached right password is refused without a check.
    assert.deepEqual(await domain.passwordLogin(throttle, '10.0.0.1', 'alice@example.com', 'right'), { status: 'refused', reason: 'source' });
    assert.equal(v.calls.length, 4);
    // Another address still gets in (from the cache).
    assert.equal((await domain.passwordLogin(throttle, '10.0.0.2', 'alice@example.com', 'right')).status, 'ok');
    assert.equal(v.calls.length, 4);
  });

  test('a full verification queue answers a temporary refusal, counted as no failure', async () => {
    const v = heldVerifier();
    const throttle = new LoginThrottle({ ...DEFAULT_LOGIN_THROTTLE, baseDelayMs: 0, maxDelayMs: 0 });
    const accounts = new Map([['a@x', 'hash:a'], ['b@x', 'hash:b'], ['c@x', 'hash:c']]);
    const checker = new CredentialChecker(settings({ maxConcurrentVerifications: 1, maxQueuedVerifications: 1 }), { verify: v.verify });
    const domain = new MailDomain(accountStore(accounts), noBus, { loginThrottle: throttle, credentialChecker: checker });
    const a = domain.passwordLogin(throttle, '10.0.0.1', 'a@x', 'a');
    const b = domain.passwordLogin(throttle, '10.0.0.1', 'b@x', 'b');
    await v.until(1);
    while (checker.stats.queued < 1) await new Promise((resolve) => setImmediate(resolve));
    // The unknown name takes the same path (a dummy verification) and is refused alike.
    assert.deepEqual(await domain.passwordLogin(throttle, '10.0.0.1', 'c@x', 'c'), { status: 'refused', reason: 'busy' });
    assert.deepEqual(await domain.passwordLogin(throttle, '10.0.0.1', 'nobody@x', 'c'), { status: 'refused', reason: 'busy' });
    v.held[0].answer(true);
    await v.until(2);
    v.held[1].answer(true);
    assert.equal((await a).status, 'ok');
    assert.equal((await b).status, 'ok');
    assert.deepEqual(throttle.tracked, { sources: 0, accounts: 0, pairs: 0 });
  });

  test('50 concurrent logins with real scrypt leave the event loop free (max delay well under one scrypt)', async (t) => {
    const stored = await hashPassword('right', undefined, { scram: false, scramIterations: 4096 });
    let started = performance.now();
    await verifyPassword('right', stored);
    const oneScryptMs = performance.now() - started;
    const throttle = new LoginThrottle({ ...DEFAULT_LOGIN_THROTTLE, baseDelayMs: 0, maxDelayMs: 0, sourceBlockAfterFailures: 1000, accountBlockAfterFailures: 1000 });
    const domain = new MailDomain(accountStore(new Map([['alice@example.com', stored]])), noBus, { loginThrottle: throttle });
    const histogram = monitorEventLoopDelay({ resolution: 5 });
    histogram.enable();
    // The histogram measures from its first sample on: take one before the storm.
    await new Promise((resolve) => setTimeout(resolve, 20));
    started = performance.now();
    // Distinct wrong passwords: none shares a verification or hits the cache, so all 50 run scrypt.
    const outcomes = await Promise.all(Array.from({ length: 50 }, (_, i) => domain.passwordLogin(throttle, `10.0.${i}.1`, 'alice@example.com', `wrong-${i}`)));
    // Let the sampling timer fire once more: a loop blocked until now records its delay only then.
    await new Promise((resolve) => setTimeout(resolve, 20));
    histogram.disable();
    assert.ok(outcomes.every((o) => o.status === 'failed'));
    const maxDelayMs = histogram.max / 1e6;
    t.diagnostic(`event loop delay max ${maxDelayMs.toFixed(1)} ms, p99 ${(histogram.percentile(99) / 1e6).toFixed(1)} ms; one scrypt ${oneScryptMs.toFixed(1)} ms`);
    // Generous (a loaded machine stalls any thread now and then): scrypt on the event loop would block it
    // for all 50 scrypts in a row.
    assert.ok(maxDelayMs < Math.max(4 * oneScryptMs, 1000), `event loop max delay ${maxDelayMs.toFixed(1)} ms, one scrypt ${oneScryptMs.toFixed(1)} ms`);
  });
});
