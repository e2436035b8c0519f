/**
 * The summarizer worker (summarizer.ts): computes the stored summary of each
 * message it is sent, off the server's event loop.
 */
import { parentPort } from 'node:worker_threads';
import { summaryJson } from '../mail/index.js';

export interface SummaryJob {
  id: number;
  raw: Uint8Array;
}

export type SummaryReply = { id: number; json: string } | { id: number; error: string };

parentPort?.on('message', (job: SummaryJob) => {
  let reply: SummaryReply;
  try {
    const raw = Buffer.from(job.raw.buffer, job.raw.byteOffset, job.raw.byteLength);
    reply = { id: job.id, json: summaryJson(raw) };
  } catch (err) {
    reply = { id: job.id, error: err instanceof Error ? err.message : String(err) };
  }
  parentPort!.postMessage(reply);
});
