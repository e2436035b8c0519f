/**
 * The minimal summary (minimalSummaryJson, summary.ts: the message as one
 * opaque text/plain part) of a body read as a stream. It is what a message
 * gets when its summarizer worker failed or timed out, which is exactly the
 * large or hostile message that must not be read whole on the server's
 * thread: only the top-level header and the body prefix the preview reads
 * (PREVIEW_SOURCE_OCTETS) are held; the body's lines are counted on the way.
 */
import type { MessageStructure } from './parse.js';
import { PREVIEW_SOURCE_OCTETS } from './preview.js';
import { serializeSummary, summarize } from './summary.js';

/** A top-level header longer than this is not held here: the caller reads the message whole instead. */
export const MINIMAL_SUMMARY_HEADER_OCTETS = 1024 * 1024;

const LF = 0x0a;
const CR = 0x0d;

/**
 * minimalSummaryJson of the octets of `source`, or null when the header is longer than `maxHeader`
 * (then nothing more is read).
 */
export async function minimalSummaryOfStream(source: AsyncIterable<Buffer>, maxHeader = MINIMAL_SUMMARY_HEADER_OCTETS): Promise<string | null> {
  const kept: Buffer[] = [];
  let size = 0;
  /** Where the header ends (scanHeader's fieldsEnd and bodyStart), once found. */
  let fieldsEnd = -1;
  let bodyStart = -1;
  let atLineStart = true;
  /** A CR that began a line: with an LF after it, the line is the empty one. */
  let crStartsLine = false;
  let bodyKept = 0;
  let lines = 0;
  for await (const chunk of source) {
    let i = 0;
    // scanHeader (headers.ts): the header ends at the first line that is empty, "\n" or "\r\n".
    for (; bodyStart === -1 && i < chunk.length; i++) {
      const b = chunk[i]!;
      if (crStartsLine) {
        crStartsLine = false;
        if (b === LF) {
          fieldsEnd = size + i - 1;
          bodyStart = size + i + 1;
          break;
        }
      } else if (atLineStart && b === LF) {
        fieldsEnd = size + i;
        bodyStart = size + i + 1;
        break;
      } else if (atLineStart && b === CR) {
        crStartsLine = true;
      }
      atLineStart = b === LF;
    }
    if (bodyStart === -1) {
      if (size + chunk.length > maxHeader) {
        (source as { destroy?: () => void }).destroy?.();
        return null;
      }
      kept.push(chunk);
    } else {
      const bodyFrom = Math.min(chunk.length, Math.max(0, bodyStart - size));
      const keep = Math.min(chunk.length, bodyFrom + PREVIEW_SOURCE_OCTETS - bodyKept);
      if (keep > 0) kept.push(chunk.subarray(0, keep));
      bodyKept += Math.max(0, keep - bodyFrom);
      for (let lf = chunk.indexOf(LF, bodyFrom); lf !== -1; lf = chunk.indexOf(LF, lf + 1)) lines++;
    }
    size += chunk.length;
  }
  if (bodyStart === -1) {
    // No empty line: everything is header, the body is empty.
    fieldsEnd = size;
    bodyStart = size;
  }
  const structure: MessageStructure = {
    version: 1,
    size,
    bodyStart,
    headerLength: bodyStart,
    root: { headerStart: 0, fieldsEnd, bodyStart, end: size, lines, kind: 'text', type: 'text', subtype: 'plain', typeFromHeader: false },
  };
  return serializeSummary(summarize(Buffer.concat(kept), structure));
}
