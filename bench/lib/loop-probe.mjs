/**
 * Event-loop delay of a server under benchmark, measured inside it. The
 * benchmark starts `mailstead serve` with
 *   NODE_OPTIONS="--import <this file>" MAILSTEAD_BENCH_LOOP_PROBE=<socket path>
 * so this module runs in the server's main thread before the server: it
 * keeps a perf_hooks histogram of event-loop delay (1 ms resolution) and
 * answers on a Unix socket, one line per request:
 *   "reset"  -> clears the histogram, answers "ok"
 *   "report" -> answers one JSON line {count, p50, p99, max, mean} in ms
 * Nothing in src/ knows about it; without the variable it does nothing.
 * Plain JavaScript: the server runs with plain node, not tsx.
 */
import { rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { isMainThread } from 'node:worker_threads';

const path = process.env.MAILSTEAD_BENCH_LOOP_PROBE;
if (path && isMainThread) {
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  histogram.enable();
  const ms = (ns) => Math.round((ns / 1e6) * 100) / 100;
  rmSync(path, { force: true });
  const server = createServer((socket) => {
    let text = '';
    socket.setEncoding('utf8');
    socket.on('error', () => {});
    socket.on('data', (chunk) => {
      text += chunk;
      if (text.length > 64) return void socket.destroy();
      let i;
      while ((i = text.indexOf('\n')) >= 0) {
        const request = text.slice(0, i).trim();
        text = text.slice(i + 1);
        if (request === 'reset') {
          histogram.reset();
          socket.write('ok\n');
        } else if (request === 'report') {
          const count = histogram.count;
          socket.write(
            `${JSON.stringify({ count, p50: count ? ms(histogram.percentile(50)) : 0, p99: count ? ms(histogram.percentile(99)) : 0, max: count ? ms(histogram.max) : 0, mean: count ? ms(histogram.mean) : 0 })}\n`,
          );
        } else socket.destroy();
      }
    });
  });
  server.listen(path);
  // Never the reason the server stays up.
  server.unref();
}
