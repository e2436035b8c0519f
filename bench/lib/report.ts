/**
 * The table on stdout, the JSON file, and the markdown section with its
 * ratio chart that `--report` writes into docs/performance.md.
 */
import type { ServerName } from './servers.js';
import type { Summary } from './stats.js';
import type { Row } from './suite.js';

export interface BenchReport {
  startedAt: string;
  durationSeconds: number;
  machine: { cpus: number; cpuModel: string; node: string; loadAverageStart: number[]; loadAverageEnd: number[] };
  servers: Partial<Record<ServerName, string>>;
  /** Why Dovecot was not measured, when it was not. */
  dovecotMissing: string | null;
  mailbox: { messages: number; octets: number };
  rows: Array<Row & { ratio: number | null }>;
  /** Resident memory (MiB; Dovecot: all its processes) after each phase, to see what grows it. */
  memoryTrail: Array<{ after: string } & Partial<Record<ServerName, number>>>;
  notes: string[];
}

/** Mailstead / Dovecot of the medians, or null without both. */
export function ratioOf(r: Row): number | null {
  const m = r.results.mailstead;
  const d = r.results.dovecot;
  if (!m || !d || !d.median) return null;
  return m.median / d.median;
}

function num(v: number): string {
  if (!Number.isFinite(v)) return '-';
  const a = Math.abs(v);
  return a >= 100 ? v.toFixed(0) : a >= 10 ? v.toFixed(1) : a >= 1 ? v.toFixed(2) : v.toFixed(3);
}

function cell(s: Summary | undefined): string {
  return s ? `${num(s.median)} (${num(s.p95)})` : '-';
}

/** "12%/30%": the client's CPU (percent of one core) while measuring Mailstead / Dovecot. */
export function cpuCell(r: Row): string {
  if (!r.clientCpu) return '-';
  const pct = (n: ServerName) => {
    const c = r.clientCpu?.[n];
    return c ? `${c.percent.toFixed(0)}%` : '-';
  };
  return r.results.dovecot || r.clientCpu.dovecot ? `${pct('mailstead')}/${pct('dovecot')}` : pct('mailstead');
}

/** "2.4x faster" / "3.1x slower" from Mailstead's point of view. */
export function verdict(r: Row, ratio: number | null): string {
  if (ratio === null || !Number.isFinite(ratio) || ratio <= 0) return '';
  const faster = r.better === 'higher' ? ratio >= 1 : ratio <= 1;
  const factor = ratio >= 1 ? ratio : 1 / ratio;
  if (factor < 1.05) return 'about the same';
  return `${num(factor)}x ${faster ? 'faster' : 'slower'}`;
}

export function formatTable(report: BenchReport): string {
  // Without Dovecot there is nothing to compare: the last three columns go.
  const keep = (cols: string[]) => (report.dovecotMissing ? [...cols.slice(0, 3), cols[6]] : cols);
  const header = keep(['Benchmark', 'Unit', 'Mailstead med (p95)', 'Dovecot med (p95)', 'M/D', 'Mailstead is', 'client CPU']);
  const body = report.rows.map((r) =>
    keep([
      r.title,
      `${r.unit} ${r.better === 'higher' ? '↑' : '↓'}`,
      cell(r.results.mailstead),
      cell(r.results.dovecot),
      r.ratio === null ? '-' : num(r.ratio),
      verdict(r, r.ratio),
      cpuCell(r),
    ]),
  );
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cols: string[]) => cols.map((c, i) => (i >= 2 && i <= 4 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd();
  const out = [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)];
  return out.join('\n');
}

export function formatReport(report: BenchReport): string {
  const lines = [
    `Mailstead benchmarks — ${report.startedAt}, ${report.machine.cpus} × ${report.machine.cpuModel}, Node.js ${report.machine.node}`,
    ...Object.values(report.servers).map((v) => `  ${v}`),
    `  mailbox: ${report.mailbox.messages} messages, ${(report.mailbox.octets / 1e6).toFixed(1)} MB; load average at start ${report.machine.loadAverageStart.map((l) => l.toFixed(1)).join(' ')}, at end ${report.machine.loadAverageEnd.map((l) => l.toFixed(1)).join(' ')}`,
  ];
  if (report.dovecotMissing) lines.push(`  Dovecot NOT measured: ${report.dovecotMissing}. Mailstead alone; no ratios.`);
  lines.push('', formatTable(report), '');
  lines.push('↑ higher is better, ↓ lower is better. "p95" is the slow tail: the 95th percentile of a time, the 5th of a rate.');
  if (!report.dovecotMissing) lines.push('M/D = Mailstead median / Dovecot median. Runs alternate between the servers.');
  lines.push(CPU_LEGEND);
  const notes = [...report.rows.filter((r) => r.note).map((r) => `${r.id}: ${r.note}`), ...report.notes];
  for (const n of notes) lines.push(`- ${n}`);
  lines.push(`Total ${report.durationSeconds.toFixed(0)} s.`);
  return lines.join('\n');
}

const CPU_LEGEND =
  '"client CPU" is the benchmark client\'s own CPU (process.cpuUsage; imaptest\'s for its rows) over the row\'s runs, in percent of one core, while measuring Mailstead/Dovecot: near 100 % the client, not the server, would be the limit.';

/**
 * How many times better Mailstead is than Dovecot on a row, whatever its
 * direction: above 1 Mailstead is ahead, below 1 behind. Null when the row has
 * no ratio or it cannot be read as a factor (a zero, e.g. 0 errors).
 */
