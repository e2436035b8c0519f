/**
 * `npm run bench`: Mailstead measured against Dovecot (Debian's, when
 * installed) in the same run, on the same mailbox, with the same clients.
 * Prints a table of medians, slow tails and Mailstead/Dovecot ratios; with
 * `--json FILE` also writes every run's values. See docs/benchmarks.md.
 *
 *   --json FILE       write the report as JSON
 *   --report FILE     write the table and the ratio chart into FILE (docs/performance.md) between its markers
 *   --from-json FILE  no run: take the report from a --json file (with --report)
 *   --quick           fewer runs and 200 messages: checks the harness, measures nothing
 *   --messages N      messages in the benchmark mailbox (default 10000)
 *   --only LIST       comma-separated suites: connect,imap,pop3,delivery,idle,resync,mixed,imaptest,speedtest,storage,idlescale,memory
 *   --no-dovecot      measure Mailstead alone
 *   --sessions N      idlescale: sessions per mailbox (default 2000; above 2000 Mailstead only)
 *   --idle-mailboxes LIST  idlescale: mailbox sizes (default 0,10000,100000)
 *
 * IMAPTEST=/path/to/imaptest runs the imaptest stress rows (skipped otherwise).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { mailboxCorpus } from './lib/corpus.js';
import { rssBytes } from './lib/memory.js';
import { deliverAll } from './lib/lmtp-client.js';
import { type BenchReport, formatReport, ratioOf } from './lib/report.js';
import { writeMarkdownReport } from './lib/report-file.js';
import { type BenchServer, startDovecotServer, startMailsteadServer } from './lib/servers.js';
import type { BenchContext, Row } from './lib/suite.js';
import { connectSuite } from './suites/connect.js';
import { deliverySuite } from './suites/delivery.js';
import { idleSuite } from './suites/idle.js';
import { imapSuite } from './suites/imap.js';
import { imaptestSuite } from './suites/imaptest.js';
import { memorySuite } from './suites/memory.js';
import { mixedSuite } from './suites/mixed.js';
import { pop3Suite } from './suites/pop3.js';
import { speedtestSuite } from './suites/speedtest.js';
import { storageSuite } from './suites/storage.js';
import { resyncSuite } from './resync.js';
import { idleScaleSuite } from './suites/idle-scale.js';

const SUITES: Record<string, (ctx: BenchContext) => Promise<Row[]>> = {
  connect: connectSuite,
  imap: imapSuite,
  pop3: pop3Suite,
  delivery: deliverySuite,
  idle: idleSuite,
  resync: resyncSuite,
  mixed: mixedSuite,
  imaptest: imaptestSuite,
  speedtest: speedtestSuite,
  // Issue 11: both backends (starts its own Mailstead on SQLite and two nodes on PostgreSQL).
  storage: storageSuite,
  idlescale: idleScaleSuite,
  // Last: it reads what the runs left behind.
  memory: memorySuite,
};

const { values: flags } = parseArgs({
  options: {
    json: { type: 'string' },
    report: { type: 'string' },
    'from-json': { type: 'string' },
    quick: { type: 'boolean', default: false },
    messages: { type: 'string' },
    only: { type: 'string' },
    'no-dovecot': { type: 'boolean', default: false },
    sessions: { type: 'string' },
    'idle-mailboxes': { type: 'string' },
  },
});

const mib = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;
const progress = (text: string) => process.stderr.write(`[bench] ${text}\n`);

async function main(): Promise<void> {
  if (flags['from-json']) {
    if (!flags.report) throw new Error('--from-json needs --report FILE');
    const report = JSON.parse(readFileSync(flags['from-json'], 'utf8')) as BenchReport;
    progress(`wrote ${(await writeMarkdownReport(report, flags.report)).join(', ')}`);
    return;
  }
  const started = new Date();
  const t0 = performance.now();
  const loadStart = loadavg();
  const messages = Number(flags.messages ?? (flags.quick ? 200 : 10_000));
  if (!Number.isInteger(messages) || messages < 1) throw new Error('--messages must be a positive integer');
  const only = flags.only ? flags.only.split(',').map((s) => s.trim()) : Object.keys(SUITES);
  for (const name of only) if (!SUITES[name]) throw new Error(`unknown suite ${name}; known: ${Object.keys(SUITES).join(', ')}`);

  progress('starting Mailstead and Dovecot');
  const [mailstead, dovecot] = await Promise.all([
    // idlescale holds thousands of sessions from a few loopback addresses: the connection limits must not close them.
    startMailsteadServer(only.includes('idlescale') ? { config: { limits: { maxConnections: 200_000, maxConnectionsPerIp: 200_000 } } } : {}),
    flags['no-dovecot'] ? Promise.resolve('not requested (--no-dovecot)') : startDovecotServer(),
  ]);
  const servers: BenchServer[] = typeof dovecot === 'string' ? [mailstead] : [mailstead, dovecot];
  const dovecotMissing = typeof dovecot === 'string' ? dovecot : null;
  if (dovecotMissing) progress(`Dovecot not measured: ${dovecotMissing}`);

  try {
    progress(`delivering ${messages} messages to each server`);
    const corpus = mailboxCorpus(messages, 'alice@example.com');
    const octets = corpus.reduce((sum, m) => sum + m.length, 0);
    const memoryTrail: BenchReport['memoryTrail'] = [];
    const sampleMemory = (after: string) =>
      memoryTrail.push({ after, ...Object.fromEntries(servers.map((s) => [s.name, mib(s.pids().reduce((sum, pid) => sum + rssBytes(pid), 0))])) });
    sampleMemory('start');
    const delivered = performance.now();
    await Promise.all(servers.map((s) => deliverAll(s.lmtp, s.user, corpus, 8)));
    progress(`delivered in ${((performance.now() - delivered) / 1000).toFixed(0)} s`);
    sampleMemory('mailbox delivered');

    const ctx: BenchContext = { servers, messages, mailboxBytes: octets, quick: flags.quick, progress,
      sessions: flags.sessions ? Number(flags.sessions) : undefined,
      idleMailboxes: flags['idle-mailboxes']?.split(',').map(Number) };
    const rows: Row[] = [];
    // A suite that fails costs its own rows only: a long run keeps what the other suites measured.
    const failedSuites: string[] = [];
    for (const name of only) {
      progress(`suite ${name}`);
      try {
        rows.push(...(await SUITES[name](ctx)));
      } catch (err) {
        progress(`suite ${name} failed: ${(err as Error).stack ?? err}`);
        failedSuites.push(`suite ${name} failed, its rows are missing: ${(err as Error).message ?? err}`);
      }
      if (name !== 'memory') sampleMemory(name);
    }
    const report: BenchReport = {
      startedAt: started.toISOString(),
      durationSeconds: (performance.now() - t0) / 1000,
      machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', node: process.versions.node, loadAverageStart: loadStart, loadAverageEnd: loadavg() },
      servers: Object.fromEntries(servers.map((s) => [s.name, s.version])),
      dovecotMissing,
      mailbox: { messages, octets },
      rows: rows.map((r) => ({ ...r, ratio: ratioOf(r) })),
      memoryTrail,
      notes: [
        ...servers.map((s) => `${s.name} RSS (MiB) after each phase: ${memoryTrail.map((m) => `${m.after} ${m[s.name]?.toFixed(0)}`).join(', ')}`),
        'Both servers use TLS (imaps/pop3s) with a self-signed P-256 certificate; clients verify it.',
        'Mailstead runs with its defaults (log level info, scrypt N=2^15 passwords); Dovecot as test/helpers/dovecot.ts configures it ({PLAIN} passwords unless a row says otherwise).',
        ...(only.includes('imap') ? ['The imap suite restarts both servers (cold header sync): memory after it counts from that restart.'] : []),
        ...(flags.quick ? ['--quick: too few runs to mean anything; for checking the harness only.'] : []),
        ...failedSuites,
      ],
    };
    console.log(formatReport(report));
    if (flags.json) {
      writeFileSync(flags.json, `${JSON.stringify(report, null, 2)}\n`);
      progress(`wrote ${flags.json}`);
    }
    if (flags.report) progress(`wrote ${(await writeMarkdownReport(report, flags.report)).join(', ')}`);
    if (failedSuites.length > 0) process.exitCode = 1;
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
  }
}

main().catch((err) => {
  console.error(`bench failed: ${(err as Error).stack ?? err}`);
  process.exitCode = 1;
});
