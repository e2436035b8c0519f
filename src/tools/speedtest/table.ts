/** The side-by-side table and the projections table, as text rows (the CLI's stdout and the HTML report). */
import type { Figure, Link, PhaseCost, Projection, ProtocolReport, SpeedtestReport } from './types.js';

export function ms(value: number): string {
  if (value >= 120_000) return `${(value / 60_000).toFixed(1)} min`;
  if (value >= 10_000) return `${(value / 1000).toFixed(1)} s`;
  if (value >= 1000) return `${(value / 1000).toFixed(2)} s`;
  if (value >= 10) return `${value.toFixed(0)} ms`;
  return `${value.toFixed(1)} ms`;
}

export function fig(f: Figure | null | undefined, unit: (v: number) => string = ms): string {
  if (!f) return '—';
  return f.min === f.max ? unit(f.median) : `${unit(f.median)} (${unit(f.min)}–${unit(f.max)})`;
}

function megabytes(bytes: number): string {
  return bytes >= 1e6 ? `${(bytes / 1e6).toFixed(1)} MB` : bytes >= 1e4 ? `${(bytes / 1e3).toFixed(0)} kB` : `${bytes} B`;
}

/** A measured phase as the table, the verdict and the charts see it. */
export interface PhaseView {
  ms: Figure;
  roundTrips: number;
  projections: Projection[];
  /** Absent for the connection phases (TCP, TLS, greeting), where no CPU time is taken. */
  cost?: PhaseCost;
}

export interface PhaseDef {
  key: string;
  label: string;
  pick(p: ProtocolReport): PhaseView | null;
}

const withCost = (f: (PhaseCost & { ms: Figure }) | null): PhaseView | null => (f ? { ms: f.ms, roundTrips: f.roundTrips, projections: f.projections, cost: f } : null);

/** Every projected phase, in the order a client meets them. */
export const PHASES: readonly PhaseDef[] = [
  { key: 'connect', label: 'Connect (TCP, TLS, greeting)', pick: (p) => p.connection.connect },
  { key: 'login', label: 'Login', pick: (p) => withCost(p.login) },
  { key: 'listing', label: 'Listing', pick: (p) => withCost(p.listing) },
  { key: 'headerSync', label: 'Open mailbox (headers)', pick: (p) => withCost(p.headerSync) },
  { key: 'headerSyncPipelined', label: 'Open mailbox, pipelined', pick: (p) => withCost(p.headerSyncPipelined) },
  { key: 'download', label: 'Full download', pick: (p) => withCost(p.download) },
  { key: 'downloadPipelined', label: 'Full download, pipelined', pick: (p) => withCost(p.downloadPipelined) },
  { key: 'downloadCompressed', label: 'Full download, compressed', pick: (p) => withCost(p.downloadCompressed) },
  { key: 'resync', label: 'Resync (from logged in)', pick: (p) => withCost(p.resync) },
];

export interface TableRow {
  label: string;
  imap: string;
  pop3: string;
}

/** CPU share, round trips and octets of a phase, and the mark of a figure limited by this machine. */
function costOf(f: PhaseCost & { ms: Figure }): string {
  const share = f.ms.median > 0 ? Math.round((100 * f.cpuMs.median) / f.ms.median) : 0;
  const trips = `${f.roundTrips} round trip${f.roundTrips === 1 ? '' : 's'}`;
  return `CPU ${ms(f.cpuMs.median)} (${share} %), ${trips}, ${megabytes(f.wireBytes)} read${f.clientBound ? ' — limited by this machine' : ''}`;
}

