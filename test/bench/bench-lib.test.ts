/**
 * The benchmark's own arithmetic (bench/): the corpus is the same for the
 * same seed and stays within its stated sizes, imaptest's output is read
 * right, the ratio chart points the right way, and --report keeps the
 * hand-written text of docs/performance.md. Nothing here measures speed.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { corpusMessages, MAX_OCTETS, MIN_OCTETS } from '../../bench/lib/corpus.js';
import { advantage, type BenchReport, formatMarkdown, ratioChartSpec, REPORT_BEGIN, REPORT_END, spliceReport } from '../../bench/lib/report.js';
import { parseImaptest } from '../../bench/suites/imaptest.js';

test('corpus: same seed, same bytes; every message within 1 KB–1 MB; a MIME mix', () => {
  const a = corpusMessages(300, 'alice@example.com');
  const b = corpusMessages(300, 'alice@example.com');
  assert.ok(a.every((m, i) => m.content.equals(b[i].content)), 'deterministic, attachments included');
  assert.ok(!a[0].content.equals(corpusMessages(1, 'alice@example.com', 1)[0].content), 'another seed, another mailbox');
  for (const m of a) assert.ok(m.content.length >= MIN_OCTETS && m.content.length <= MAX_OCTETS, `${m.content.length} octets`);
  const shapes = new Set(a.map((m) => m.shape));
  assert.deepEqual([...shapes].sort(), ['alternative', 'attachment', 'html', 'plain']);
  const mixed = a.find((m) => m.shape === 'attachment')?.content.toString('latin1') ?? '';
  assert.match(mixed, /multipart\/mixed/);
  assert.match(mixed, /multipart\/alternative/);
  assert.match(mixed, /Content-Disposition: attachment/);
  assert.ok(a.every((m) => !/[^\r]\n/.test(m.content.toString('latin1'))), 'CRLF line ends only');
});

const IMAPTEST_OUTPUT = `Logi List Stat Sele Fetc Fet2 Stor Dele Expu Appe Logo 
100%  50%  50% 100% 100% 100%  50% 100% 100% 100% 100% 
                          30%                  5%      
  15    7    7   14    7    9    0    4    6   10    9   6/ 10
  77  168  168  133   49   39   51   53   54  196    7 ms/cmd avg
Error: alice@example.com[3]: STORE failed
Totals:
Logi List Stat Sele Fetc Fet2 Stor Dele Expu Appe Logo 
100%  50%  50% 100% 100% 100%  50% 100% 100% 100% 100% 
                          30%                  5%      
  74   33   39   74   69   96   24   35   69   71   84 
0m0.002s 0m0.000s
0m1.041s 0m0.025s
`;

test('imaptest output: Totals per state, errors, ms per command, its CPU from times', () => {
  const r = parseImaptest(IMAPTEST_OUTPUT);
  assert.equal(r.totals.Logi, 74);
  assert.equal(r.totals.Logo, 84);
  assert.equal(Object.values(r.totals).reduce((x, y) => x + y, 0), 668);
  assert.equal(r.errors, 1);
  assert.equal(r.msPerCommand.Logi, 77);
  assert.equal(r.cpuSeconds.toFixed(3), '1.066');
  assert.throws(() => parseImaptest('imaptest: connect() failed'), /no Totals/);
});

function report(rows: BenchReport['rows']): BenchReport {
  return {
    startedAt: '2026-12-07T22:00:00.000Z',
    durationSeconds: 60,
    machine: { cpus: 2, cpuModel: 'test', node: '20', loadAverageStart: [1, 1, 1], loadAverageEnd: [2, 2, 2] },
    servers: { mailstead: 'Mailstead', dovecot: 'Dovecot' },
    dovecotMissing: null,
    mailbox: { messages: 10, octets: 1000 },
    rows,
    memoryTrail: [],
    notes: [],
  };
}
const summary = (median: number) => ({ median, p95: median, runs: 1, values: [median] });

test('ratio chart: above 1 is Mailstead ahead whichever way the unit points; rows without a ratio are left out', () => {
  const rows: BenchReport['rows'] = [
    { id: 'a', title: 'time | pipe', unit: 'ms', better: 'lower', results: { mailstead: summary(50), dovecot: summary(100) }, ratio: 0.5 },
    { id: 'b', title: 'rate', unit: 'ops/s', better: 'higher', results: { mailstead: summary(50), dovecot: summary(100) }, ratio: 0.5 },
    { id: 'c', title: 'errors', unit: 'errors', better: 'lower', results: { mailstead: summary(0), dovecot: summary(0) }, ratio: null },
  ];
  assert.equal(advantage(rows[0]), 2);
  assert.equal(advantage(rows[1]), 0.5);
  assert.equal(advantage(rows[2]), null);
  const values = (ratioChartSpec(report(rows)).data as { values: Array<{ workload: string; factor: number }> }).values;
  assert.deepEqual(values.map((v) => [v.workload, v.factor]), [['time | pipe', 2], ['rate', 0.5]]);
  assert.match(formatMarkdown(report(rows), 'chart.svg'), /\| time \\\| pipe \| ms ↓ \|/);
});

test('--report replaces only the text between its markers', () => {
  const doc = `# Performance\n\nHow to run.\n\n${REPORT_BEGIN}\nold table\n${REPORT_END}\n\n## Notes\n\nkept\n`;
  const out = spliceReport(doc, 'new table');
  assert.equal(out, `# Performance\n\nHow to run.\n\n${REPORT_BEGIN}\nnew table\n${REPORT_END}\n\n## Notes\n\nkept\n`);
  assert.equal(spliceReport(out, 'newer'), spliceReport(doc, 'newer'), 'idempotent');
  assert.equal(spliceReport('# P\n', 'x'), `# P\n\n${REPORT_BEGIN}\nx\n${REPORT_END}\n`);
});
