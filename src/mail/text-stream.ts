/**
 * SEARCH BODY and TEXT (RFC 9051 §6.4.4) over a stored message read as
 * streams: each text/* part's octets are read from the store, their transfer
 * encoding and charset undone and the text lower-cased chunk by chunk, and
 * fed to a finder that carries a partial match across chunks (find.ts). The
 * same answer as bodyTextContains (text.ts) on the whole message, with memory
 * bounded by a chunk and the needle whatever the message size. Only each
 * part's header is read whole (RFC 5322 headers, not bodies).
 */
import { casemap } from './casemap.js';
import { decodedChunks, withPauses } from './decode-stream.js';
import { TextFinder } from './find.js';
import { headerFields } from './headers.js';
import { readContentType, readTransferEncoding, type MimePart } from './parse.js';
import { charsetDecoder } from './text.js';

/** Octets [start, end) of the message as a stream, or null when the message is gone. */
export type OpenRange = (start: number, end: number) => Promise<AsyncIterable<Buffer> | null>;

/** One piece of searchable text: where its octets are and how to turn them into text. */
interface TextRange {
  start: number;
  end: number;
  encoding: string;
  charset: string | undefined;
}

class Gone extends Error {}

/** A range read whole: a part's header. */
export async function readRange(open: OpenRange, start: number, end: number): Promise<Buffer | null> {
  const stream = await open(start, end);
  if (!stream) return null;
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  // One piece (a header served from memory) is returned as it is: a copy of a hostile header would double it.
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}

/** The text pieces in document order, as textPieces (text.ts) walks them; each part's header is read when the walk reaches it. */
async function* textRanges(open: OpenRange, part: MimePart, nestedHeaders: boolean): AsyncGenerator<TextRange> {
  if (part.kind === 'multipart') {
    for (const child of part.children ?? []) yield* textRanges(open, child, nestedHeaders);
    return;
  }
  if (part.kind === 'message' && part.message) {
    // An attached message's header is body text of the outer message: TEXT finds it (as Dovecot does).
    if (nestedHeaders) yield { start: part.message.headerStart, end: part.message.bodyStart, encoding: '', charset: 'utf-8' };
    yield* textRanges(open, part.message, nestedHeaders);
    return;
  }
  if (part.kind !== 'text') return;
  const header = await readRange(open, part.headerStart, part.bodyStart);
  if (!header) throw new Gone();
  const fields = headerFields(header, 0, header.length);
  const encoding = readTransferEncoding(header, fields);
  const charset = part.typeFromHeader ? readContentType(header, fields)?.params['charset'] : undefined;
  yield { start: part.bodyStart, end: part.end, encoding, charset };
}

/**
 * Whether the decoded body text (bodyTextOf's, text.ts) contains `needle`, compared case-insensitively
 * (`needle` already mapped by casemap); false when the message is gone. `nestedHeaders`: SEARCH TEXT also
 * looks in the headers of attached messages.
 */
export async function streamedBodyTextIncludes(open: OpenRange, root: MimePart, needle: string, nestedHeaders = false): Promise<boolean> {
  const finder = new TextFinder(needle);
  if (finder.found) return true;
  const lower = new CaseMapper();
  const seen = (text: string): boolean => finder.push(lower.push(text));
  let first = true;
  try {
    for await (const range of textRanges(open, root, nestedHeaders)) {
      // bodyTextOf joins the pieces with a line end.
      if (!first && seen('\n')) return true;
      first = false;
      const stream = await open(range.start, range.end);
      if (!stream) return false;
      const decoder = charsetDecoder(range.charset);
      const pauses = withPauses(stream);
      try {
        for await (const chunk of decodedChunks(pauses, range.encoding)) {
          if (seen(decoder.write(chunk))) return true;
        }
      } finally {
        destroy(stream);
      }
      if (seen(decoder.end() ?? '')) return true;
    }
    return finder.push(lower.end());
  } catch (err) {
    if (err instanceof Gone) return false;
    throw err;
  }
}

/** Closes a store stream left before its end (a match found early). */
function destroy(stream: AsyncIterable<Buffer>): void {
  const s = stream as { destroy?: () => void };
  if (typeof s.destroy === 'function') s.destroy();
}

/**
 * Maps text given in pieces under i;unicode-casemap (casemap.ts, as the
 * needle is). A high surrogate ending a piece waits for its low half, so a
 * character outside the BMP is mapped whole.
 */
class CaseMapper {
  private held = '';

  push(text: string): string {
    const all = this.held + text;
    const last = all.charCodeAt(all.length - 1);
    const cut = last >= 0xd800 && last <= 0xdbff ? all.length - 1 : all.length;
    this.held = all.slice(cut);
    return casemap(all.slice(0, cut));
  }

  end(): string {
    const rest = casemap(this.held);
    this.held = '';
    return rest;
  }
}
