/**
 * New mail written to the blob store as it arrives (LMTP DATA, APPEND
 * literals), never joined into one Buffer: the body is hashed and counted on
 * the way by the store's blob writer, made durable by its commit, then its
 * summary is computed from the stored octets (summarizer.ts: on a worker for
 * a large one). The staged body is then named by one or more appends and
 * released exactly once, appended or not (MailStore.releaseStaged).
 */
import type { MailStore, StagedBlob } from '../store/types.js';
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
 * Writes `chunks` into a new blob (with bare LF made CRLF when `crlf`),
 * commits it and computes its summary. On any failure (the source failed,
 * the disk is full) the writer is aborted: nothing is left behind.
 */
export async function stageBody(
  store: MailStore,
  summaryOfBody: SummaryOfBody,
  chunks: AsyncIterable<Buffer>,
  crlf: boolean,
): Promise<StagedBody> {
  const writer = store.createBlobWriter();
  const normaliser = crlf ? new CrlfNormaliser() : null;
  let staged: StagedBlob;
  try {
    for await (const chunk of chunks) {
      const bytes = normaliser ? normaliser.push(chunk) : chunk;
      if (bytes.length > 0) await writer.write(bytes);
    }
    staged = await writer.commit();
  } catch (err) {
    await writer.abort();
    throw err;
  }
  try {
    const summary = await summaryOfBody(staged.size, async () => store.openBlobRange(staged.blobId, 0, staged.size));
    return { staged, summary };
  } catch (err) {
    await store.releaseStaged([staged]);
    throw err;
  }
}
