/**
 * Runs the speed test: `runs` rounds, IMAP then POP3 in each (interleaved so
 * a slow minute on the server hurts both alike), then folds the runs into
 * medians with min and max.
 */
import { runImap } from './imap-probe.js';
import { PushTester, type PushRun } from './imap-push.js';
import type { SessionOptions } from './imap-session.js';
import { runPop3 } from './pop3-probe.js';
import { foldRuns } from './fold.js';
import type { RunResult } from './run-types.js';
import type { Target } from './target.js';
import type { Link, ProtocolName, SpeedtestReport } from './types.js';
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
  /** The links every phase is projected onto (projection.ts: DEFAULT_LINKS plus --rtt). */
  links: Link[];
  demo: boolean;
  /** Demo only: delivers one new message before each resync. */
  addOneMessage?: () => Promise<boolean>;
  /** Demo only: removes the messages addOneMessage added, so every run of both protocols measures the same mailbox. */
  removeAddedMessages?: () => Promise<void>;
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
        await opts.removeAddedMessages?.();
        if (pusher) {
          progress('push', 0, 1);
          pushRuns.push(await pusher.run());
          progress('push', 1, 1);
        }
      }
      if (opts.pop3) {
        const progress = (phase: string, done: number, total: number) => opts.progress.update('pop3', run, phase, done, total);
        pop3Runs.push(await runPop3(sessionOf(opts.pop3), opts.maxMessages, { progress, addOneMessage: opts.addOneMessage }));
        await opts.removeAddedMessages?.();
      }
    }
  } finally {
    await pusher?.cleanup();
    opts.progress.stop();
  }
  const foldOpts = (target: Target) => ({ url: target.url, links: opts.links, pollIntervalSeconds: opts.pollIntervalSeconds });
  const imap = opts.imap ? foldRuns('imap', imapRuns, pushRuns, foldOpts(opts.imap)) : null;
  const pop3 = opts.pop3 ? foldRuns('pop3', pop3Runs, [], foldOpts(opts.pop3)) : null;
  const warnings: string[] = [];
  if (opts.insecure) warnings.push('--insecure: certificates were NOT verified (a self-signed certificate was accepted).');
  for (const p of [imap, pop3]) {
    if (p && p.connection.security !== 'tls' && p.connection.security !== 'starttls') {
      warnings.push(`${p.protocol.toUpperCase()} ran without TLS: the password crossed the network in cleartext.`);
    }
  }
  const report: SpeedtestReport = {
    tool: 'mailstead speedtest',
    version: 2,
    startedAt,
    finishedAt: new Date().toISOString(),
    runs: opts.runs,
    demo: opts.demo,
    readOnly: !opts.allowWrite,
    insecure: opts.insecure,
    pollIntervalSeconds: opts.pollIntervalSeconds,
    links: opts.links,
    imap,
    pop3,
    verdict: '',
    story: null,
    warnings,
  };
  report.verdict = verdictOf(report);
  return report;
}
