import assert from 'node:assert/strict';
import { test } from 'node:test';
import { foldRuns, medianRunIndex } from './fold.js';
import { DEFAULT_LINKS } from './projection.js';
import type { PhaseRun, RunResult } from './run-types.js';
import type { SpeedtestReport } from './types.js';
import { formatTable } from './table.js';
import { verdictOf } from './verdict.js';

const phase = (ms: number, cpuMs: number, roundTrips: number, wireBytes = 1000): PhaseRun => ({ ms, cpuMs, roundTrips, wireBytes });

/** A run measured by hand: `scale` stretches every wall time. */
function run(protocol: 'imap' | 'pop3', scale: number, over: Partial<RunResult> = {}): RunResult {
  const imap = protocol === 'imap';
  return {
    dnsMs: 0.1, tcpMs: 0.2 * scale, tlsMs: 2 * scale, greetingMs: 0.3 * scale, authMs: 3 * scale,
    security: 'tls', compression: false, tlsVersion: 'TLSv1.3', tlsCipher: 'TLS_AES_256_GCM_SHA384', address: '127.0.0.1', connectRoundTrips: 3,
    capabilities: imap ? ['IMAP4rev1', 'IDLE', 'COMPRESS=DEFLATE'] : ['TOP', 'UIDL', 'PIPELINING'],
    compressionOffered: imap, pipeliningOffered: true,
    login: phase(3 * scale, 1, imap ? 1 : 2),
    listing: { ...phase(10 * scale, 3, imap ? 2 : 2), messages: 300, bytes: 3_000_000 },
    headerSync: { ...phase((imap ? 30 : 60) * scale, imap ? 12 : 20, imap ? 1 : 300), messages: 300 },
    headerSyncPipelined: imap ? null : { ...phase(20 * scale, 10, 5), messages: 300 },
    download: { ...phase(100 * scale, imap ? 90 * scale : 40, imap ? 1 : 300, 3_100_000), messages: 300, bytes: 3_000_000, firstMessageMs: 1 },
    downloadPipelined: imap ? null : { ...phase(80 * scale, 40, 5, 3_100_000), messages: 300, bytes: 3_000_000, firstMessageMs: 1 },
    downloadCompressed: imap ? { ...phase(150 * scale, 140 * scale, 1, 900_000), messages: 300, bytes: 3_000_000, firstMessageMs: 2 } : null,
    resync: { ...phase(2 * scale, 0.5, imap ? 2 : 2), method: imap ? 'qresync' : 'uidl-diff', newMessages: 0 },
    latencyMs: Array.from({ length: 10 }, (_v, i) => 0.1 + i * 0.01),
    ...over,
  };
}

const opts = { url: 'imaps://x@h', links: DEFAULT_LINKS, pollIntervalSeconds: 300 };

test('the median run is the middle one by wall time (the faster middle one for an even count)', () => {
  assert.equal(medianRunIndex([30, 10, 20]), 2);
  assert.equal(medianRunIndex([40, 10, 30, 20]), 3);
  assert.equal(medianRunIndex([5]), 0);
});

test('each phase reports CPU time, round trips, octets and projections; old fields keep their meaning', () => {
  const r = foldRuns('pop3', [run('pop3', 1), run('pop3', 1.2), run('pop3', 0.9)], [], opts);
  assert.deepEqual(r.headerSync.ms, { median: 60, min: 54, max: 72, runs: [60, 72, 54] });
  assert.deepEqual(r.headerSync.cpuMs.runs, [20, 20, 20]);
  assert.equal(r.headerSync.roundTrips, 300);
  assert.equal(r.headerSync.clientBound, false);
  assert.equal(r.measuredRttMs, 0.145);
  // 60 − 300 × 0.145 + 300 × 20 = 6016.5
  assert.deepEqual(r.headerSync.projections, [
    { link: 'Wi-Fi', rttMs: 20, ms: 6016.5 },
    { link: 'mobile', rttMs: 80, ms: 24016.5 },
  ]);
  assert.equal(r.download.seconds.median, 0.1);
  assert.equal(r.download.megabytesPerSecond.median, 30);
  assert.equal(r.download.ms.median, 100);
  assert.equal(r.connection.authMs.median, r.login.ms.median);
  assert.deepEqual(r.connection.connect.ms.runs, [2.5, 3, 2.25]);
  assert.equal(r.connection.connect.roundTrips, 3);
  assert.equal(r.connection.compression, false);
  assert.ok(r.headerSyncPipelined && r.downloadPipelined);
  assert.equal(r.headerSyncPipelined.roundTrips, 5);
  assert.equal(r.downloadCompressed, null);
});