export function tableRows(report: SpeedtestReport): TableRow[] {
  const { imap, pop3 } = report;
  const row = (label: string, pick: (p: ProtocolReport) => string): TableRow => ({
    label,
    imap: imap ? pick(imap) : 'not tested',
    pop3: pop3 ? pick(pop3) : 'not tested',
  });
  // A row measured on one protocol only (pipelined POP3, compressed IMAP) is left out when neither has it.
  const optional = (label: string, pick: (p: ProtocolReport) => string | null, none: string): TableRow[] => {
    const values = [imap, pop3].map((p) => (p ? pick(p) : null));
    return values.every((v) => v === null) ? [] : [{ label, imap: values[0] ?? none, pop3: values[1] ?? none }];
  };
  const mbs = (v: number) => `${v.toFixed(1)} MB/s`;
  const per = (v: number) => `${v.toFixed(0)}/s`;
  const cost = (label: string, pick: (p: ProtocolReport) => (PhaseCost & { ms: Figure }) | null) => optional(label, (p) => (pick(p) ? costOf(pick(p)!) : null), '—');
  const notMeasured = (p: ProtocolReport, offered: boolean, what: string) => (offered ? 'not measured' : `${what} not offered`);
  return [
    row('TLS', (p) => (p.connection.tlsVersion ? `${p.connection.tlsVersion} ${p.connection.tlsCipher ?? ''}`.trim() : `none (${p.connection.security})`)),
    row('Compression', (p) => (p.protocol === 'pop3' ? 'none in POP3' : p.compressionOffered ? 'COMPRESS=DEFLATE offered: own row' : 'not offered')),
    row('Pipelining', (p) => (p.protocol === 'imap' ? 'always allowed' : p.pipeliningOffered ? 'PIPELINING offered: own rows' : 'not offered')),
    row('DNS lookup', (p) => fig(p.connection.dnsMs)),
    row('TCP connect', (p) => fig(p.connection.tcpMs)),
    row('TLS handshake', (p) => fig(p.connection.tlsMs)),
    row('Greeting', (p) => fig(p.connection.greetingMs)),
    row('  round trips to greeting', (p) => String(p.connection.connect.roundTrips)),
    row('Login', (p) => fig(p.login.ms)),
    ...cost('  client', (p) => p.login),
    row('Command round trip (RTT)', (p) => ms(p.measuredRttMs)),
    row('Listing', (p) => `${fig(p.listing.ms)}, ${p.listing.messages} msgs`),
    ...cost('  client', (p) => p.listing),
    row('Open mailbox (headers)', (p) => `${fig(p.headerSync.ms)}, ${p.headerSync.messages} msgs`),
    ...cost('  client', (p) => p.headerSync),
    ...optional('Open mailbox, pipelined', (p) => (p.headerSyncPipelined ? fig(p.headerSyncPipelined.ms) : null), '—'),
    ...cost('  client', (p) => p.headerSyncPipelined),
    row('Full download', (p) => `${fig(p.download.seconds, (v) => `${v.toFixed(2)} s`)}, ${p.download.messages} msgs`),
    row('  throughput', (p) => `${mbs(p.download.megabytesPerSecond.median)}, ${per(p.download.messagesPerSecond.median)}`),
    row('  first message after', (p) => fig(p.download.timeToFirstMessageMs)),
    ...cost('  client', (p) => p.download),
    ...optional('Full download, pipelined', (p) => (p.downloadPipelined ? `${fig(p.downloadPipelined.seconds, (v) => `${v.toFixed(2)} s`)}, ${mbs(p.downloadPipelined.megabytesPerSecond.median)}` : null), '—'),
    ...cost('  client', (p) => p.downloadPipelined),
    ...optional(
      'Full download, compressed',
      (p) => (p.downloadCompressed ? `${fig(p.downloadCompressed.seconds, (v) => `${v.toFixed(2)} s`)}, ${mbs(p.downloadCompressed.megabytesPerSecond.median)}` : p.protocol === 'imap' ? notMeasured(p, p.compressionOffered, 'COMPRESS') : null),
      '—',
    ),
    ...cost('  client', (p) => p.downloadCompressed),
    row('Resync (from logged in)', (p) => `${fig(p.resync.ms)} ${p.resync.method}, ${p.resync.newMessages} new`),
    ...cost('  client', (p) => p.resync),
    row('Push (new mail seen)', (p) =>
      p.push.ms ? fig(p.push.ms) : p.push.expectedDelayMs !== null ? `no push: ~${ms(p.push.expectedDelayMs)} (poll)` : p.push.supported ? 'IDLE (not measured)' : 'no IDLE'),
    row('Read on 2nd device', (p) => (p.coherence.ms ? fig(p.coherence.ms) : p.coherence.possible ? 'yes (not measured)' : 'impossible')),
  ];
}

export function linkLabel(link: { name: string; rttMs: number }): string {
  return link.name.startsWith('--rtt') ? `${link.rttMs} ms` : `${link.name} ${link.rttMs} ms`;
}

/** Projected phases: a header row and one row per phase measured by either protocol, two columns (IMAP, POP3) per link. */
export function projectionTable(report: SpeedtestReport): { head: string[]; rows: string[][] } {
  const protocols = [report.imap, report.pop3].filter((p): p is ProtocolReport => p !== null);
  const head = ['Projected', ...report.links.flatMap((l: Link) => protocols.map((p) => `${p.protocol.toUpperCase()} ${linkLabel(l)}`))];
  const rows: string[][] = [];
  for (const phase of PHASES) {
    const views = protocols.map((p) => phase.pick(p));
    if (views.every((v) => v === null)) continue;
    rows.push([phase.label, ...report.links.flatMap((_l, i) => views.map((v) => (v ? ms(v.projections[i].ms) : '—')))]);
  }
  return { head, rows };
}

function columns(lines: string[][]): string {
  const widths = lines[0].map((_c, i) => Math.max(...lines.map((l) => l[i].length)));
  const line = (l: string[]) => l.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  const rule = '-'.repeat(Math.min(widths.reduce((a, b) => a + b + 2, -2), 120));
  return [line(lines[0]), rule, ...lines.slice(1).map(line)].join('\n');
}

export function formatTable(report: SpeedtestReport): string {
  const main = columns([['', 'IMAP', 'POP3'], ...tableRows(report).map((r) => [r.label, r.imap, r.pop3])]);
  const projected = projectionTable(report);
  return `${main}\n\n${columns([projected.head, ...projected.rows])}`;
}
