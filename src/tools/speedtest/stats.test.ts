import assert from 'node:assert/strict';
import { test } from 'node:test';
import { figure, median } from './stats.js';

test('median of odd and even counts, figure keeps min, max and runs', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.deepEqual(figure([5, 1, 3]), { median: 3, min: 1, max: 5, runs: [5, 1, 3] });
});
