/**
 * Message summaries (src/mail/summary.ts) computed off the event loop.
 *
 * summarize() is linear and bounded, but a hostile 50 MB message still costs
 * hundreds of milliseconds, during which no IMAP, POP3 or LMTP session would
 * be answered. The server therefore hands each message of at least
 * INLINE_MAX_OCTETS to a small pool of worker threads; smaller ones cost less
 * than the round trip and are summarised inline.
 *
 * A message is never lost for its summary: when a worker fails or takes longer
 * than `timeoutMs`, it is terminated (a fresh one replaces it for the next
 * message) and the message is stored with the minimal summary of
 * minimalSummaryJson (one opaque part, its ENVELOPE and PREVIEW), which reads
 * only the top-level header and a prefix of the body.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { minimalSummaryJson, minimalSummaryOfStream, summaryJson } from '../mail/index.js';
import type { SummaryJob, SummaryReply } from './summarizer-worker.js';

/** The serialised summary of a message (what NewMessage.summary stores). */
export type SummaryOf = (raw: Buffer) => Promise<string>;

/** The octets of a stored body, as a fresh stream each time it is called; null when the body is gone. */
export type OpenBody = () => Promise<AsyncIterable<Buffer> | null>;

/**
 * The serialised summary of a body already in the blob store, `size` octets:
 * read from the store (on a worker for a large one), never joined into one
 * Buffer on the caller's thread. Never rejects.
 */
export type SummaryOfBody = (size: number, open: OpenBody) => Promise<string>;