export function advantage(r: Row & { ratio: number | null }): number | null {
  if (r.ratio === null || !Number.isFinite(r.ratio) || r.ratio <= 0) return null;
  return r.better === 'higher' ? r.ratio : 1 / r.ratio;
}

/** The vega-lite spec of the ratio chart: one bar per row, log scale, 1 = level with Dovecot. */
export function ratioChartSpec(report: BenchReport): Record<string, unknown> {
  const values = report.rows
    .map((r) => ({ workload: r.title, factor: advantage(r) }))
    .filter((v): v is { workload: string; factor: number } => v.factor !== null)
    .map((v) => ({ ...v, labelAt: Math.max(v.factor, 1), ahead: v.factor >= 1 ? 'Mailstead ahead' : 'Dovecot ahead', label: `${v.factor >= 1 ? num(v.factor) : num(1 / v.factor)}× ${v.factor >= 1 ? 'better' : 'worse'}` }));
  const y = { field: 'workload', type: 'nominal', sort: null, title: null, axis: { labelLimit: 0 } };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: { text: 'Mailstead against Dovecot, same run, same machine', subtitle: 'factor by which Mailstead is better (> 1) or worse (< 1), log scale; medians' },
    width: 360,
    data: { values },
    layer: [
      {
        mark: { type: 'bar', cornerRadiusEnd: 2 },
        encoding: {
          y,
          x: { field: 'factor', type: 'quantitative', scale: { type: 'log' }, title: 'Mailstead advantage (×, log scale)' },
          x2: { datum: 1 },
          color: { field: 'ahead', type: 'nominal', title: null, scale: { domain: ['Mailstead ahead', 'Dovecot ahead'], range: ['#16a34a', '#dc2626'] }, legend: { orient: 'top' } },
        },
      },
      { mark: { type: 'rule', color: '#111827' }, encoding: { x: { datum: 1 } } },
      {
        mark: { type: 'text', align: 'left', dx: 4, fontSize: 10, color: '#374151' },
        encoding: { y, x: { field: 'labelAt', type: 'quantitative' }, text: { field: 'label' } },
      },
    ],
    config: { font: 'system-ui, -apple-system, Segoe UI, Roboto, sans-serif', view: { stroke: null }, axis: { labelFontSize: 11, titleFontSize: 11, gridColor: '#e5e7eb' } },
  };
}

/**
 * Renders a vega-lite spec to SVG in Node, as the speed-test report does
 * (renderer 'none' + toSVG): no browser, no script, nothing fetched.
 */
export async function renderSvg(spec: Record<string, unknown>): Promise<string> {
  const vega = await import('vega');
  const vl = await import('vega-lite');
  const view = new vega.View(vega.parse(vl.compile(spec as never).spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}

function mdNum(v: number | undefined): string {
  return v === undefined ? '-' : num(v);
}

/** The generated part of docs/performance.md: when, where, the table, the chart, the notes. */
export function formatMarkdown(report: BenchReport, chartFile: string): string {
  const m = report.machine;
  const lines = [
    `Run of ${report.startedAt.slice(0, 16).replace('T', ' ')} UTC, ${report.durationSeconds.toFixed(0)} s: ${m.cpus} × ${m.cpuModel}, Node.js ${m.node}; ${Object.values(report.servers).join('; ')}.`,
    `Mailbox: ${report.mailbox.messages.toLocaleString('en')} messages, ${(report.mailbox.octets / 1e6).toFixed(0)} MB (bench/lib/corpus.ts). Load average ${m.loadAverageStart.map((l) => l.toFixed(1)).join(' ')} at the start, ${m.loadAverageEnd.map((l) => l.toFixed(1)).join(' ')} at the end.`,
    '',
  ];
  if (report.dovecotMissing) lines.push(`**Dovecot not measured:** ${report.dovecotMissing}.`, '');
  lines.push(`![Mailstead/Dovecot per workload](${chartFile})`, '');
  lines.push('| workload | unit | Mailstead median (p95) | Dovecot median (p95) | M/D | Mailstead is | client CPU M/D |', '|---|---|---:|---:|---:|---|---:|');
  for (const r of report.rows) {
    const c = (s: Summary | undefined) => (s ? `${mdNum(s.median)} (${mdNum(s.p95)})` : '-');
    lines.push(
      `| ${r.title.replace(/\|/g, '\\|')} | ${r.unit} ${r.better === 'higher' ? '↑' : '↓'} | ${c(r.results.mailstead)} | ${c(r.results.dovecot)} | ${r.ratio === null ? '-' : num(r.ratio)} | ${verdict(r, r.ratio)} | ${cpuCell(r)} |`,
    );
  }
  lines.push('', '↑ higher is better, ↓ lower is better; p95 is the slow tail (the 5th percentile of a rate). ' + CPU_LEGEND, '');
  const notes = [...report.rows.filter((r) => r.note).map((r) => `\`${r.id}\`: ${r.note}`), ...report.notes];
  for (const n of notes) lines.push(`- ${n}`);
  return lines.join('\n');
}

export const REPORT_BEGIN = '<!-- bench:report:begin (generated by npm run bench -- --report; edits here are overwritten) -->';
export const REPORT_END = '<!-- bench:report:end -->';

/** Puts `generated` between the markers of `doc` (appended with them when absent). */
export function spliceReport(doc: string, generated: string): string {
  const a = doc.indexOf(REPORT_BEGIN);
  const b = doc.indexOf(REPORT_END);
  if (a < 0 || b < a) return `${doc.trimEnd()}\n\n${REPORT_BEGIN}\n${generated}\n${REPORT_END}\n`;
  return `${doc.slice(0, a + REPORT_BEGIN.length)}\n${generated}\n${doc.slice(b)}`;
}
