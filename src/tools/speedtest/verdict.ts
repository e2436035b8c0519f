/** The side-by-side table and the one-paragraph verdict, in plain words. */
import type { Figure, ProtocolReport, SpeedtestReport } from './types.js';

export function ms(value: number): string {
  if (value >= 120_000) return `${(value / 60_000).toFixed(1)} min`;
  if (value >= 10_000) return `${(value / 1000).toFixed(1)} s`;
  if (value >= 1000) return `${(value / 1000).toFixed(2)} s`;
  if (value >= 10) return `${value.toFixed(0)} ms`;
  return `${value.toFixed(1)} ms`;
}

function fig(f: Figure | null | undefined, unit: (v: number) => string = ms): string {
  if (!f) return '—';
  return f.min === f.max ? unit(f.median) : `${unit(f.median)} (${unit(f.min)}–${unit(f.max)})`;
}

function ratio(slow: number, fast: number): string {
  if (fast <= 0) return 'much';
  const r = slow / fast;
  return r >= 10 ? `${r.toFixed(0)}×` : `${r.toFixed(1)}×`;
}

export interface TableRow {
  label: string;
  imap: string;
  pop3: string;
}

export function tableRows(report: SpeedtestReport): TableRow[] {
  const { imap, pop3 } = report;
  const row = (label: string, pick: (p: ProtocolReport) => string): TableRow => ({
    label,
    imap: imap ? pick(imap) : 'not tested',
    pop3: pop3 ? pick(pop3) : 'not tested',
  });
  const mbs = (v: number) => `${v.toFixed(1)} MB/s`;
  const per = (v: number) => `${v.toFixed(0)}/s`;
  return [
    row('TLS', (p) => (p.connection.tlsVersion ? `${p.connection.tlsVersion} ${p.connection.tlsCipher ?? ''}`.trim() : `none (${p.connection.security})`)),
    row('Compression', (p) => (p.connection.compression ? 'COMPRESS=DEFLATE' : 'none')),
    row('DNS lookup', (p) => fig(p.connection.dnsMs)),
    row('TCP connect', (p) => fig(p.connection.tcpMs)),
    row('TLS handshake', (p) => fig(p.connection.tlsMs)),
    row('Greeting', (p) => fig(p.connection.greetingMs)),
    row('Authentication', (p) => fig(p.connection.authMs)),
    row('Command round trip', (p) => ms(median(p.latencySamplesMs))),
    row('Listing', (p) => `${fig(p.listing.ms)}, ${p.listing.messages} msgs`),
    row('Open mailbox (headers)', (p) => `${fig(p.headerSync.ms)}, ${p.headerSync.messages} msgs`),
    row('Full download', (p) => `${fig(p.download.seconds, (v) => `${v.toFixed(2)} s`)}, ${p.download.messages} msgs`),
    row('  throughput', (p) => `${mbs(p.download.megabytesPerSecond.median)}, ${per(p.download.messagesPerSecond.median)}`),
    row('  first message after', (p) => fig(p.download.timeToFirstMessageMs)),
    row('Resync (new session)', (p) => `${fig(p.resync.ms)} ${p.resync.method}, ${p.resync.newMessages} new`),
    row('Push (new mail seen)', (p) =>
      p.push.ms ? fig(p.push.ms) : p.push.expectedDelayMs !== null ? `no push: ~${ms(p.push.expectedDelayMs)} (poll)` : p.push.supported ? 'IDLE (not measured)' : 'no IDLE'),
    row('Read on 2nd device', (p) => (p.coherence.ms ? fig(p.coherence.ms) : p.coherence.possible ? 'yes (not measured)' : 'impossible')),
  ];
}

export function formatTable(report: SpeedtestReport): string {
  const rows = tableRows(report);
  const head: TableRow = { label: '', imap: 'IMAP', pop3: 'POP3' };
  const w0 = Math.max(...[head, ...rows].map((r) => r.label.length));
  const w1 = Math.max(...[head, ...rows].map((r) => r.imap.length));
  const line = (r: TableRow) => `${r.label.padEnd(w0)}  ${r.imap.padEnd(w1)}  ${r.pop3}`.trimEnd();
  const rule = '-'.repeat(Math.min(w0 + w1 + 4 + Math.max(...rows.map((r) => r.pop3.length)), 120));
  return [line(head), rule, ...rows.map(line)].join('\n');
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  if (s.length === 0) return 0;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function verdictOf(report: SpeedtestReport): string {
  const { imap, pop3 } = report;
  const poll = report.pollIntervalSeconds;
  if (imap && pop3) {
    const parts: string[] = [];
    const hi = imap.headerSync.ms.median;
    const hp = pop3.headerSync.ms.median;
    const close = Math.abs(hi - hp) / Math.max(hi, hp, 1e-9) < 0.1;
    parts.push(
      close
        ? `Opening the mailbox the way a phone does (headers of ${imap.headerSync.messages} messages) took about the same time with both: ${ms(hi)} over IMAP, ${ms(hp)} over POP3.`
        : hi <= hp
        ? `Opening the mailbox the way a phone does (headers of ${imap.headerSync.messages} messages) took ${ms(hi)} over IMAP against ${ms(hp)} over POP3 — IMAP was ${ratio(hp, hi)} faster, because it asks for all headers in one command while POP3 needs one TOP per message.`
        : `Opening the mailbox the way a phone does (headers of ${imap.headerSync.messages} messages) took ${ms(hi)} over IMAP against ${ms(hp)} over POP3 — POP3 was ${ratio(hi, hp)} faster on this server.`,
    );
    const di = imap.download.megabytesPerSecond.median;
    const dp = pop3.download.megabytesPerSecond.median;
    parts.push(
      `Downloading every message ran at ${di.toFixed(1)} MB/s with IMAP and ${dp.toFixed(1)} MB/s with POP3${Math.abs(di - dp) / Math.max(di, dp, 1e-9) < 0.15 ? ', about the same: bulk transfer is limited by the server and the network, not the protocol' : ''}.`,
    );
    parts.push(
      imap.push.ms
        ? `New mail reached an IMAP client ${ms(imap.push.ms.median)} after it arrived (IDLE push); a POP3 client polling every ${poll / 60 >= 1 ? `${poll / 60} min` : `${poll} s`} finds it after ${ms((poll * 1000) / 2)} on average.`
        : imap.push.supported
          ? `IMAP can push new mail at once (IDLE); a POP3 client polling every ${poll / 60 >= 1 ? `${poll / 60} min` : `${poll} s`} finds it after ${ms((poll * 1000) / 2)} on average.`
          : 'This server offers no IMAP push (IDLE), so both protocols find new mail only when they poll.',
    );
    parts.push('Only IMAP keeps read, flagged and deleted state the same on every device; with POP3 each device has its own copy and its own idea of what was read.');
    return parts.join(' ');
  }
  const only = imap ?? pop3;
  if (!only) return '';
  return `Only ${only.protocol.toUpperCase()} was tested: it opened the mailbox (${only.headerSync.messages} messages) in ${ms(only.headerSync.ms.median)} and downloaded everything at ${only.download.megabytesPerSecond.median.toFixed(1)} MB/s. Test both protocols (--imap and --pop3) to compare them.`;
}
