/** Directory syncs shared between concurrent writers (DirSyncs). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DirSyncs } from './fs-sync.js';

/** A sync function whose calls finish only when the test says so. */
function controlled() {
  const calls: Array<{ dir: string; finish: (err?: Error) => void }> = [];
  const sync = (dir: string) =>
    new Promise<void>((resolve, reject) => calls.push({ dir, finish: (err) => (err ? reject(err) : resolve()) }));
  return { calls, sync };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('DirSyncs', () => {
  it('callers arriving while a sync runs share one more sync, started after it', async () => {
    const { calls, sync } = controlled();
    const syncs = new DirSyncs(sync);
    const settled: string[] = [];
    const first = syncs.sync('/d').then(() => settled.push('first'));
    await tick();
    assert.equal(calls.length, 1);
    // Their names were linked after the running sync began: it may not cover them.
    const second = syncs.sync('/d').then(() => settled.push('second'));
    const third = syncs.sync('/d').then(() => settled.push('third'));
    await tick();
    assert.equal(calls.length, 1, 'no second sync while the first runs');
    calls[0].finish();
    await first;
    await tick();
    assert.deepEqual(settled, ['first'], 'the later callers wait for a sync that started after their call');
    assert.equal(calls.length, 2, 'one sync for both later callers');
    calls[1].finish();
    await Promise.all([second, third]);
    assert.deepEqual(settled, ['first', 'second', 'third']);
    // Idle again: the next caller gets a sync of its own at once.
    const fourth = syncs.sync('/d');
    await tick();
    assert.equal(calls.length, 3);
    calls[2].finish();
    await fourth;
  });

  it('different directories are synced independently', async () => {
    const { calls, sync } = controlled();
    const syncs = new DirSyncs(sync);
    const a = syncs.sync('/a');
    const b = syncs.sync('/b');
    await tick();
    assert.deepEqual(calls.map((c) => c.dir), ['/a', '/b']);
    calls[1].finish();
    await b;
    calls[0].finish();
    await a;
  });

  it('a failed sync fails every caller it stood for, and the next caller tries again', async () => {
    const { calls, sync } = controlled();
    const syncs = new DirSyncs(sync);
    const first = syncs.sync('/d');
    await tick();
    const second = syncs.sync('/d');
    const third = syncs.sync('/d');
    calls[0].finish();
    await first;
    await tick();
    calls[1].finish(new Error('EIO'));
    await assert.rejects(second, /EIO/);
    await assert.rejects(third, /EIO/);
    const again = syncs.sync('/d');
    await tick();
    assert.equal(calls.length, 3);
    calls[2].finish();
    await again;
  });
});
