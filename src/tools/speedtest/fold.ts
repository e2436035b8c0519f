/**
 * Folds the runs of one protocol into the report's figures: medians with min
 * and max, each phase's CPU share, round trips and projections.
 */
import type { PushRun } from './imap-push.js';
import { projectionsOf } from './projection.js';
import type { DownloadRun, PhaseRun, RunResult } from './run-types.js';
import { figure, median, round } from './stats.js';
import type { DownloadFigures, Figure, Link, PhaseFigures, ProtocolName, ProtocolReport } from './types.js';

/**
 * A phase is limited by this machine when the client's CPU was busy for at
 * least this share of its wall time: the server and the network were then
 * waiting for the client, not the other way round.
 */
export const CLIENT_BOUND_SHARE = 0.8;

export interface FoldOptions {
  url: string;
  links: readonly Link[];
  pollIntervalSeconds: number;
}

/**
 * The run whose wall time is the median (the faster of the two middle runs
 * when there is an even number): its round trips, octets and CPU share speak for the phase.
 */
export function medianRunIndex(values: number[]): number {
  const order = values.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  return order[(order.length - 1) >> 1][1];
}

export function isClientBound(run: { ms: number; cpuMs: number }): boolean {
  return run.ms > 0 && run.cpuMs >= CLIENT_BOUND_SHARE * run.ms;
}

export function phaseFigures(phases: PhaseRun[], measuredRttMs: number, links: readonly Link[]): PhaseFigures {
  const ms = figure(phases.map((p) => p.ms));
  const mid = phases[medianRunIndex(phases.map((p) => p.ms))];
  return {
    ms,
    cpuMs: figure(phases.map((p) => p.cpuMs)),
    clientBound: isClientBound(mid),
    roundTrips: mid.roundTrips,
    wireBytes: mid.wireBytes,
    projections: projectionsOf(ms, mid.roundTrips, measuredRttMs, links),
  };
}

export function downloadFigures(downloads: DownloadRun[], measuredRttMs: number, links: readonly Link[]): DownloadFigures {
  const seconds = (d: DownloadRun) => Math.max(d.ms / 1000, 1e-6);
  return {
    ...phaseFigures(downloads, measuredRttMs, links),
    messages: downloads[0].messages,
    bytes: downloads[0].bytes,
    seconds: figure(downloads.map((d) => d.ms / 1000)),
    messagesPerSecond: figure(downloads.map((d) => d.messages / seconds(d))),
    megabytesPerSecond: figure(downloads.map((d) => d.bytes / 1e6 / seconds(d))),
    timeToFirstMessageMs: figure(downloads.map((d) => d.firstMessageMs)),
  };
}

/** A row measured only where the server offers it: folded when every run has it, else null. */
function optional<T extends PhaseRun, R>(runs: RunResult[], pick: (r: RunResult) => T | null, fold: (phases: T[]) => R): R | null {
  const phases = runs.map(pick);
  return phases.every((p): p is T => p !== null) ? fold(phases) : null;
}

export function foldRuns(protocol: ProtocolName, runs: RunResult[], pushRuns: PushRun[], opts: FoldOptions): ProtocolReport {
  const last = runs[runs.length - 1];
  const { links } = opts;
  const f = (pick: (r: RunResult) => number): Figure => figure(runs.map(pick));
  const latencySamplesMs = runs.flatMap((r) => r.latencyMs.map(round));
  const rtt = round(median(latencySamplesMs));
  const idle = protocol === 'imap' && last.capabilities.some((c) => c.toUpperCase() === 'IDLE');
  const connectMs = f((r) => r.tcpMs + r.tlsMs + r.greetingMs);
  const connectRoundTrips = runs[medianRunIndex(connectMs.runs)].connectRoundTrips;
  const poll = opts.pollIntervalSeconds;
  return {
    protocol,
    url: opts.url,
    capabilities: last.capabilities,
    connection: {
      dnsMs: f((r) => r.dnsMs),
      tcpMs: f((r) => r.tcpMs),
      tlsMs: f((r) => r.tlsMs),
      greetingMs: f((r) => r.greetingMs),
      authMs: f((r) => r.authMs),
      tlsVersion: last.tlsVersion,
      tlsCipher: last.tlsCipher,
      security: last.security,
      compression: last.compression,
      address: last.address,
      connect: { ms: connectMs, roundTrips: connectRoundTrips, projections: projectionsOf(connectMs, connectRoundTrips, rtt, links) },
    },
    compressionOffered: last.compressionOffered,
    pipeliningOffered: last.pipeliningOffered,
    login: phaseFigures(runs.map((r) => r.login), rtt, links),
    listing: { ...phaseFigures(runs.map((r) => r.listing), rtt, links), messages: runs[0].listing.messages, bytes: runs[0].listing.bytes },
    headerSync: { ...phaseFigures(runs.map((r) => r.headerSync), rtt, links), messages: runs[0].headerSync.messages },
    headerSyncPipelined: optional(runs, (r) => r.headerSyncPipelined, (ps) => ({ ...phaseFigures(ps, rtt, links), messages: ps[0].messages })),
    download: downloadFigures(runs.map((r) => r.download), rtt, links),
    downloadPipelined: optional(runs, (r) => r.downloadPipelined, (ds) => downloadFigures(ds, rtt, links)),
    downloadCompressed: optional(runs, (r) => r.downloadCompressed, (ds) => downloadFigures(ds, rtt, links)),
    resync: { ...phaseFigures(runs.map((r) => r.resync), rtt, links), method: last.resync.method, newMessages: last.resync.newMessages },
    latencySamplesMs,
    measuredRttMs: rtt,
    push:
      protocol === 'pop3'
        ? {
            supported: false,
            ms: null,
            expectedDelayMs: (poll * 1000) / 2,
            note: `POP3 has no push: a client polling every ${poll} s sees new mail after ${poll / 2} s on average, ${poll} s at worst.`,
          }
        : pushRuns.length > 0
          ? {
              supported: idle,
              ms: figure(pushRuns.map((p) => p.pushMs)),
              expectedDelayMs: null,
              note: idle ? 'IDLE: APPEND to a temporary folder until the watching session got EXISTS.' : 'The server does not offer IDLE; measured with NOOP polling.',
            }
          : {
              supported: idle,
              ms: null,
              expectedDelayMs: null,
              note: idle ? 'IDLE offered; not measured (needs --allow-write).' : 'The server does not offer IDLE: no push.',
            },
    coherence:
      protocol === 'pop3'
        ? { possible: false, ms: null, note: 'Impossible with POP3: it has no flags, so a message read on one device stays unread on every other.' }
        : pushRuns.length > 0
          ? { possible: true, ms: figure(pushRuns.map((p) => p.coherenceMs)), note: '\\Seen set by one IMAP session until a second session was told.' }
          : { possible: true, ms: null, note: 'Not measured (needs --allow-write).' },
  };
}
