/**
 * When the node asks V8 for a full collection: once after start-up, and once
 * after the session count fell by half (and by at least minDrop) and stayed
 * down for a sample; never for small drops or while sessions still close.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { majorGc, MemoryRelease } from './memory-release.js';

function counting(minDrop = 500) {
  let collections = 0;
  const release = new MemoryRelease({ minDrop, gc: () => collections++ });
  return { release, collections: () => collections };
}

describe('MemoryRelease', () => {
  it('collects once after start-up, then only after a large drop that has stopped', () => {
    const { release, collections } = counting();
    release.sample(0);
    assert.equal(collections(), 1, 'after start-up');
    for (const n of [500, 1500, 2000, 2000]) release.sample(n);
    assert.equal(collections(), 1, 'sessions opening: nothing to give back');
    release.sample(1200);
    release.sample(600);
    assert.equal(collections(), 1, 'still closing');
    release.sample(0);
    assert.equal(collections(), 1, 'the first sample at the bottom waits for the next');
    release.sample(0);
    assert.equal(collections(), 2, 'quiet after the drop: one collection');
    for (let i = 0; i < 5; i++) release.sample(0);
    assert.equal(collections(), 2, 'and not again while nothing changes');
  });

  it('ignores drops smaller than minDrop or than half the peak', () => {
    const { release, collections } = counting(500);
    release.sample(0);
    for (const n of [300, 0, 0, 0]) release.sample(n);
    assert.equal(collections(), 1, 'fewer than minDrop sessions closed');
    for (const n of [3000, 2000, 2000, 2000]) release.sample(n);
    assert.equal(collections(), 1, 'a third of 3,000 closed: not half');
    for (const n of [1400, 1400]) release.sample(n);
    assert.equal(collections(), 2, 'past half of the peak');
  });

  it('reaches V8 without --expose-gc', () => {
    const gc = majorGc();
    assert.equal(typeof gc, 'function');
    gc!();
  });
});
