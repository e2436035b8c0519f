/**
 * The summarizer worker (summarizer.ts): computes the stored summary of each
 * message it is sent, off the server's event loop.
 */
import { parentPort } from 'node:worker_threads';
import { summaryJson } from '../mail/index.js';

/**
 * A whole message, or a stored body sent in pieces as it is read from the
 * store (`size` first, then each `chunk`, then `end`), so that the server's
 * thread never holds the whole body: only this worker does, while it parses.
 */
export type SummaryJob =
  | { id: number; raw: Uint8Array }
  | { id: number; size: number }
  | { id: number; chunk: Uint8Array }
  | { id: number; end: true };

export type SummaryReply = { id: number; json: string } | { id: number; error: string };

/** The body being received, at most one: the pool sends this worker one job at a time. */
let receiving: { id: number; raw: Buffer; length: number } | null = null;

parentPort?.on('message', (job: SummaryJob) => {
  if ('size' in job) {
    receiving = { id: job.id, raw: Buffer.allocUnsafe(job.size), length: 0 };
    return;
  }
  if ('chunk' in job) {
    if (receiving?.id !== job.id) return;
    // Never past the announced size: the pool only sends what the store holds, but a bound costs nothing.
    const room = receiving.raw.length - receiving.length;
    const chunk = job.chunk.byteLength > room ? job.chunk.subarray(0, room) : job.chunk;
    receiving.raw.set(chunk, receiving.length);
    receiving.length += chunk.byteLength;
    return;
  }
  let reply: SummaryReply;
  try {
    let raw: Buffer;
    if ('end' in job) {
      if (receiving?.id !== job.id) return;
      raw = receiving.raw.subarray(0, receiving.length);
      receiving = null;
    } else {
      raw = Buffer.from(job.raw.buffer, job.raw.byteOffset, job.raw.byteLength);
    }
    reply = { id: job.id, json: summaryJson(raw) };
  } catch (err) {
    reply = { id: job.id, error: err instanceof Error ? err.message : String(err) };
  }
  parentPort!.postMessage(reply);
});
