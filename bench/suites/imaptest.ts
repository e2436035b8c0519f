/**
 * Dovecot's imaptest in stress mode against both servers: 10 clients for
 * 30 s, its default profile (clients log out and in again; issue 12's
 * target is ≥ 1.0× Dovecot's ops/s with 0 errors). imaptest is not part of
 * the repository (docs/imaptest.md says how to build it): the suite runs
 * when IMAPTEST=/path/to/imaptest is set and otherwise returns one row that
 * says it was skipped.
 *
 * It logs in with LOGIN on the plain IMAP port, so Mailstead starts with
 * `tls.allowCleartextAuthFromLoopback` when IMAPTEST is set
 * (bench/lib/servers.ts). Each server gets its own empty account
 * (`stressUser`); imaptest appends from an mbox made of the benchmark
 * corpus. Operations are the sum of imaptest's "Totals" line over the
 * seconds asked for; errors are its `Error:` lines. Its CPU (user + system,
 * from the shell's `times`) is the client CPU of the row.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { corpusMessages } from '../lib/corpus.js';
import type { BenchServer, ServerName } from '../lib/servers.js';
import { type BenchContext, type ClientCpu, plan, type Row, row } from '../lib/suite.js';

const CLIENTS = 10;

export interface ImaptestResult {
  ops: number;
  errors: number;
  /** Commands per state name (Logi, Sele, Fetc, ...), from the Totals line. */
  totals: Record<string, number>;
  /** Average milliseconds per command by state, from the last per-second block. */
  msPerCommand: Record<string, number>;
  /** imaptest's CPU (user + system), seconds. */
  cpuSeconds: number;
  errorSamples: string[];
}

/** Reads imaptest's output (followed by the shell's `times`) into figures. */
export function parseImaptest(output: string): Omit<ImaptestResult, 'ops'> {
  const lines = output.split('\n');
  const errorLines = lines.filter((l) => l.startsWith('Error:'));
  const totalsAt = lines.findIndex((l) => l.startsWith('Totals:'));
  if (totalsAt < 0) throw new Error(`imaptest printed no Totals: ${output.slice(-500)}`);
  const names = lines[totalsAt + 1].trim().split(/\s+/);
  const countsLine = lines.slice(totalsAt + 2).find((l) => /^\s*\d+(\s+\d+)*\s*$/.test(l));
  if (!countsLine) throw new Error(`imaptest Totals without counts: ${output.slice(-500)}`);
  const counts = countsLine.trim().split(/\s+/).map(Number);
  const totals = Object.fromEntries(names.map((n, i) => [n, counts[i] ?? 0]));
  const avgLine = [...lines].reverse().find((l) => l.includes('ms/cmd avg'));
  const avg = avgLine ? avgLine.replace('ms/cmd avg', '').trim().split(/\s+/).map(Number) : [];
  const msPerCommand = Object.fromEntries(names.map((n, i) => [n, avg[i] ?? Number.NaN]));
  // `times` prints the shell's own line, then its children's: "0m0.041s 0m0.025s".
  const times = lines.filter((l) => /^\d+m[\d.]+s \d+m[\d.]+s$/.test(l.trim()));
  const child = times[times.length - 1] ?? '0m0s 0m0s';
  const seconds = (t: string) => {
    const m = /^(\d+)m([\d.]+)s$/.exec(t) as RegExpExecArray;
    return Number(m[1]) * 60 + Number(m[2]);
  };
  const [user, sys] = child.trim().split(' ');
  return { errors: errorLines.length, totals, msPerCommand, cpuSeconds: seconds(user) + seconds(sys), errorSamples: errorLines.slice(0, 10) };
}

/** An mbox of corpus messages for imaptest's APPENDs (LF line ends, "From " lines quoted). */
function writeMbox(file: string): void {
  const out: string[] = [];
  // Small and medium messages: imaptest appends them over and over.
  for (const m of corpusMessages(200, 'stress@example.com', 11)) {
    if (m.content.length > 100_000) continue;
    const text = m.content.toString('latin1').replace(/\r\n/g, '\n').replace(/^From /gm, '>From ');
    out.push(`From imaptest@localhost Thu Jan  1 00:00:00 2024\n${text}\n`);
  }
  writeFileSync(file, out.join(''), 'latin1');
}

