/**
 * Runs the speed test: `runs` rounds, IMAP then POP3 in each (interleaved so
 * a slow minute on the server hurts both alike), then folds the runs into
 * medians with min and max.
 */
import { runImap } from './imap-probe.js';
import { PushTester, type PushRun } from './imap-push.js';
import type { SessionOptions } from './imap-session.js';
import { runPop3 } from './pop3-probe.js';
import type { RunResult } from './run-types.js';
import { figure } from './stats.js';
import type { Target } from './target.js';
import type { ProtocolName, ProtocolReport, SpeedtestReport } from './types.js';
import { verdictOf } from './verdict.js';

export interface ProgressSink {
  update(protocol: ProtocolName, run: number, phase: string, done: number, total: number): void;
  stop(): void;
}

export interface SpeedtestOptions {
  imap: Target | null;
  pop3: Target | null;
  password: string;
  insecure: boolean;
  ca?: string[];
  servername?: string;
  runs: number;
  maxMessages: number | null;
  allowWrite: boolean;
  pollIntervalSeconds: number;
  demo: boolean;
  /** Demo only: delivers one new message before each resync. */
  addOneMessage?: () => Promise<boolean>;
  progress: ProgressSink;
  timeoutMs?: number;
}

export async function runSpeedtest(opts: SpeedtestOptions): Promise<SpeedtestReport> {
  const startedAt = new Date().toISOString();
  const sessionOf = (target: Target): SessionOptions => ({
    target,
    password: opts.password,
    insecure: opts.insecure,
    ca: opts.ca,
    servername: opts.servername,
    timeoutMs: opts.timeoutMs,
  });
  const imapRuns: RunResult[] = [];
  const pop3Runs: RunResult[] = [];
  const pushRuns: PushRun[] = [];
  const pusher = opts.allowWrite && opts.imap ? new PushTester(sessionOf(opts.imap)) : null;
  try {
    for (let run = 1; run <= opts.runs; run++) {
      if (opts.imap) {
        const progress = (phase: string, done: number, total: number) => opts.progress.update('imap', run, phase, done, total);
        imapRuns.push(await runImap(sessionOf(opts.imap), opts.maxMessages, { progress, addOneMessage: opts.addOneMessage }));
        if (pusher) {
          progress('push', 0, 1);
          pushRuns.push(await pusher.run());
          progress('push', 1, 1);
        }
      }
      if (opts.pop3) {
        const progress = (phase: string, done: number, total: number) => opts.progress.update('pop3', run, phase, done, total);
        pop3Runs.push(await runPop3(sessionOf(opts.pop3), opts.maxMessages, { progress, addOneMessage: opts.addOneMessage }));
      }
    }
  } finally {
    await pusher?.cleanup();
    opts.progress.stop();
  }
  const imap = opts.imap ? fold('imap', opts.imap, imapRuns, pushRuns, opts) : null;
  const pop3 = opts.pop3 ? fold('pop3', opts.pop3, pop3Runs, [], opts) : null;
  const warnings: string[] = [];
  if (opts.insecure) warnings.push('--insecure: certificates were NOT verified (a self-signed certificate was accepted).');
  for (const p of [imap, pop3]) {
    if (p && p.connection.security !== 'tls' && p.connection.security !== 'starttls') {
      warnings.push(`${p.protocol.toUpperCase()} ran without TLS: the password crossed the network in cleartext.`);
    }
  }
  const report: SpeedtestReport = {
    tool: 'mailstead speedtest',
    version: 1,
    startedAt,
    finishedAt: new Date().toISOString(),
    runs: opts.runs,
    demo: opts.demo,
    readOnly: !opts.allowWrite,
    insecure: opts.insecure,
    pollIntervalSeconds: opts.pollIntervalSeconds,
    imap,
    pop3,
    verdict: '',
    story: null,
    warnings,
  };
  report.verdict = verdictOf(report);
  return report;
}

function fold(protocol: ProtocolName, target: Target, runs: RunResult[], pushRuns: PushRun[], opts: SpeedtestOptions): ProtocolReport {
  const last = runs[runs.length - 1];
  const f = (pick: (r: RunResult) => number) => figure(runs.map(pick));
  const seconds = runs.map((r) => r.download.ms / 1000);
  const idle = protocol === 'imap' && last.capabilities.some((c) => c.toUpperCase() === 'IDLE');
  return {
    protocol,
    url: target.url,
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
    },
    listing: { ms: f((r) => r.listing.ms), messages: runs[0].listing.messages, bytes: runs[0].listing.bytes },
    headerSync: { ms: f((r) => r.headerSync.ms), messages: runs[0].headerSync.messages },
    download: {
      messages: runs[0].download.messages,
      bytes: runs[0].download.bytes,
      seconds: figure(seconds),
      messagesPerSecond: figure(runs.map((r) => r.download.messages / Math.max(r.download.ms / 1000, 1e-6))),
      megabytesPerSecond: figure(runs.map((r) => r.download.bytes / 1e6 / Math.max(r.download.ms / 1000, 1e-6))),
      timeToFirstMessageMs: f((r) => r.download.firstMessageMs),
    },
    resync: { method: last.resync.method, newMessages: last.resync.newMessages, ms: f((r) => r.resync.ms) },
    latencySamplesMs: runs.flatMap((r) => r.latencyMs.map((v) => Math.round(v * 1000) / 1000)),
    push:
      protocol === 'pop3'
        ? {
            supported: false,
            ms: null,
            expectedDelayMs: (opts.pollIntervalSeconds * 1000) / 2,
            note: `POP3 has no push: a client polling every ${opts.pollIntervalSeconds} s sees new mail after ${opts.pollIntervalSeconds / 2} s on average, ${opts.pollIntervalSeconds} s at worst.`,
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
