/**
 * TOP n m (RFC 1939 §7): the header, the blank line that ends it, then the
 * first m lines of the body. Works on the stored bytes (CRLF or bare LF); the
 * result goes through `DotStuffer` like RETR. A message with no blank line is
 * all header, so it is returned whole.
 */

const LF = 0x0a;
const CR = 0x0d;

/** Index just past the blank line that ends the header, or -1 when there is none. */
function headerEnd(message: Buffer): number {
  let start = 0;
  while (start < message.length) {
    const lf = message.indexOf(LF, start);
    if (lf === -1) return -1;
    // An empty line: LF alone or CR LF.
    if (lf === start || (lf === start + 1 && message[start] === CR)) return lf + 1;
    start = lf + 1;
  }
  return -1;
}

export function extractTop(message: Buffer, bodyLines: number): Buffer {
  const bodyStart = headerEnd(message);
  if (bodyStart === -1) return message;
  let end = bodyStart;
  for (let i = 0; i < bodyLines && end < message.length; i++) {
    const lf = message.indexOf(LF, end);
    end = lf === -1 ? message.length : lf + 1;
  }
  return message.subarray(0, end);
}

/**
 * extractTop as a stream, for TOP of a message of any size: `push` returns
 * the part of each chunk that TOP sends, and `done` turns true once the
 * header and the n body lines went through, so the reader can stop there.
 */
export class TopCutter {
  private inHeader = true;
  /** Octets of the current line so far (before its LF) and its first octet. */
  private lineLength = 0;
  private lineFirst = -1;
  private linesLeft: number;
  done = false;

  constructor(bodyLines: number) {
    this.linesLeft = bodyLines;
  }

  push(chunk: Buffer): Buffer {
    if (this.done) return chunk.subarray(0, 0);
    let pos = 0;
    while (pos < chunk.length) {
      if (this.lineLength === 0) this.lineFirst = chunk[pos]!;
      const lf = chunk.indexOf(LF, pos);
      if (lf === -1) {
        this.lineLength += chunk.length - pos;
        return chunk;
      }
      const length = this.lineLength + (lf - pos);
      this.lineLength = 0;
      pos = lf + 1;
      if (this.inHeader) {
        // The empty line (LF alone or CR LF) ends the header; it is sent.
        if (length !== 0 && !(length === 1 && this.lineFirst === CR)) continue;
        this.inHeader = false;
        if (this.linesLeft > 0) continue;
      } else if (--this.linesLeft > 0) {
        continue;
      }
      this.done = true;
      return chunk.subarray(0, pos);
    }
    return chunk;
  }
}
