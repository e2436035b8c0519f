/**
 * The one-paragraph verdict, in plain words. A difference is named only when
 * it is real (docs/speedtest.md, "The verdict"):
 *
 * - the slower side's fastest run is slower than the faster side's slowest run, and
 * - the gap is larger than the noise: the slower median exceeds the faster one by
 *   more than the larger relative run-to-run spread ((max − min) / median) of the
 *   two sides, and by at least NOISE_FLOOR. Relative, because a loaded machine
 *   varies a long phase by more milliseconds than a short one;
 *
 * otherwise the two are level. A phase where either client was busy for most
 * of the time (fold.ts, CLIENT_BOUND_SHARE) draws no conclusion: the figure
 * measured this machine, not the protocol.
 */
import { projectedFigure } from './projection.js';
import { linkLabel, ms } from './table.js';
import type { Figure, Link, PhaseCost, ProtocolReport, SpeedtestReport } from './types.js';

/** Below a tenth of the faster median, a gap is within what a loaded machine varies by. */
export const NOISE_FLOOR = 0.1;

/** One side of a comparison: a protocol (or one of its rows) in one phase. */
export interface Side {
  label: string;
  ms: Figure;
  clientBound: boolean;
  cpuShare: number;
  roundTrips: number;
  measuredRttMs: number;
}

export type Outcome =
  | { kind: 'faster'; fast: Side; slow: Side; fastMs: number; slowMs: number; ratio: number }
  | { kind: 'level'; a: number; b: number }
  | { kind: 'bound'; by: Side[] };

/** The noise as a share of a median: the larger relative spread of the two sides, at least NOISE_FLOOR. */
export function noiseOf(a: Figure, b: Figure): number {
  const spread = (f: Figure) => (f.median > 0 ? (f.max - f.min) / f.median : 0);
  return Math.max(spread(a), spread(b), NOISE_FLOOR);
}

/** Whether `slow` is really slower than `fast`: no overlap of the runs, and a gap beyond the noise. */
export function clearlySlower(slow: Figure, fast: Figure): boolean {
  return slow.min > fast.max && slow.median > fast.median * (1 + noiseOf(slow, fast));
}

/** The measured figures side by side. */
export function compareMeasured(a: Side, b: Side): Outcome {
  const bound = [a, b].filter((s) => s.clientBound);
  if (bound.length > 0) return { kind: 'bound', by: bound };
  const [fast, slow] = a.ms.median <= b.ms.median ? [a, b] : [b, a];
  if (!clearlySlower(slow.ms, fast.ms)) return { kind: 'level', a: a.ms.median, b: b.ms.median };
  return { kind: 'faster', fast, slow, fastMs: fast.ms.median, slowMs: slow.ms.median, ratio: slow.ms.median / Math.max(fast.ms.median, 1e-9) };
}

/**
 * Both sides projected onto a link. The round trips do not depend on this
 * machine, so a client-bound side still has a floor: its round trips at the
 * link's RTT. A conclusion is drawn when it survives that: a client-bound
 * faster side only gets faster on a better machine; a client-bound slower side
 * is judged by its floor alone.
 */
export function compareOnLink(a: Side, b: Side, link: Link): Outcome {
  const pa = projectedFigure(a.ms, a.roundTrips, a.measuredRttMs, link.rttMs);
  const pb = projectedFigure(b.ms, b.roundTrips, b.measuredRttMs, link.rttMs);
  const [fast, slow, pf, ps] = pa.median <= pb.median ? [a, b, pa, pb] : [b, a, pb, pa];
  const floor = slow.roundTrips * link.rttMs;
  const slowJudged: Figure = slow.clientBound ? { median: floor, min: floor, max: floor, runs: [floor] } : ps;
  if (clearlySlower(slowJudged, pf)) return { kind: 'faster', fast, slow, fastMs: pf.median, slowMs: ps.median, ratio: ps.median / Math.max(pf.median, 1e-9) };
  const bound = [a, b].filter((s) => s.clientBound);
  if (bound.length > 0) return { kind: 'bound', by: bound };
  return { kind: 'level', a: pa.median, b: pb.median };
}

export function ratio(r: number): string {
  return r >= 10 ? `${r.toFixed(0)}×` : `${r.toFixed(1)}×`;
}

/** A phase of a protocol report as a comparison side. */
export function sideOf(label: string, p: ProtocolReport, phase: (PhaseCost & { ms: Figure }) | null): Side | null {
  if (!phase) return null;
  return {
    label,
    ms: phase.ms,
    clientBound: phase.clientBound,
    cpuShare: phase.ms.median > 0 ? phase.cpuMs.median / phase.ms.median : 0,
    roundTrips: phase.roundTrips,
    measuredRttMs: p.measuredRttMs,
  };
}

/** "opening the mailbox: IMAP 2.1× faster (12 ms against 25 ms)", "…: level (…)", "…: no conclusion, …". */
export function clause(what: string, o: Outcome): string {
  switch (o.kind) {
    case 'faster':
      return `${what}: ${o.fast.label} ${ratio(o.ratio)} faster (${ms(o.fastMs)} against ${ms(o.slowMs)})`;
    case 'level':
      return `${what}: level (${ms(o.a)} and ${ms(o.b)}, within the noise)`;
    case 'bound':
      return `${what}: no conclusion, limited by this machine (the ${o.by.map((s) => `${s.label} client was busy ${Math.round(s.cpuShare * 100)} %`).join(' and the ')} of the time)`;
  }
}

interface Compared {
  what: string;
  a: Side | null;
  b: Side | null;
}

