/**
 * What a phase measured here would take on another link. A phase's wall time
 * is its round trips (each costs one RTT) plus the transfer; the transfer part
 * keeps the measured bandwidth, the round trips take the link's RTT:
 *
 *   projected = max(0, ms − roundTrips × measuredRtt) + roundTrips × link.rttMs
 *
 * This is the question the speed test exists to answer: a protocol that needs
 * one round trip per message (POP3 TOP, RETR) loses on a phone's 80 ms link what
 * it does not lose on loopback.
 */
import { round } from './stats.js';
import type { Figure, Link, Projection } from './types.js';

/** The links every report projects onto: home Wi-Fi and a mobile link. */
export const DEFAULT_LINKS: readonly Link[] = [
  { name: 'Wi-Fi', rttMs: 20 },
  { name: 'mobile', rttMs: 80 },
];

/** --rtt bounds: a geostationary satellite link is ~600 ms; 10 s is no link anyone uses. */
export const MAX_RTT_MS = 10_000;
/** At most this many --rtt links: the table gains two columns per link. */
export const MAX_CUSTOM_LINKS = 4;

export function projectMs(ms: number, roundTrips: number, measuredRttMs: number, linkRttMs: number): number {
  return round(Math.max(0, ms - roundTrips * measuredRttMs) + roundTrips * linkRttMs);
}

/** Every run projected onto one link. The projection is monotone, so min, median and max stay in place. */
export function projectedFigure(ms: Figure, roundTrips: number, measuredRttMs: number, linkRttMs: number): Figure {
  const p = (v: number) => projectMs(v, roundTrips, measuredRttMs, linkRttMs);
  return { median: p(ms.median), min: p(ms.min), max: p(ms.max), runs: ms.runs.map(p) };
}

/** The median projected onto each link. */
export function projectionsOf(ms: Figure, roundTrips: number, measuredRttMs: number, links: readonly Link[]): Projection[] {
  return links.map((link) => ({ link: link.name, rttMs: link.rttMs, ms: projectMs(ms.median, roundTrips, measuredRttMs, link.rttMs) }));
}

/**
 * Parses one --rtt value: milliseconds, a decimal number in (0, MAX_RTT_MS].
 * Returns null when it is not one (the CLI turns that into a usage error).
 */
export function parseRtt(value: string): number | null {
  if (!/^\d{1,5}(\.\d{1,3})?$/.test(value.trim())) return null;
  const n = Number(value);
  return n > 0 && n <= MAX_RTT_MS ? n : null;
}

/** The default links, then each --rtt value not already among them, in the order given. */
export function linksWith(customRttMs: readonly number[]): Link[] {
  const links: Link[] = DEFAULT_LINKS.map((l) => ({ ...l }));
  for (const rttMs of customRttMs) {
    if (!links.some((l) => l.rttMs === rttMs)) links.push({ name: `--rtt ${rttMs}`, rttMs });
  }
  return links;
}
