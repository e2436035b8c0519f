/**
 * Progress for the archive and import tools: a cli-progress bar with counts,
 * bytes and rate on a terminal; on anything else (logs, CI, pipes) a plain
 * line every few seconds, so output stays readable. Always on stderr, so
 * stdout carries only the report.
 */
import cliProgress from 'cli-progress';

export interface ProgressOptions {
  label: string;
  total: number;
  /** Disable entirely (--quiet, tests that parse stderr). */
  enabled?: boolean;
}

export class Progress {
  private readonly bar: cliProgress.SingleBar | null;
  private readonly started = performance.now();
  private count = 0;
  private bytes = 0;

  constructor(opts: ProgressOptions) {
    if (opts.enabled === false) {
      this.bar = null;
      return;
    }
    this.bar = new cliProgress.SingleBar(
      {
        format: `${opts.label} [{bar}] {value}/{total} msgs | {mib} MiB | {rate} msg/s | {speed} MiB/s`,
        stream: process.stderr,
        noTTYOutput: true,
        notTTYSchedule: 5000,
        hideCursor: true,
        etaBuffer: 50,
      },
      cliProgress.Presets.shades_classic,
    );
    this.bar.start(opts.total, 0, this.payload());
  }

  tick(bytes: number): void {
    this.count++;
    this.bytes += bytes;
    this.bar?.update(this.count, this.payload());
  }

  addTotal(n: number): void {
    this.bar?.setTotal(this.bar.getTotal() + n);
  }

  stop(): void {
    this.bar?.update(this.count, this.payload());
    this.bar?.stop();
  }

  get elapsedSeconds(): number {
    return (performance.now() - this.started) / 1000;
  }

  private payload(): Record<string, string> {
    const secs = Math.max(this.elapsedSeconds, 0.001);
    return {
      mib: (this.bytes / 1048576).toFixed(1),
      rate: (this.count / secs).toFixed(1),
      speed: (this.bytes / 1048576 / secs).toFixed(2),
    };
  }
}
