/**
 * Gives memory back once the server goes quiet after a burst (issue 12: memory
 * after the sessions close must come back near the idle figure).
 *
 * V8 collects garbage only while JavaScript allocates, and Node.js never tells
 * it the process is idle, so its memory reducer does not start. A server whose
 * 2,000 sessions just logged out allocates next to nothing: measured, 60 s
 * after they closed its heap still held 84 MB of which 19 MB were live, and
 * RSS did not move. The same holds after start-up (module loading leaves
 * garbage and a young generation grown to its maximum).
 *
 * So the node samples its session count and asks V8 for one major GC when the
 * count has fallen by at least half (and by at least `minDrop`) from its peak
 * and stayed there for one more sample, and once after start-up. A full GC of
 * the heap sizes above takes tens of milliseconds, paid only at those moments,
 * when few sessions are left to wait for it. What glibc keeps of the memory
 * OpenSSL freed is out of reach from JavaScript (malloc_trim needs a native
 * call): docs/architecture.md.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

export interface MemoryReleaseOptions {
  /** Sessions the count must fall by (from its peak) before a collection is worth asking for. */
  minDrop: number;
  /** Runs a major GC. */
  gc: () => void;
}

export class MemoryRelease {
  private peak = 0;
  private pendingAt: number | null = null;
  private startupDone = false;

  constructor(private readonly options: MemoryReleaseOptions) {}

  /** One sample of the session count (the node calls this every few seconds); true when it collected. */
  sample(sessions: number): boolean {
    if (!this.startupDone) {
      // The first sample after start-up: what loading left behind goes.
      this.startupDone = true;
      this.peak = sessions;
      return this.collect();
    }
    if (sessions > this.peak) this.peak = sessions;
    const dropped = this.peak - sessions >= this.options.minDrop && sessions <= this.peak / 2;
    if (!dropped) {
      this.pendingAt = null;
      return false;
    }
    // Wait for a second sample at (or below) this count: sessions still closing keep allocating.
    if (this.pendingAt === null || sessions < this.pendingAt) {
      this.pendingAt = sessions;
      return false;
    }
    this.pendingAt = null;
    this.peak = sessions;
    return this.collect();
  }

  private collect(): boolean {
    this.options.gc();
    return true;
  }
}

/**
 * V8's own full collection, reached without starting Node with --expose-gc: the flag is set
 * at run time and `gc` taken from a fresh context. Null when this V8 refuses.
 */
export function majorGc(): (() => void) | null {
  try {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as unknown;
    if (typeof gc !== 'function') return null;
    // 'last-resort' is V8's memory-reducing collection: a plain gc() frees the objects but keeps the
    // emptied pages pooled (measured: heap 133 → 36 MB, RSS unchanged; with this flavor RSS 180 → 82 MB).
    return () => (gc as (options: object) => void)({ type: 'major', execution: 'sync', flavor: 'last-resort' });
  } catch {
    return null;
  }
}
