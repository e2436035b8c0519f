/**
 * Issue 11's storage rows, for both backends: Mailstead on SQLite (the
 * default) and on PostgreSQL, against Dovecot where it has the row.
 *
 * The suite starts its own servers: a Mailstead on SQLite and two Mailstead
 * nodes on one PostgreSQL database (test/helpers/postgres.ts: MAILSTEAD_TEST_PG
 * or a throwaway cluster), each with the event-loop probe
 * (bench/lib/loop-probe.mjs) loaded into the server process; Dovecot is the
 * run's. Rows:
 * - LMTP delivery, 10 KB messages, 1 and 8 senders (msg/s; each 250 durable);
 * - the server's own event-loop delay (p99, max) while one 50 MB message is
 *   delivered over LMTP (Dovecot has no row: a process per connection);
 * - push across two nodes: IDLE on node B, delivery through node A (p50, p99);
 * - SELECT of a 100,000-message mailbox (warm) and the server memory each
 *   selected session adds. Mailstead's mailbox is seeded through the store
 *   API (bench/lib/seed-mailbox.ts: batched appends, bodies from a small
 *   pool), Dovecot's by writing the Maildir files directly (its index is
 *   built by the first, untimed SELECT).
 */
import { spawn } from 'node:child_process';
import { chownSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { fixedSizeMessage, largeMailboxMessage } from '../lib/corpus.js';
import { BenchImapClient } from '../lib/imap-client.js';
import { deliverAll, LmtpClient } from '../lib/lmtp-client.js';
import { rssBytes } from '../lib/memory.js';
import { addUserAsync, type BenchServer, startMailsteadCluster, startMailsteadServer } from '../lib/servers.js';
import { percentile, summarise } from '../lib/stats.js';
import { type BenchContext, plan, type Row } from '../lib/suite.js';

type Target = 'sqlite' | 'pg' | 'dovecot';
const BACKEND: Record<Exclude<Target, 'dovecot'>, string> = { sqlite: 'SQLite', pg: 'PostgreSQL' };

const SMALL = 10 * 1024;
const LARGE = 50 * 1024 * 1024;
const BIG_USER = { user: 'big@example.com', password: 'big-secret-1' };
/** Messages in the large mailbox; MAILSTEAD_BENCH_BIG_MAILBOX overrides (a quicker look). */
const BIG_DEFAULT = 100_000;
const PUSH_TIMEOUT_MS = 10_000;

export async function storageSuite(ctx: BenchContext): Promise<Row[]> {
  const dovecot = ctx.servers.find((s) => s.name === 'dovecot');
  ctx.progress('storage: starting Mailstead on SQLite, PostgreSQL and two Mailstead nodes on it');
  const sqlite = await startMailsteadServer({ loopProbe: true });
  const cluster = await startMailsteadCluster(2, { loopProbe: true }).catch(async (err: unknown) => {
    await sqlite.stop();
    throw err;
  });
  const notes: string[] = [];
  if (typeof cluster === 'string') notes.push(`PostgreSQL not measured: ${cluster}`);
  const targets = new Map<Target, BenchServer>([['sqlite', sqlite]]);
  if (typeof cluster !== 'string') targets.set('pg', cluster.nodes[0]);
  if (dovecot) targets.set('dovecot', dovecot);
  const rows: Row[] = [];
  // A part that fails is reported in the notes; the other parts still give their rows.
  const part = async (name: string, measure: () => Promise<Row[]>) => {
    const t0 = performance.now();
    try {
      rows.push(...(await measure()));
    } catch (err) {
      notes.push(`${name} failed: ${(err as Error).message.split('\n')[0]}`);
      ctx.progress(`storage: ${name} failed: ${(err as Error).stack}`);
    }
    ctx.progress(`storage: ${name} took ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  };
  try {
    for (const senders of [1, 8]) await part(`LMTP ${senders}`, () => lmtpRows(ctx, targets, senders));
    await part('50 MB delivery', () => loopRows(ctx, targets));
    if (typeof cluster !== 'string') await part('push across nodes', () => pushRows(ctx, cluster.nodes[0], cluster.nodes[1]));
    await part('large mailbox', () => bigMailboxRows(ctx, targets));
  } finally {
    await sqlite.stop();
    if (typeof cluster !== 'string') await cluster.stop();
  }
  if (notes.length > 0) {
    if (rows[0]) rows[0].note = [rows[0].note, ...notes].filter(Boolean).join('; ');
    else throw new Error(notes.join('; '));
  }
  return rows;
}

/** `runs` rounds over the targets, the order rotating each round, after `warmup` discarded runs each. */
async function rotate(
  ctx: BenchContext,
  label: string,
  targets: Map<Target, BenchServer>,
  { warmup, runs }: { warmup: number; runs: number },
  measure: (t: Target, s: BenchServer, kept: boolean) => Promise<number>,
) {
  const values = new Map<Target, number[]>([...targets.keys()].map((t) => [t, []]));
  const order = [...targets.keys()];
  for (const t of order) for (let i = 0; i < warmup; i++) await measure(t, targets.get(t) as BenchServer, false);
  for (let run = 0; run < runs; run++) {
    ctx.progress(`${label}: run ${run + 1}/${runs}`);
    for (let k = 0; k < order.length; k++) {
      const t = order[(run + k) % order.length];
      values.get(t)?.push(await measure(t, targets.get(t) as BenchServer, true));
    }
  }
  return values;
}

/** One table row per Mailstead backend, Dovecot's values beside each. */
function backendRows(id: string, title: string, unit: string, better: 'higher' | 'lower', values: Map<Target, number[]>, extra: Partial<Row> = {}): Row[] {
  const out: Row[] = [];
  for (const backend of ['sqlite', 'pg'] as const) {
    const mine = values.get(backend);
    if (!mine) continue;
    const dv = values.get('dovecot');
    out.push({
      id: `${id}-${backend}`,
      title: `${title} [${BACKEND[backend]}]`,
      unit,
      better,
      results: { mailstead: summarise(mine, better), ...(dv ? { dovecot: summarise(dv, better) } : {}) },
      ...extra,
    });
  }
  return out;
}

async function lmtpRows(ctx: BenchContext, targets: Map<Target, BenchServer>, senders: number): Promise<Row[]> {
  const perRun = senders === 1 ? 60 : 240;
  let n = 0;
  const values = await rotate(ctx, `storage: LMTP ${senders} sender(s)`, targets, plan(ctx, 1, 4), async (_t, s) => {
    const messages = Array.from({ length: perRun }, () => fixedSizeMessage(2_000_000 + n++, SMALL, s.user2));
    const ms = await deliverAll(s.lmtp, s.user2, messages, senders);
    return perRun / (ms / 1000);
  });
  return backendRows(`storage-lmtp-${senders}`, `LMTP delivery, 10 KB messages, ${senders} sender${senders > 1 ? 's' : ''}`, 'msg/s', 'higher', values, {
    detail: { messagesPerRun: perRun, messageBytes: SMALL, senders },
  });
}

interface LoopReport {
  count: number;
  p50: number;
  p99: number;
  max: number;
  mean: number;
}

/** One request to the server's loop probe (bench/lib/loop-probe.mjs). */
function probe(path: string, request: 'reset' | 'report'): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (t: string) => {
      text += t;
      if (text.includes('\n')) {
        socket.end();
        resolve(text.trim());
      }
    });
    socket.on('error', reject);
    socket.on('connect', () => socket.write(`${request}\n`));
  });
}

async function loopRows(ctx: BenchContext, targets: Map<Target, BenchServer>): Promise<Row[]> {
  const large = fixedSizeMessage(3_000_000, LARGE, 'bob@example.com');
  const p99 = new Map<Target, number[]>();
  const max = new Map<Target, number[]>();
  const seconds: Record<string, number[]> = {};
  const rssGrowthMiB: Record<string, number[]> = {};
  const mailstead = new Map([...targets].filter(([t]) => t !== 'dovecot'));
  const { runs } = plan(ctx, 0, 3);
  for (let run = 0; run < runs; run++) {
    ctx.progress(`storage: 50 MB delivery: run ${run + 1}/${runs}`);
    for (const [t, s] of mailstead) {
      const path = s.loopProbe as string;
      const client = await LmtpClient.open(s.lmtp);
      const rss0 = s.pids().reduce((sum, pid) => sum + rssBytes(pid), 0);
      let peak = rss0;
      const sampler = setInterval(() => (peak = Math.max(peak, s.pids().reduce((sum, pid) => sum + rssBytes(pid), 0))), 100);
      await probe(path, 'reset');
      const t0 = performance.now();
      await client.send('bench@example.org', s.user2, large);
      const elapsed = (performance.now() - t0) / 1000;
      const report = JSON.parse(await probe(path, 'report')) as LoopReport;
      clearInterval(sampler);
      await client.close();
      (p99.get(t) ?? p99.set(t, []).get(t))?.push(report.p99);
      (max.get(t) ?? max.set(t, []).get(t))?.push(report.max);
      (seconds[t] ??= []).push(Math.round(elapsed * 100) / 100);
      (rssGrowthMiB[t] ??= []).push(Math.round(((peak - rss0) / 2 ** 20) * 10) / 10);
    }
  }
  const note = 'measured inside the server (perf_hooks.monitorEventLoopDelay, 1 ms resolution, bench/lib/loop-probe.mjs) from the LMTP connection to the 250; Dovecot has no row (a process per connection, no shared loop)';
  return [
    ...backendRows('storage-loop-p99', 'Event-loop delay p99 while a 50 MB message is delivered', 'ms', 'lower', p99, { note, detail: { deliverySeconds: seconds, peakRssGrowthMiB: rssGrowthMiB } }),
    ...backendRows('storage-loop-max', 'Event-loop delay max while a 50 MB message is delivered', 'ms', 'lower', max),
  ];
}

async function pushRows(ctx: BenchContext, a: BenchServer, b: BenchServer): Promise<Row[]> {
  const samples = ctx.quick ? 10 : 100;
  const idler = await BenchImapClient.login({ port: b.imaps, certPem: b.certPem, user: b.user2, password: b.password2 });
  const lmtp = await LmtpClient.open(a.lmtp);
  const latencies: number[] = [];
  const afterAccept: number[] = [];
  try {
    await idler.ok('SELECT INBOX');
    let pushed: (t: number) => void = () => {};
    const done = await idler.idle((line) => {
      if (/^\* \d+ EXISTS/.test(line)) pushed(performance.now());
    });
    for (let i = -2; i < samples; i++) {
      if (i % 20 === 0) ctx.progress(`storage: push across nodes: ${Math.max(0, i)}/${samples}`);
      const seen = new Promise<number>((resolve) => (pushed = resolve));
      const t0 = performance.now();
      await lmtp.send('bench@example.org', a.user2, fixedSizeMessage(4_000_000 + i, 2048, a.user2));
      const accepted = performance.now();
      let timer: NodeJS.Timeout | undefined;
      const at = await Promise.race([seen, new Promise<number>((resolve) => (timer = setTimeout(() => resolve(Number.NaN), PUSH_TIMEOUT_MS)))]);
      clearTimeout(timer);
      if (Number.isNaN(at)) throw new Error(`node B saw no EXISTS within ${PUSH_TIMEOUT_MS} ms of a delivery through node A`);
      if (i < 0) continue; // warm-up
      latencies.push(at - t0);
      afterAccept.push(Math.max(0, at - accepted));
    }
    await done();
  } finally {
    await idler.logout().catch(() => idler.close());
    await lmtp.close();
  }
  const p99 = percentile(latencies, 99);
  const detail = { samples, p50: percentile(latencies, 50), p99, max: Math.max(...latencies), afterLmtp250: { p50: percentile(afterAccept, 50), p99: percentile(afterAccept, 99) } };
  const note =
    'from MAIL FROM on node A to `* n EXISTS` in an IDLE session on node B (the LMTP transaction included), 2 KB messages one after another; PostgreSQL LISTEN/NOTIFY between the nodes. Dovecot has no cluster row';
  return [
    { id: 'storage-push-2node-p50', title: 'Push across two nodes on one PostgreSQL, p50 (p95)', unit: 'ms', better: 'lower', results: { mailstead: summarise(latencies, 'lower') }, note, detail },
    { id: 'storage-push-2node-p99', title: 'Push across two nodes on one PostgreSQL, p99', unit: 'ms', better: 'lower', results: { mailstead: summarise([p99], 'lower') } },
  ];
}

function run(file: string, args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'], cwd: join(import.meta.dirname, '../..') });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (t: string) => (out += t));
    child.stderr.setEncoding('utf8').on('data', (t: string) => (err += t));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${args.slice(0, 2).join(' ')} failed (${code}): ${err.slice(-500)}`))));
    child.stdin.end(input ?? '');
  });
}


