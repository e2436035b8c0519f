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
  for (const server of ctx.servers) {
    for (let i = 0; i < warmup; i++) await measure(server, -1 - i);
  }
  for (let run = 0; run < runs; run++) {
    ctx.progress(`${label}: run ${run + 1}/${runs}`);
    const order = run % 2 ? [...ctx.servers].reverse() : ctx.servers;
    for (const server of order) values.get(server.name)?.push(await measure(server, run));
  }
  return values;
}

export function row(id: string, title: string, unit: string, better: Better, values: Map<ServerName, number[]>, extra: Partial<Row> = {}): Row {
  const results: Row['results'] = {};
  for (const [name, list] of values) results[name] = summarise(list, better);
  return { id, title, unit, better, results, ...extra };
}