async function readWhole(open: OpenBody): Promise<Buffer> {
  const body = await open();
  if (!body) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/**
 * Summaries computed on the caller's thread: CLI commands and tests, where
 * nobody else waits. Never rejects: should summarize() fail, the message
 * gets the minimal summary rather than being refused.
 */
export const inlineSummary: SummaryOf = async (raw) => {
  try {
    return summaryJson(raw);
  } catch {
    return minimalSummaryJson(raw);
  }
};

/** inlineSummary of a stored body, read whole: CLI commands and tests. */
export const inlineSummaryOfBody: SummaryOfBody = async (_size, open) => inlineSummary(await readWhole(open));

/**
 * Messages smaller than this are summarised inline. Measured on the 2-core
 * build machine: a worker round trip costs 1-2 ms whatever the size, a plain
 * 64 KB message 1-3 ms inline and a 256 KB one about 10 ms, time in which no
 * other session is served.
 */
export const INLINE_MAX_OCTETS = 64 * 1024;

/** After summarising a message at least this large, the worker is replaced (see `retire`). */
const RECYCLE_AFTER_OCTETS = 8 * 1024 * 1024;

export interface SummarizerOptions {
  /** Worker threads (default: one fewer than the cores, 1 or 2). */
  workers?: number;
  /** A message whose summary takes longer is stored with the minimal summary. */
  timeoutMs?: number;
  /** Messages below this size are summarised inline. */
  inlineMaxOctets?: number;
  /** Told when a worker failed or timed out (the message was stored with the minimal summary). */
  onFailure?: (reason: string, octets: number) => void;
  /** The worker script (tests: one that hangs or crashes); default summarizer-worker beside this module. */
  entry?: URL;
}

interface Job {
  id: number;
  /** The message, or (for a stored body) its size and how to read it. */
  raw: Buffer | null;
  size: number;
  open: OpenBody | null;
  resolve: (json: string | Promise<string>) => void;
}

interface Slot {
  worker: Worker;
  job: Job | null;
  timer: NodeJS.Timeout | null;
}

/**
 * The worker entry beside this module: summarizer-worker.js in dist/, or
 * summarizer-worker.ts when running from the sources under tsx (tests).
 */
function workerEntry(): URL {
  const js = new URL('./summarizer-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(js))) return js;
  return new URL('./summarizer-worker.ts', import.meta.url);
}

/**
 * A hostile message must not take the process's memory with it: past this heap the worker dies
 * (ERR_WORKER_OUT_OF_MEMORY), is replaced, and the message gets the minimal summary.
 */
const WORKER_LIMITS = { maxOldGenerationSizeMb: 512 };

function startWorker(entry: URL): Worker {
  if (!entry.pathname.endsWith('.ts')) return new Worker(entry, { resourceLimits: WORKER_LIMITS });
  // From the sources: on Node 20 the parent's `--import tsx` does not reach a worker thread
  // ("Unknown file extension .ts"), so the worker registers tsx before loading its entry.
  const tsx = import.meta.resolve('tsx/esm/api');
  const boot = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry.href)}); });`;
  return new Worker(boot, { eval: true, resourceLimits: WORKER_LIMITS });
}

export class Summarizer {
  private readonly size: number;
  private readonly timeoutMs: number;
  private readonly inlineMaxOctets: number;
  private readonly onFailure: (reason: string, octets: number) => void;
  private readonly entry: URL;
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private nextId = 1;
  private closed = false;

  constructor(options: SummarizerOptions = {}) {
    this.size = Math.max(1, options.workers ?? Math.min(2, availableParallelism() - 1));
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.inlineMaxOctets = options.inlineMaxOctets ?? INLINE_MAX_OCTETS;
    this.onFailure = options.onFailure ?? (() => {});
    this.entry = options.entry ?? workerEntry();
  }

  /** The serialised summary of `raw`; never rejects (see the module comment). `raw` is copied, not transferred. */
  readonly summaryOf: SummaryOf = (raw) => {
    if (this.closed || raw.length < this.inlineMaxOctets) return inlineSummary(raw);
    return new Promise<string>((resolve) => {
      this.queue.push({ id: this.nextId++, raw, size: raw.length, open: null, resolve });
      this.dispatch();
    });
  };

  /**
   * The summary of a stored body. A large one is read from the store when a
   * worker is free and sent to it in pieces, so this thread holds one chunk
   * at a time; a small one is read and summarised inline. Never rejects.
   */
  readonly summaryOfBody: SummaryOfBody = (size, open) => {
    if (this.closed || size < this.inlineMaxOctets) return inlineSummaryOfBody(size, open);
    return new Promise<string>((resolve) => {
      this.queue.push({ id: this.nextId++, raw: null, size, open, resolve });
      this.dispatch();
    });
  };

  /** Terminates the workers; messages still waiting get the minimal summary. */
  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.queue.splice(0)) job.resolve(minimalSummaryOf(job));
    const slots = this.slots.splice(0);
    for (const slot of slots) this.finish(slot, null);
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      let slot = this.slots.find((s) => s.job === null);
      if (!slot && this.slots.length < this.size) slot = this.spawn();
      if (!slot) return;
      const job = this.queue.shift()!;
      slot.job = job;
      slot.worker.ref(); // a summary in flight keeps the process alive; an idle pool does not
      slot.timer = setTimeout(() => this.fail(slot!, `no summary after ${this.timeoutMs} ms`), this.timeoutMs);
      if (job.raw) {
        // A copy of exactly the message's octets (not the whole pooled ArrayBuffer behind a small Buffer).
        const message: SummaryJob = { id: job.id, raw: new Uint8Array(job.raw.buffer, job.raw.byteOffset, job.raw.byteLength) };
        slot.worker.postMessage(message);
      } else {
        void this.sendBody(slot, job);
      }
    }
  }

  /** Streams a stored body to the slot's worker; stops when the slot gave up the job (timeout, failure). */
  private async sendBody(slot: Slot, job: Job): Promise<void> {
    const post = (message: SummaryJob, transfer: ArrayBuffer[] = []) => {
      if (slot.job === job) slot.worker.postMessage(message, transfer);
    };
    try {
      post({ id: job.id, size: job.size });
      const body = await job.open!();
      if (!body) throw new Error('the body is gone');
      for await (const chunk of body) {
        if (slot.job !== job) return;
        // Copied once, then moved: a chunk that seems to own its memory may still be held by the store
        // (a small body waiting in memory for its commit is read back as itself), and transferring it
        // would detach the store's copy.
        const bytes = new Uint8Array(chunk);
        post({ id: job.id, chunk: bytes }, [bytes.buffer as ArrayBuffer]);
      }
      post({ id: job.id, end: true });
    } catch (err) {
      if (slot.job === job) this.fail(slot, err instanceof Error ? err.message : String(err));
    }
  }

  private spawn(): Slot {
    const worker = startWorker(this.entry);
    const slot: Slot = { worker, job: null, timer: null };
    worker.unref();
    worker.on('message', (reply: SummaryReply) => {
      if (!slot.job || slot.job.id !== reply.id) return;
      if ('json' in reply) {
        const octets = slot.job.size;
        this.finish(slot, reply.json);
        // An idle worker never collects its garbage: after a large message its memory (the message,
        // the pieces it came in) would stay with the process. A fresh worker is cheaper than that.
        if (octets >= RECYCLE_AFTER_OCTETS) this.retire(slot);
        // The slot is free: the next waiting message goes to it (else it would wait for the next arrival).
        if (!this.closed) this.dispatch();
      } else {
        this.fail(slot, reply.error);
      }
    });
    worker.on('error', (err) => this.fail(slot, err.message));
    worker.on('exit', (code) => this.fail(slot, `worker exited with code ${code}`));
    this.slots.push(slot);
    return slot;
  }

  /** Ends the slot's job with `json` (null: the minimal summary) and makes the slot idle. */
  private finish(slot: Slot, json: string | null): void {
    if (slot.timer) clearTimeout(slot.timer);
    slot.timer = null;
    const job = slot.job;
    slot.job = null;
    slot.worker.unref();
    if (job) job.resolve(json ?? minimalSummaryOf(job));
  }

  /** Drops an idle slot's worker; a new one is started when needed. */
  private retire(slot: Slot): void {
    const index = this.slots.indexOf(slot);
    if (index === -1) return;
    this.slots.splice(index, 1);
    slot.worker.removeAllListeners('exit');
    void slot.worker.terminate();
  }

  /** The worker failed or hung: it is dropped (a new one is started when needed) and its message gets the minimal summary. */
  private fail(slot: Slot, reason: string): void {
    const index = this.slots.indexOf(slot);
    if (index === -1) return; // already dropped
    this.slots.splice(index, 1);
    const octets = slot.job?.size ?? 0;
    const hadJob = slot.job !== null;
    this.finish(slot, null);
    void slot.worker.terminate();
    if (hadJob) this.onFailure(reason, octets);
    if (!this.closed) this.dispatch();
  }
}

/**
 * The fallback summary (see the module comment): of a stored body it reads
 * the body again, once, as a stream holding only the header and the
 * preview's prefix (the message is the large or hostile one that made the
 * worker fail; it must not be held on this thread); whole only when its
 * header alone is over MINIMAL_SUMMARY_HEADER_OCTETS.
 */
async function minimalSummaryOf(job: Job): Promise<string> {
  try {
    if (job.raw) return minimalSummaryJson(job.raw);
    const body = await job.open!();
    const json = body ? await minimalSummaryOfStream(body) : minimalSummaryJson(Buffer.alloc(0));
    return json ?? minimalSummaryJson(await readWhole(job.open!));
  } catch {
    return minimalSummaryJson(Buffer.alloc(0));
  }
}