/** Seeds `count` messages into the large mailbox's INBOX; returns seconds taken. */
async function seed(t: Target, s: BenchServer, count: number): Promise<number> {
  const t0 = performance.now();
  if (t === 'dovecot') {
    // Dovecot re-reads its passwd-file; the Maildir is written directly (cur/, seen), owned by the mail user.
    const dir = s.dataDir as string;
    const passwd = join(dir, 'passwd');
    const home = join(dir, 'mail', BIG_USER.user);
    const line = readFileSync(passwd, 'utf8').split('\n')[0].split(':');
    writeFileSync(passwd, `${readFileSync(passwd, 'utf8')}${BIG_USER.user}:{PLAIN}${BIG_USER.password}:${line[2]}:${line[3]}::${home}::\n`);
    const uid = Number(line[2]);
    const gid = Number(line[3]);
    for (const sub of ['', 'cur', 'new', 'tmp']) {
      mkdirSync(join(home, sub), { recursive: true });
      chownSync(join(home, sub), uid, gid);
    }
    for (let i = 0; i < count; i++) {
      const file = join(home, 'cur', `${1764150000 + i}.M${i}P1.bench:2,S`);
      writeFileSync(file, largeMailboxMessage(i, BIG_USER.user));
      chownSync(file, uid, gid);
    }
    // Its auth process notices the new passwd-file within a second.
    await new Promise((resolve) => setTimeout(resolve, 1100));
  } else {
    await addUserAsync(s.storeArgs as string[], BIG_USER);
    await run(process.execPath, ['--import', 'tsx', join(import.meta.dirname, '../lib/seed-mailbox.ts'), ...(s.storeArgs as string[]), BIG_USER.user, String(count)]);
  }
  return (performance.now() - t0) / 1000;
}

