/** The table on stdout and the JSON file. */
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
  const columns = report.dovecotMissing ? 3 : 6;
  const header = ['Benchmark', 'Unit', 'Mailstead med (p95)', 'Dovecot med (p95)', 'M/D', 'Mailstead is'].slice(0, columns);
  const body = report.rows.map((r) =>
    [
      r.title,
      `${r.unit} ${r.better === 'higher' ? '↑' : '↓'}`,
      cell(r.results.mailstead),
      cell(r.results.dovecot),
      r.ratio === null ? '-' : num(r.ratio),
      verdict(r, r.ratio),
    ].slice(0, columns),
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
  const notes = [...report.rows.filter((r) => r.note).map((r) => `${r.id}: ${r.note}`), ...report.notes];
  for (const n of notes) lines.push(`- ${n}`);
  lines.push(`Total ${report.durationSeconds.toFixed(0)} s.`);
  return lines.join('\n');
}
