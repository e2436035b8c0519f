import assert from 'node:assert/strict';
import { test } from 'node:test';
import { figure } from './stats.js';
import { clause, compareMeasured, compareOnLink, noiseOf, type Side } from './verdict.js';

const side = (label: string, runs: number[], extra: Partial<Side> = {}): Side => ({
  label,
  ms: figure(runs),
  clientBound: false,
  cpuShare: 0.3,
  roundTrips: 1,
  measuredRttMs: 0.1,
  ...extra,
});
const wifi = { name: 'Wi-Fi', rttMs: 20 };
const mobile = { name: 'mobile', rttMs: 80 };

test('overlapping runs are level, however far apart the medians', () => {
  // POP3's median is 50 % slower, but its fastest run beat IMAP's slowest.
  const o = compareMeasured(side('IMAP', [100, 104, 180]), side('POP3', [150, 155, 170]));
  assert.equal(o.kind, 'level');
  assert.match(clause('downloading everything', o), /^downloading everything: level \(104 ms and 155 ms, within the noise\)$/);
});

test('runs that do not overlap but differ by less than the noise are level', () => {
  // 100–102 against 105–107: no overlap, but 5 ms < 10 % of 101 ms.
  assert.equal(compareMeasured(side('IMAP', [100, 101, 102]), side('POP3', [105, 106, 107])).kind, 'level');
  // The noise is the larger relative spread when that exceeds the floor: 100–180 around 150 spreads 53 %;
  // POP3's 40 % gap is inside it, though no run overlaps.
  assert.equal(noiseOf(figure([100, 101, 102]), figure([100, 150, 180])), 80 / 150);
  assert.equal(compareMeasured(side('IMAP', [60, 61, 62]), side('POP3', [100, 150, 180])).kind, 'faster', 'a 2.5× gap is beyond 53 %');
  assert.equal(compareMeasured(side('IMAP', [100, 105, 107]), side('POP3', [110, 150, 190])).kind, 'level');
  // A noisy slow side does not hide a gap far larger than its spread (every POP3 run is 3× IMAP's slowest).
  assert.equal(compareMeasured(side('IMAP', [300, 351, 400]), side('POP3', [1200, 1350, 3000])).kind, 'faster');
  // A single run has no spread: the floor decides.
  assert.equal(compareMeasured(side('IMAP', [100]), side('POP3', [109])).kind, 'level');
  assert.equal(compareMeasured(side('IMAP', [100]), side('POP3', [111])).kind, 'faster');
});

test('a phase where either client was CPU-bound draws no conclusion', () => {
  const o = compareMeasured(side('IMAP', [10, 11, 12], { clientBound: true, cpuShare: 0.93 }), side('POP3', [100, 101, 102]));
  assert.equal(o.kind, 'bound');
  assert.equal(clause('downloading everything', o), 'downloading everything: no conclusion, limited by this machine (the IMAP client was busy 93 % of the time)');
  assert.equal(compareMeasured(side('IMAP', [10, 11, 12]), side('POP3', [100, 101, 102], { clientBound: true })).kind, 'bound');
});

test('a clear difference is named with its ratio', () => {
  const o = compareMeasured(side('IMAP', [40, 42, 41]), side('POP3', [100, 98, 99]));
  assert.equal(o.kind, 'faster');
  assert.equal(clause('opening the mailbox', o), 'opening the mailbox: IMAP 2.4× faster (41 ms against 99 ms)');
  const p = compareMeasured(side('IMAP', [500, 520, 510]), side('POP3', [20, 21, 22]));
  assert.equal(clause('downloading everything', p), 'downloading everything: POP3 24× faster (21 ms against 510 ms)');
});

test('on a link, round trips decide what loopback hides', () => {
  // Loopback: IMAP 30 ms in 1 round trip, POP3 25 ms in 300 TOPs (0.05 ms RTT): POP3 slightly faster, level.
  const imap = side('IMAP', [29, 30, 31], { measuredRttMs: 0.05 });
  const pop3 = side('POP3', [24, 25, 30], { roundTrips: 300, measuredRttMs: 0.05 });
  assert.equal(compareMeasured(imap, pop3).kind, 'level');
  // On Wi-Fi: IMAP 30 − 0.05 + 20 ≈ 50 ms; POP3 25 − 15 + 6000 = 6010 ms.
  const o = compareOnLink(imap, pop3, wifi);
  assert.equal(o.kind, 'faster');
  assert.equal(clause('opening the mailbox', o), 'opening the mailbox: IMAP 120× faster (50 ms against 6.01 s)');
});

test('on a link, a CPU-bound side is judged by its round trips alone', () => {
  // POP3 bound but 300 round trips: its floor on a mobile link (24 s) is still far slower than IMAP.
  const imap = side('IMAP', [29, 30, 31]);
  const boundPop3 = side('POP3', [24, 25, 27], { roundTrips: 300, clientBound: true });
  assert.equal(compareOnLink(imap, boundPop3, mobile).kind, 'faster');
  // A bound IMAP download (1 round trip) slower than POP3's: its floor (80 ms) does not show POP3 slower, nor can it show IMAP slower → no conclusion.
  const boundImap = side('IMAP', [900, 910, 905], { clientBound: true, cpuShare: 0.95 });
  const pop3 = side('POP3', [400, 410, 405], { roundTrips: 2 });
  assert.equal(compareOnLink(boundImap, pop3, mobile).kind, 'bound');
  // Neither bound and overlapping once projected: level.
  assert.equal(compareOnLink(side('IMAP', [100, 150, 125]), side('POP3', [110, 140, 120]), mobile).kind, 'level');
});