function runImaptest(bin: string, s: BenchServer, mbox: string, seconds: number): Promise<{ output: string; wallMs: number }> {
  const args = [`host=127.0.0.1`, `port=${s.imap}`, `user=${s.stressUser.user}`, `pass=${s.stressUser.password}`, `mbox=${mbox}`, `clients=${CLIENTS}`, `secs=${seconds}`, 'seed=12'];
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    // bash's `times` reports the CPU of the finished child: imaptest's own, not ours.
    const child = spawn('bash', ['-c', '"$0" "$@"; rc=$?; times; exit $rc', bin, ...args], {
      cwd: dirname(bin),
      env: { ...process.env, LD_LIBRARY_PATH: [process.env.LD_LIBRARY_PATH, '/usr/lib/dovecot'].filter(Boolean).join(':') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (t: string) => (output += t));
    child.stderr.setEncoding('utf8').on('data', (t: string) => (output += t));
    // Far more than imaptest needs to stop after `secs`: only catches a hang.
    const timer = setTimeout(() => child.kill('SIGKILL'), (seconds + 120) * 1000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code !== 0) reject(new Error(`imaptest exited with ${code}: ${output.slice(-1000)}`));
      else resolve({ output, wallMs: performance.now() - t0 });
    });
  });
}

export async function imaptestSuite(ctx: BenchContext): Promise<Row[]> {
  const title = `imaptest stress, ${CLIENTS} clients, default profile`;
  const bin = process.env.IMAPTEST;
  if (!bin) {
    ctx.progress('imaptest: SKIPPED, set IMAPTEST=/path/to/imaptest to run it (docs/imaptest.md)');
    return [{ id: 'imaptest-stress', title: `${title} (skipped: IMAPTEST not set)`, unit: 'ops/s', better: 'higher', results: {}, note: 'skipped: IMAPTEST=/path/to/imaptest not set' }];
  }
  const seconds = ctx.quick ? 10 : 30;
  const dir = mkdtempSync(join(tmpdir(), 'bench-imaptest-'));
  const mbox = join(dir, 'corpus.mbox');
  writeMbox(mbox);
  const rates = new Map<ServerName, number[]>(ctx.servers.map((s) => [s.name, []]));
  const errors = new Map<ServerName, number[]>(ctx.servers.map((s) => [s.name, []]));
  const clientCpu: Partial<Record<ServerName, ClientCpu>> = {};
  const detail: Record<string, ImaptestResult> = {};
  try {
    // One run per server: imaptest leaves its mailbox changed, and each server has one stress account.
    const { runs } = plan(ctx, 0, 1);
    for (let run = 0; run < runs; run++) {
      for (const s of run % 2 ? [...ctx.servers].reverse() : ctx.servers) {
        ctx.progress(`imaptest: ${s.name} (${CLIENTS} clients, ${seconds} s)`);
        const { output, wallMs } = await runImaptest(bin, s, mbox, seconds);
        const parsed = parseImaptest(output);
        const ops = Object.values(parsed.totals).reduce((a, b) => a + b, 0);
        const result = { ...parsed, ops };
        detail[s.name] = result;
        rates.get(s.name)?.push(ops / seconds);
        errors.get(s.name)?.push(parsed.errors);
        clientCpu[s.name] = { cpuMs: parsed.cpuSeconds * 1000, wallMs, percent: ((parsed.cpuSeconds * 1000) / wallMs) * 100 };
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return [
    row('imaptest-stress', `${title}, ${seconds} s`, 'ops/s', 'higher', rates, {
      clientCpu,
      detail: { perServer: detail },
      note: "imaptest's Totals over the seconds asked; its CPU is the client CPU; LOGIN ms/cmd and error lines in the JSON detail",
    }),
    row('imaptest-errors', `${title}, errors`, 'errors', 'lower', errors, { clientCpu }),
  ];
}
