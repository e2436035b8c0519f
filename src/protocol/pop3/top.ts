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
