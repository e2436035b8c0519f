import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_LINKS, linksWith, parseRtt, projectedFigure, projectionsOf, projectMs } from './projection.js';

test('a projection swaps the measured RTT for the link RTT on every round trip and keeps the transfer', () => {
  // 1000 TOPs at 0.2 ms each on loopback plus 50 ms of transfer: 250 ms; at 80 ms RTT: 50 + 80,000.
  assert.equal(projectMs(250, 1000, 0.2, 80), 80_050);
  // One command: the transfer dominates.
  assert.equal(projectMs(400, 1, 0.2, 20), 419.8);
  // No round trips: unchanged whatever the link.
  assert.equal(projectMs(123.4, 0, 0.5, 80), 123.4);
  // A phase faster than its counted round trips at the measured RTT (the NOOP median is a median): the transfer is 0, not negative.
  assert.equal(projectMs(5, 100, 0.1, 20), 2000);
  assert.equal(projectMs(5, 100, 0.2, 20), 2000);
});

test('every run is projected, and min and max stay the fastest and slowest run', () => {
  const f = projectedFigure({ median: 30, min: 20, max: 40, runs: [40, 20, 30] }, 10, 1, 20);
  assert.deepEqual(f, { median: 220, min: 210, max: 230, runs: [230, 210, 220] });
});

test('projections name each link with its RTT', () => {
  assert.deepEqual(projectionsOf({ median: 10, min: 10, max: 10, runs: [10] }, 2, 0.5, DEFAULT_LINKS), [
    { link: 'Wi-Fi', rttMs: 20, ms: 49 },
    { link: 'mobile', rttMs: 80, ms: 169 },
  ]);
});

test('--rtt values: positive milliseconds up to 10 s; defaults first, duplicates dropped', () => {
  assert.equal(parseRtt('150'), 150);
  assert.equal(parseRtt('2.5'), 2.5);
  for (const bad of ['0', '-5', 'abc', '', '1e3', '10001', '20ms', 'NaN', '1.2345']) assert.equal(parseRtt(bad), null, bad);
  assert.deepEqual(
    linksWith([150, 20, 150]).map((l) => [l.name, l.rttMs]),
    [['Wi-Fi', 20], ['mobile', 80], ['--rtt 150', 150]],
  );
});
