import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { CRASH_POINTS, parseCrashSpec } from './fault.js';

const FAULT = fileURLToPath(new URL('./fault.ts', import.meta.url));

/** Runs a child that passes every crash point `rounds` times, printing the round before each. */
function passEveryPoint(env: Record<string, string>, rounds = 3) {
  const script = `
    import { CRASH_POINTS, crashPoint } from ${JSON.stringify(FAULT)};
    for (let round = 1; round <= ${rounds}; round++) {
      for (const point of CRASH_POINTS) { process.stdout.write(round + ' ' + point + '\\n'); crashPoint(point); }
    }
    process.stdout.write('survived\\n');
  `;
  const { MAILSTEAD_TEST_CRASH_AT: _unset, ...base } = process.env;
  return spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    env: { ...base, ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
}

test('unset, every crash point is inert', () => {
  const r = passEveryPoint({});
  assert.equal(r.signal, null);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /survived\n$/);
  assert.equal(r.stderr, '');
});

test('set, the process kills itself with SIGKILL at the n-th hit of the named point, and nowhere else', () => {
  const r = passEveryPoint({ MAILSTEAD_TEST_CRASH_AT: 'store.move.metadata-written:2' });
  assert.equal(r.signal, 'SIGKILL');
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines[lines.length - 1], '2 store.move.metadata-written');
  assert.match(r.stderr, /test crash point armed: store\.move\.metadata-written \(hit 2\)/);
});

test('an unknown point or a malformed count refuses to start, so a typo cannot pass silently', () => {
  for (const value of ['store.append.body-writen', 'lmtp.reply-sent:0', 'lmtp.reply-sent:x', 'LMTP.REPLY-SENT']) {
    assert.throws(() => parseCrashSpec(value), /unknown crash point/, value);
  }
  assert.deepEqual(parseCrashSpec('lmtp.reply-sent'), { point: 'lmtp.reply-sent', hit: 1 });
  assert.deepEqual(parseCrashSpec('lmtp.reply-sent:12'), { point: 'lmtp.reply-sent', hit: 12 });
  assert.equal(parseCrashSpec(undefined), null);
  assert.equal(parseCrashSpec(''), null);
  assert.equal(new Set(CRASH_POINTS).size, CRASH_POINTS.length);
});