function both(list: Compared[]): Array<{ what: string; a: Side; b: Side }> {
  return list.filter((c): c is { what: string; a: Side; b: Side } => c.a !== null && c.b !== null);
}

function pollText(poll: number): string {
  return poll / 60 >= 1 ? `${poll / 60} min` : `${poll} s`;
}

/** The verdict in plain words: one paragraph (printed under the table, and `verdict` in the JSON). */
export function verdictOf(report: SpeedtestReport): string {
  return verdictParts(report).join(' ');
}

/** The verdict's sentences in order: measured, each link, pipelined, compressed, push, coherence (the HTML report lists them). */
export function verdictParts(report: SpeedtestReport): string[] {
  const { imap, pop3 } = report;
  const poll = report.pollIntervalSeconds;
  if (!imap || !pop3) {
    const only = imap ?? pop3;
    if (!only) return [];
    const projected = only.headerSync.projections.map((p) => `${ms(p.ms)} on ${linkLabel({ name: p.link, rttMs: p.rttMs })}`).join(', ');
    return [`Only ${only.protocol.toUpperCase()} was tested: it opened the mailbox (${only.headerSync.messages} messages) in ${ms(only.headerSync.ms.median)} (projected: ${projected}) and downloaded everything at ${only.download.megabytesPerSecond.median.toFixed(1)} MB/s. Test both protocols (--imap and --pop3) to compare them.`];
  }
  const I = (phase: (PhaseCost & { ms: Figure }) | null, label = 'IMAP') => sideOf(label, imap, phase);
  const P = (phase: (PhaseCost & { ms: Figure }) | null, label = 'POP3') => sideOf(label, pop3, phase);
  const main = both([
    { what: 'logging in', a: I(imap.login), b: P(pop3.login) },
    { what: 'listing', a: I(imap.listing), b: P(pop3.listing) },
    { what: `opening the mailbox (headers of ${imap.headerSync.messages} messages)`, a: I(imap.headerSync), b: P(pop3.headerSync) },
    { what: 'downloading everything', a: I(imap.download), b: P(pop3.download) },
    { what: 'checking for new mail', a: I(imap.resync), b: P(pop3.resync) },
  ]);
  const parts: string[] = [];
  parts.push(`Measured here (command round trip ${ms(imap.measuredRttMs)} IMAP, ${ms(pop3.measuredRttMs)} POP3): ${main.map((c) => clause(c.what, compareMeasured(c.a, c.b))).join('; ')}.`);

  const onLinks = both([
    { what: 'opening the mailbox', a: I(imap.headerSync), b: P(pop3.headerSync) },
    { what: 'downloading everything', a: I(imap.download), b: P(pop3.download) },
    { what: 'checking for new mail', a: I(imap.resync), b: P(pop3.resync) },
  ]);
  const trips = `IMAP opens the mailbox in ${imap.headerSync.roundTrips} round trip${imap.headerSync.roundTrips === 1 ? '' : 's'}, POP3 in ${pop3.headerSync.roundTrips}`;
  report.links.forEach((link, i) => {
    const note = i === report.links.length - 1 ? ` (${trips}; the projections keep the bandwidth measured here.)` : '';
    parts.push(`Projected for ${linkLabel(link)} round trips: ${onLinks.map((c) => clause(c.what, compareOnLink(c.a, c.b, link))).join('; ')}.${note}`);
  });

  const pipelined = both([
    { what: 'opening the mailbox', a: I(imap.headerSync), b: P(pop3.headerSyncPipelined, 'pipelined POP3') },
    { what: 'downloading everything', a: I(imap.download), b: P(pop3.downloadPipelined, 'pipelined POP3') },
  ]);
  if (pipelined.length > 0) {
    const rt = pop3.headerSyncPipelined ? `, ${pop3.headerSyncPipelined.roundTrips} round trips instead of ${pop3.headerSync.roundTrips} for the headers` : '';
    const each = pipelined.map((c) => [clause(`${c.what} here`, compareMeasured(c.a, c.b)), ...report.links.map((l) => clause(`on ${linkLabel(l)}`, compareOnLink(c.a, c.b, l)))].join(', '));
    parts.push(`With PIPELINING (RFC 2449) POP3 sends its commands in batches${rt}; against IMAP: ${each.join('; ')}.`);
  }
  const compressed = I(imap.downloadCompressed, 'compressed');
  const plain = I(imap.download, 'uncompressed');
  if (compressed && plain && imap.downloadCompressed) {
    const mb = (b: number) => `${(b / 1e6).toFixed(1)} MB`;
    parts.push(
      `With COMPRESS=DEFLATE (RFC 4978) IMAP's download read ${mb(imap.downloadCompressed.wireBytes)} from the network instead of ${mb(imap.download.wireBytes)}; ${clause('its time', compareMeasured(compressed, plain))}.`,
    );
  }
  parts.push(
    imap.push.ms
      ? `New mail reached an IMAP client ${ms(imap.push.ms.median)} after it arrived (IDLE push); a POP3 client polling every ${pollText(poll)} finds it after ${ms((poll * 1000) / 2)} on average.`
      : imap.push.supported
        ? `IMAP can push new mail at once (IDLE); a POP3 client polling every ${pollText(poll)} finds it after ${ms((poll * 1000) / 2)} on average.`
        : 'This server offers no IMAP push (IDLE), so both protocols find new mail only when they poll.',
  );
  parts.push('Only IMAP keeps read, flagged and deleted state the same on every device; with POP3 each device has its own copy and its own idea of what was read.');
  return parts;
}