async function bigMailboxRows(ctx: BenchContext, targets: Map<Target, BenchServer>): Promise<Row[]> {
  const count = ctx.quick ? 2000 : Number(process.env.MAILSTEAD_BENCH_BIG_MAILBOX ?? BIG_DEFAULT);
  const sessions = 4;
  const seedSeconds: Record<string, number> = {};
  for (const [t, s] of targets) {
    ctx.progress(`storage: seeding ${count} messages into ${t}`);
    seedSeconds[t] = Math.round((await seed(t, s, count)) * 10) / 10;
  }
  const selectMs = new Map<Target, number[]>();
  const perSessionMiB = new Map<Target, number[]>();
  const mib = (s: BenchServer) => s.pids().reduce((sum, pid) => sum + rssBytes(pid), 0) / 2 ** 20;
  // The first SELECT (Dovecot builds its index, Mailstead warms its caches) is not timed.
  const rssAfter = new Map<Target, number[]>();
  await rotate(ctx, `storage: SELECT of ${count} messages`, targets, plan(ctx, 1, 3), async (t, s, kept) => {
    const clients = await Promise.all(Array.from({ length: sessions }, () => BenchImapClient.login({ port: s.imaps, certPem: s.certPem, user: BIG_USER.user, password: BIG_USER.password })));
    const times: number[] = [];
    try {
      const before = mib(s);
      for (const c of clients) {
        const t0 = performance.now();
        const r = await c.ok('SELECT INBOX', true);
        times.push(performance.now() - t0);
        const exists = r.lines.find((l) => / EXISTS$/.test(l));
        if (exists !== `* ${count} EXISTS`) throw new Error(`${t}: SELECT answered ${exists}, expected ${count} EXISTS`);
      }
      const after = mib(s);
      if (kept) {
        (perSessionMiB.get(t) ?? perSessionMiB.set(t, []).get(t))?.push(Math.max(0, (after - before) / sessions));
        (rssAfter.get(t) ?? rssAfter.set(t, []).get(t))?.push(after);
      }
    } finally {
      await Promise.all(clients.map((c) => c.logout().catch(() => c.close())));
    }
    if (kept) (selectMs.get(t) ?? selectMs.set(t, []).get(t))?.push(...times);
    return times[times.length >> 1];
  });
  const note = `${count} messages of ~600 octets in INBOX, seeded through the store API with bodies from a pool of 4 (Mailstead: bench/lib/seed-mailbox.ts) and as Maildir files (Dovecot); the first (cold) round is not kept; ${sessions} sessions logged in, then each SELECTs in turn; memory: the server's RSS growth over those SELECTs / ${sessions}, and its RSS with the ${sessions} sessions holding the mailbox (Dovecot: all its processes). A server's heap does not shrink between rounds, so the growth understates what a session holds; the RSS is the figure to read`;
  return [
    ...backendRows('storage-select-100k', `SELECT of a ${count.toLocaleString('en')}-message mailbox (warm)`, 'ms', 'lower', selectMs, { note, detail: { seedSeconds, sessions } }),
    ...backendRows('storage-select-100k-memory', `RSS growth per session selecting the ${count.toLocaleString('en')}-message mailbox`, 'MiB', 'lower', perSessionMiB),
    ...backendRows('storage-select-100k-rss', `Server RSS, ${sessions} sessions holding the ${count.toLocaleString('en')}-message mailbox selected`, 'MiB', 'lower', rssAfter),
  ];
}
