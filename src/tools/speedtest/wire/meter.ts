/**
 * Measures one phase of a run on a measuring client: wall time, this
 * process's CPU time (so a figure limited by the client shows as such), the
 * round trips the client waited for and the octets it read.
 */
import type { PhaseRun } from '../run-types.js';

/** What a measuring client counts as it goes. */
export interface Counting {
  /** Times the client waited for the server (a pipelined batch counts once). */
  roundTrips: number;
  /** Octets read from the socket (compressed octets when COMPRESS is on). */
  readonly octetsIn: number;
}

/** Starts the clocks and counters; the returned function reads the phase. */
export function startMeter(client: Counting): () => PhaseRun {
  const rt0 = client.roundTrips;
  const octets0 = client.octetsIn;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  return () => {
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    return { ms, cpuMs: (cpu.user + cpu.system) / 1000, roundTrips: client.roundTrips - rt0, wireBytes: client.octetsIn - octets0 };
  };
}

/** Subtracts an excluded stretch (a STARTTLS upgrade inside a login) from a phase. */
export function without(phase: PhaseRun, part: PhaseRun): PhaseRun {
  return {
    ms: Math.max(0, phase.ms - part.ms),
    cpuMs: Math.max(0, phase.cpuMs - part.cpuMs),
    roundTrips: Math.max(0, phase.roundTrips - part.roundTrips),
    wireBytes: Math.max(0, phase.wireBytes - part.wireBytes),
  };
}
