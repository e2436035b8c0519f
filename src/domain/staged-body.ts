/**
 * New mail written to the blob store as it arrives (LMTP DATA, APPEND
 * literals), never joined into one Buffer: the body is hashed and counted on
 * the way by the store's blob writer, made durable by its commit, then its
 * summary is computed from the stored octets (summarizer.ts: on a worker for
 * a large one). The staged body is then named by one or more appends and
 * released exactly once, appended or not (MailStore.releaseStaged).
 */
import type { BlobWriter, MailStore, StagedBlob } from '../store/types.js';
import type { SummaryOfBody } from './summarizer.js';

/** A body durable in the blob store with its summary, not yet released. */
export interface StagedBody {
  readonly staged: StagedBlob;
  readonly summary: string;
}

const LF = 0x0a;
const CR = 0x0d;

/**
 * toCrlf (mail-domain.ts) as a stream: a bare LF gets a CR before it, also
 * when the CR ended the previous chunk (then it is not bare).
 */
export class CrlfNormaliser {
  private lastByte = -1;

  push(chunk: Buffer): Buffer {
    if (chunk.length === 0) return chunk;
    let bare = 0;
    for (let i = chunk.indexOf(LF); i !== -1; i = chunk.indexOf(LF, i + 1)) {
      if ((i === 0 ? this.lastByte : chunk[i - 1]) !== CR) bare++;
    }
    const previous = this.lastByte;
    this.lastByte = chunk[chunk.length - 1]!;
    if (bare === 0) return chunk;
    const out = Buffer.allocUnsafe(chunk.length + bare);
    let o = 0;
    let start = 0;
    for (let i = chunk.indexOf(LF); i !== -1; i = chunk.indexOf(LF, i + 1)) {
      if ((i === 0 ? previous : chunk[i - 1]) === CR) continue;
      o += chunk.copy(out, o, start, i);
      out[o++] = CR;
      start = i;
    }
    chunk.copy(out, o, start);
    return out;
  }
}

/**
 * A body written piece by piece as it arrives (an APPEND literal): `finish`
 * commits it and computes its summary; `abort` leaves nothing behind (and is
 * safe after a failure or twice). Either ends the writer.
 */
export class BodyWriter {
  private readonly writer: BlobWriter;
  private readonly normaliser: CrlfNormaliser | null;
  private ended = false;

  constructor(
    private readonly store: MailStore,
    private readonly summaryOfBody: SummaryOfBody,
    crlf: boolean,
  ) {
    this.writer = store.createBlobWriter();
    this.normaliser = crlf ? new CrlfNormaliser() : null;
  }

  /** Resolves once the chunk is handed on (the backpressure); on failure the writer is aborted. */
  async write(chunk: Buffer): Promise<void> {
    const bytes = this.normaliser ? this.normaliser.push(chunk) : chunk;
    if (bytes.length === 0) return;
    try {
      await this.writer.write(bytes);
    } catch (err) {
      await this.abort();
      throw err;
    }
  }

  async finish(): Promise<StagedBody> {
    this.ended = true;
    let staged: StagedBlob;
    try {
      staged = await this.writer.commit();
    } catch (err) {
      await this.writer.abort();
      throw err;
    }
    try {
      const summary = await this.summaryOfBody(staged.size, async () => this.store.openBlobRange(staged.blobId, 0, staged.size));
      return { staged, summary };
    } catch (err) {
      await this.store.releaseStaged([staged]);
      throw err;
    }
  }

  async abort(): Promise<void> {
    this.ended = true;
    await this.writer.abort();
  }

  get finished(): boolean {
    return this.ended;
  }
}

/**
 * Writes `chunks` into a new blob (with bare LF made CRLF when `crlf`),
 * commits it and computes its summary. On any failure (the source failed,
 * the disk is full) the writer is aborted: nothing is left behind.
 */
export async function stageBody(
  store: MailStore,
  summaryOfBody: SummaryOfBody,
  chunks: AsyncIterable<Buffer> | Iterable<Buffer>,
  crlf: boolean,
): Promise<StagedBody> {
  const writer = new BodyWriter(store, summaryOfBody, crlf);
  try {
    for await (const chunk of chunks) await writer.write(chunk);
  } catch (err) {
    await writer.abort();
    throw err;
  }
  return writer.finish();
}
