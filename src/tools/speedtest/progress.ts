/**
 * Progress: one cli-progress bar per protocol on a terminal; on anything else
 * (a pipe, a CI log) a plain line each time a phase finishes. Written to
 * stderr so stdout keeps only the table and the verdict.
 */
import cliProgress from 'cli-progress';
import type { ProgressSink } from './run.js';
import type { ProtocolName } from './types.js';

export function createProgress(runs: number, stream: NodeJS.WriteStream = process.stderr, quiet = false): ProgressSink {
  if (quiet) return { update() {}, stop() {} };
  if (stream.isTTY) return new BarProgress(runs, stream);
  return new LineProgress(runs, stream);
}

class BarProgress implements ProgressSink {
  private readonly multi: cliProgress.MultiBar;
  private readonly bars = new Map<ProtocolName, cliProgress.SingleBar>();

  constructor(
    private readonly runs: number,
    stream: NodeJS.WriteStream,
  ) {
    this.multi = new cliProgress.MultiBar(
      {
        stream,
        format: ' {protocol} run {run}/{runs} {bar} {phase} {value}/{total}',
        barsize: 24,
        hideCursor: true,
        clearOnComplete: false,
        autopadding: true,
      },
      cliProgress.Presets.shades_classic,
    );
  }

  update(protocol: ProtocolName, run: number, phase: string, done: number, total: number): void {
    let bar = this.bars.get(protocol);
    const payload = { protocol: protocol.toUpperCase().padEnd(4), run, runs: this.runs, phase: phase.padEnd(19) };
    if (!bar) {
      bar = this.multi.create(Math.max(total, 1), done, payload);
      this.bars.set(protocol, bar);
    }
    bar.setTotal(Math.max(total, 1));
    bar.update(done, payload);
  }

  stop(): void {
    this.multi.stop();
  }
}

class LineProgress implements ProgressSink {
  private last = '';

  constructor(
    private readonly runs: number,
    private readonly stream: NodeJS.WriteStream,
  ) {}

  update(protocol: ProtocolName, run: number, phase: string, done: number, total: number): void {
    const line = `${protocol} run ${run}/${this.runs}: ${phase} done (${done}/${total})`;
    if (done !== total || line === this.last) return;
    this.last = line;
    this.stream.write(`${line}\n`);
  }

  stop(): void {}
}
