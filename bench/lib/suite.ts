/**
 * What a benchmark suite gets and gives back. Each suite measures one thing
 * on every server with the same client code and returns one table row per
 * measurement; runs alternate between the servers (and the order flips each
 * round), so load from anything else on the machine falls on both alike.
 */
import type { BenchServer, ServerName } from './servers.js';
import { type Better, type Summary, summarise } from './stats.js';

export interface BenchContext {
  servers: BenchServer[];
  /** Messages in the benchmark mailbox (`user`). */
  messages: number;
  /** Total octets of that mailbox as delivered. */
  mailboxBytes: number;
  /** Fewer runs: a smoke test of the harness, not a measurement. */
  quick: boolean;
  progress(text: string): void;
  /** idlescale: sessions per mailbox size (--sessions). */
  sessions?: number;
  /** idlescale: mailbox sizes (--idle-mailboxes). */
  idleMailboxes?: number[];
}

export interface Row {
  id: string;
  title: string;
  unit: string;
  better: Better;
  results: Partial<Record<ServerName, Summary>>;
  /** Shown under the table; for what a reader could misread. */
  note?: string;
  /** Anything else worth keeping in the JSON (octets moved, per-server detail). */
  detail?: Record<string, unknown>;
  /** The benchmark client's own CPU while measuring each server: if near 100 % of a core, the client was the bottleneck. */
  clientCpu?: Partial<Record<ServerName, ClientCpu>>;
}

export interface ClientCpu {
  /** process.cpuUsage() (user + system, all threads of the client) over the kept runs. */
  cpuMs: number;
  wallMs: number;
  /** cpuMs / wallMs × 100: percent of one core. */
  percent: number;
}

/** Client CPU spent in `alternate`'s kept runs, by the Map it returned (picked up by row()). */
const cpuByValues = new WeakMap<Map<ServerName, number[]>, Map<ServerName, { cpuUs: number; wallMs: number }>>();

export function clientCpu(cpuMs: number, wallMs: number): ClientCpu {
  return { cpuMs, wallMs, percent: wallMs > 0 ? (cpuMs / wallMs) * 100 : 0 };
}

/** Measures the client's CPU around `work`. */
export async function withClientCpu<T>(work: () => Promise<T>): Promise<{ result: T; cpu: ClientCpu }> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const result = await work();
  const used = process.cpuUsage(c0);
  return { result, cpu: clientCpu((used.user + used.system) / 1000, performance.now() - t0) };
}

export interface RunPlan {
  warmup: number;
  runs: number;
}

/** Scales a plan down for --quick. */
export function plan(ctx: BenchContext, warmup: number, runs: number): RunPlan {
  return ctx.quick ? { warmup: Math.min(warmup, 1), runs: Math.min(runs, 2) } : { warmup, runs };
}

/**
 * Runs `measure` `warmup` times per server (discarded), then `runs` rounds
 * alternating servers; returns the kept values per server.
 */
export async function alternate(
  ctx: BenchContext,
  label: string,
  { warmup, runs }: RunPlan,
  measure: (server: BenchServer, run: number) => Promise<number>,
): Promise<Map<ServerName, number[]>> {
  const values = new Map<ServerName, number[]>(ctx.servers.map((s) => [s.name, []]));
  const cpu = new Map(ctx.servers.map((s) => [s.name, { cpuUs: 0, wallMs: 0 }]));
  cpuByValues.set(values, cpu);
  for (const server of ctx.servers) {
    for (let i = 0; i < warmup; i++) await measure(server, -1 - i);
  }
  for (let run = 0; run < runs; run++) {
    ctx.progress(`${label}: run ${run + 1}/${runs}`);
    const order = run % 2 ? [...ctx.servers].reverse() : ctx.servers;
    for (const server of order) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      const value = await measure(server, run);
      const used = process.cpuUsage(c0);
      const spent = cpu.get(server.name);
      if (spent) {
        spent.cpuUs += used.user + used.system;
        spent.wallMs += performance.now() - t0;
      }
      values.get(server.name)?.push(value);
    }
  }
  return values;
}

export function row(id: string, title: string, unit: string, better: Better, values: Map<ServerName, number[]>, extra: Partial<Row> = {}): Row {
  const results: Row['results'] = {};
  for (const [name, list] of values) results[name] = summarise(list, better);
  const spent = cpuByValues.get(values);
  const cpu = spent ? Object.fromEntries([...spent].map(([name, c]) => [name, clientCpu(c.cpuUs / 1000, c.wallMs)])) : undefined;
  return { id, title, unit, better, results, ...(cpu ? { clientCpu: cpu } : {}), ...extra };
}