test('client-bound: CPU at >= 80 % of the wall time in the median run', () => {
  // IMAP download: cpu 90 % of wall in every run.
  const imap = foldRuns('imap', [run('imap', 1), run('imap', 1.1), run('imap', 1.2)], [], opts);
  assert.equal(imap.download.clientBound, true);
  assert.equal(imap.headerSync.clientBound, false);
  // Only the fastest run was busy; the median run was not.
  const runs = [run('pop3', 1), run('pop3', 1.1), run('pop3', 0.5)];
  runs[2].listing.cpuMs = 5;
  assert.equal(foldRuns('pop3', runs, [], opts).listing.clientBound, false);
  runs[0].listing.cpuMs = 8; // 80 % of 10 ms in the median run
  assert.equal(foldRuns('pop3', runs, [], opts).listing.clientBound, true);
});

test('a row measured in only some runs is not reported', () => {
  const runs = [run('pop3', 1), run('pop3', 1, { downloadPipelined: null })];
  const r = foldRuns('pop3', runs, [], opts);
  assert.equal(r.downloadPipelined, null);
  assert.ok(r.headerSyncPipelined);
});

test('the verdict names real differences, says level otherwise, and projects onto each link', () => {
  const imap = foldRuns('imap', [run('imap', 1), run('imap', 1.05), run('imap', 0.95)], [], opts);
  const pop3 = foldRuns('pop3', [run('pop3', 1), run('pop3', 1.05), run('pop3', 0.95)], [], opts);
  const report = { imap, pop3, links: DEFAULT_LINKS, pollIntervalSeconds: 300 } as unknown as SpeedtestReport;
  const v = verdictOf(report);
  assert.match(v, /logging in: level \(3\.0 ms and 3\.0 ms, within the noise\)/);
  assert.match(v, /opening the mailbox \(headers of 300 messages\): IMAP 2\.0× faster \(30 ms against 60 ms\)/);
  assert.match(v, /downloading everything: no conclusion, limited by this machine \(the IMAP client was busy 90 % of the time\)/);
  assert.match(v, /Projected for Wi-Fi 20 ms round trips: opening the mailbox: IMAP 121× faster \(50 ms against 6\.02 s\)/);
  // A bound IMAP download (1 round trip) against POP3's 300 RETRs: POP3's own floor (24 s on mobile) decides.
  assert.match(v, /Projected for mobile 80 ms round trips: .*downloading everything: IMAP \d+× faster/);
  assert.match(v, /With PIPELINING \(RFC 2449\) POP3 sends its commands in batches, 5 round trips instead of 300 for the headers/);
  assert.match(v, /With COMPRESS=DEFLATE \(RFC 4978\) IMAP's download read 0\.9 MB from the network instead of 3\.1 MB; its time: no conclusion/);
});

test("the table marks a client-bound phase and lists each link's projections", () => {
  const imap = foldRuns('imap', [run('imap', 1)], [], opts);
  const pop3 = foldRuns('pop3', [run('pop3', 1)], [], opts);
  const text = formatTable({ imap, pop3, links: DEFAULT_LINKS, pollIntervalSeconds: 300 } as unknown as SpeedtestReport);
  // IMAP's download: 90 ms of CPU in 100 ms.
  assert.match(text, /^ {2}client +CPU 90 ms \(90 %\), 1 round trip, 3\.1 MB read — limited by this machine +CPU 40 ms \(40 %\), 300 round trips, 3\.1 MB read$/m);
  assert.match(text, /^Projected +IMAP Wi-Fi 20 ms +POP3 Wi-Fi 20 ms +IMAP mobile 80 ms +POP3 mobile 80 ms$/m);
  assert.match(text, /^Open mailbox \(headers\) +50 ms +6\.02 s +110 ms +24\.0 s$/m);
  assert.match(text, /^Open mailbox, pipelined +— +/m);
  assert.match(text, /^Full download, compressed +0\.15 s, 20\.0 MB\/s +— *$/m);
});
